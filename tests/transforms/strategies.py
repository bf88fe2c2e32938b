"""Hypothesis strategies for valid records as each tap emits them."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

ZONES = (
    "UTC", "Europe/Oslo", "America/New_York", "America/Santiago", "Pacific/Auckland", "Asia/Kolkata",
    "Pacific/Kiritimati", "Pacific/Pago_Pago",
)
# DST changes and year ends in the zones above, plus a leap day.
EDGE_DATES = tuple(
    date.fromisoformat(d)
    for d in (
        "2024-03-31", "2024-10-27", "2024-03-10", "2024-11-03", "2024-04-07", "2024-09-08", "2023-12-31",
        "2024-01-01", "2024-02-29", "1999-12-31", "2000-01-01", "2037-12-31", "2038-01-19", "1970-01-02",
    )
)

zones = st.sampled_from(ZONES)
dates = st.one_of(st.sampled_from(EDGE_DATES), st.dates(min_value=date(1970, 1, 2), max_value=date(2199, 12, 31)))

# Any letters a CRM user can type, without lone surrogates (JSON cannot carry them).
_CHARS = st.characters(blacklist_categories=("Cs",))


def text(max_size: int, *, empty: bool = True) -> st.SearchStrategy[str | None]:
    """Unicode text, None, and (when allowed) the empty string, which both systems treat as no value; a required
    text (empty=False) is never blank either, as Customcrm refuses blank required fields."""
    filled = st.text(_CHARS, min_size=1, max_size=max_size)
    return st.one_of(st.none(), st.just(""), filled) if empty else filled.filter(str.strip)


def decimals(scale: int, *, signed: bool = True, max_units: int = 10**9) -> st.SearchStrategy[Decimal]:
    """Exact decimals at a scale, weighted toward the rounding edges: 0.01-sized steps, .5s, zero, large values."""
    step = Decimal(1).scaleb(-scale)
    low = -max_units if signed else 0
    units = st.one_of(
        st.sampled_from([0, 1, 5, 9, 10, 49, 50, 51, 99, 100, 999, 10**scale - 1, 10**scale + 1]),
        st.integers(min_value=low, max_value=max_units),
    )
    if signed:
        units = st.one_of(units, units.map(lambda u: -u))
    return units.map(lambda u: (Decimal(u) * step).quantize(step))


def decimal_strings(scale: int, *, signed: bool = True) -> st.SearchStrategy[str]:
    return decimals(scale, signed=signed).map(lambda d: f"{d:f}")


currencies = st.sampled_from(["NOK", "USD", "EUR", "SEK", "JPY", "GBP"])
countries = st.sampled_from(["NO", "US", "SE", "DE", "JP", "GB", None])
skus = st.one_of(
    st.text(st.sampled_from("abcxyz0189-_:"), min_size=2, max_size=20),
    st.text(_CHARS, min_size=1, max_size=40).filter(lambda s: s.strip()),
)


def _ids(prefix: str) -> st.SearchStrategy[str]:
    return st.integers(min_value=1, max_value=10**6).map(lambda n: f"{prefix}{n}")


def _stamp() -> st.SearchStrategy[str]:
    return st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2099, 1, 1)).map(
        lambda d: d.replace(tzinfo=timezone.utc).isoformat().replace("+00:00", "Z")
    )


def _customcrm_bookkeeping(draw: st.DrawFn) -> dict[str, Any]:
    """The fields every live Customcrm record carries besides its own."""
    return {"version": 1, "created_at": draw(_stamp()), "updated_at": draw(_stamp()), "deleted_at": None}


@st.composite
def customcrm_customers(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "id": draw(_ids("cus_")),
        "external_ids": draw(st.one_of(st.just({}), st.integers(1, 10**7).map(lambda n: {"invoiced": str(n)}))),
        "name": draw(text(200, empty=False)),
        "org_number": draw(text(50)),
        "email": draw(st.one_of(st.none(), st.emails())),
        "phone": draw(text(50)),
        "website": draw(text(255)),
        "billing_address": draw(
            st.one_of(
                st.none(),
                st.fixed_dictionaries({
                    "line1": text(200), "line2": text(200), "city": text(100), "region": text(100),
                    "postal_code": text(20), "country": countries,
                }),
            )
        ),
        "currency": draw(st.one_of(st.none(), currencies)),
        "payment_terms_days": draw(st.one_of(st.none(), st.integers(0, 3650))),
        "tax_id": draw(text(50)),
        "notes": draw(text(300)),
        "status": draw(st.sampled_from(["active", "inactive"])),
        **_customcrm_bookkeeping(draw),
    }


@st.composite
def customcrm_products(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "id": draw(_ids("prd_")),
        "external_ids": {},
        "sku": draw(skus),
        "name": draw(text(200, empty=False)),
        "description": draw(text(300)),
        "unit_price": draw(decimal_strings(2, signed=False)),
        "currency": draw(currencies),
        "taxable": draw(st.booleans()),
        "active": draw(st.booleans()),
        **_customcrm_bookkeeping(draw),
    }


@st.composite
def customcrm_users(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "id": draw(_ids("usr_")),
        "external_ids": {},
        "name": draw(text(200, empty=False)),
        "email": draw(st.emails()),
        "phone": draw(text(50)),
        "title": draw(text(100)),
        "active": draw(st.booleans()),
        **_customcrm_bookkeeping(draw),
    }


@st.composite
def customcrm_orders(draw: st.DrawFn) -> dict[str, Any]:
    order_date = draw(dates)
    due = draw(st.one_of(st.none(), st.integers(0, 120).map(lambda n: order_date + timedelta(days=n))))
    lines = draw(
        st.lists(
            st.fixed_dictionaries({
                "id": _ids("lin_"),
                "product_id": st.one_of(st.none(), _ids("prd_")),
                "description": text(255, empty=False),  # longer lines are rejected: Invoiced keeps 255
                "quantity": decimal_strings(3, signed=False),
                "unit_price": decimal_strings(2),
            }),
            max_size=4,
        )
    )
    return {
        "id": draw(_ids("ord_")),
        "external_ids": draw(st.one_of(st.just({}), st.integers(1, 10**7).map(lambda n: {"invoiced": str(n)}))),
        "order_number": draw(text(32, empty=False)),
        "customer_id": draw(_ids("cus_")),
        "owner_user_id": draw(st.one_of(st.none(), _ids("usr_"))),
        "order_date": order_date.isoformat(),
        "due_date": due.isoformat() if due else None,
        "currency": draw(currencies),
        "status": draw(st.sampled_from(["draft", "confirmed", "invoiced", "paid", "cancelled"])),
        "purchase_order": draw(text(32)),
        "notes": draw(text(300)),
        "lines": lines,
        **_customcrm_bookkeeping(draw),
    }


def _unix_stamp() -> st.SearchStrategy[str]:
    """Any second, as tap-invoiced writes Invoiced's Unix timestamps."""
    return st.integers(min_value=86_400, max_value=7_258_118_400).map(
        lambda s: datetime.fromtimestamp(s, tz=timezone.utc).isoformat().replace("+00:00", "Z")
    )


@st.composite
def invoiced_invoices(draw: st.DrawFn) -> dict[str, Any]:
    """An invoice as tap-invoiced emits it, typed straight into Invoiced or earlier synced."""
    status = draw(st.sampled_from(["draft", "not_sent", "sent", "viewed", "past_due", "paid", "voided"]))
    items = draw(
        st.lists(
            st.fixed_dictionaries({
                "id": st.integers(1, 10**6),
                "object": st.just("line_item"),
                "catalog_item": st.one_of(st.none(), st.sampled_from(["widget", "gadget-9", "srv:hour"])),
                "name": text(1000, empty=False),
                "description": st.none(),
                "quantity": decimals(3, signed=False),
                "unit_cost": decimals(2),
                "metadata": st.one_of(st.just({}), _ids("lin_").map(lambda i: {"customcrm_id": i})),
            }),
            max_size=4,
        )
    )
    return {
        "id": draw(st.integers(1, 10**7)),
        "object": "invoice",
        "customer": draw(st.integers(1, 10**7)),
        "number": draw(text(32, empty=False)),
        "currency": draw(currencies).lower(),
        "date": draw(_unix_stamp()),
        "due_date": draw(st.one_of(st.none(), _unix_stamp())),
        "draft": status == "draft",
        "voided": status == "voided",
        "paid": status == "paid",
        "closed": status == "paid",
        "status": status,
        "purchase_order": draw(text(32)),
        "notes": draw(text(300)),
        "items": items,
        "metadata": draw(
            st.one_of(
                st.just({}),
                st.fixed_dictionaries({
                    "customcrm_id": _ids("ord_"), "sales_rep_id": _ids("usr_"),
                    "sales_rep_email": st.emails(), "sales_rep_name": text(50, empty=False),
                }),
            )
        ),
        "created_at": draw(_unix_stamp()),
        "updated_at": draw(_unix_stamp()),
        "deleted_at": None,
    }


@st.composite
def invoiced_items(draw: st.DrawFn) -> dict[str, Any]:
    item_id = draw(st.text(st.sampled_from("abcXYZ0189-_:"), min_size=2, max_size=30))
    return {
        "id": item_id,
        "object": "item",
        "name": draw(text(200, empty=False)),
        "description": draw(text(300)),
        "unit_cost": draw(decimals(2, signed=False)),
        "currency": draw(currencies).lower(),
        "taxable": draw(st.booleans()),
        "archived": draw(st.booleans()),
        "type": None,
        "metadata": draw(st.one_of(st.just({}), skus.map(lambda s: {"sku": s, "customcrm_id": "prd_1"}))),
        "created_at": draw(_unix_stamp()),
        "updated_at": draw(_unix_stamp()),
        "deleted_at": None,
    }


@st.composite
def invoiced_customers(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "id": draw(st.integers(1, 10**7)),
        "object": "customer",
        "type": "company",
        "name": draw(text(200, empty=False)),
        "number": "CUST-0001",
        "email": draw(st.one_of(st.none(), st.emails())),
        "phone": draw(text(50)),
        "address1": draw(text(200)), "address2": draw(text(200)), "city": draw(text(100)),
        "state": draw(text(100)), "postal_code": draw(text(20)), "country": draw(countries),
        "currency": draw(st.one_of(st.none(), currencies.map(str.lower))),
        "payment_terms": draw(st.one_of(st.none(), st.integers(0, 3650).map(lambda n: f"NET {n}"),
                                        st.just("Due on receipt"))),
        "tax_id": draw(text(50)),
        "notes": draw(text(300)),
        "active": draw(st.booleans()),
        "metadata": draw(st.one_of(st.just({}), st.fixed_dictionaries({"customcrm_id": _ids("cus_")}))),
        "created_at": draw(_unix_stamp()),
        "updated_at": draw(_unix_stamp()),
        "deleted_at": None,
    }
