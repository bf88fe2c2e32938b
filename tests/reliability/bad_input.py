"""The bad-input catalogue: records that one system accepts and the other cannot take, each made through the source
system's own API. test_bad_input.py syncs them all among good records and checks each one ends in the rejects file
with a reason naming the field and the fix; docs/bad-input.md is generated from this list
(`python -m tests.reliability.bad_input`), and a test keeps it current."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.two_way.conftest import TwoWay

DOC = Path(__file__).resolve().parents[2] / "docs" / "bad-input.md"
TO_INVOICED, TO_CUSTOMCRM = "Customcrm → Invoiced", "Invoiced → Customcrm"


# Makes one record in its source system; returns the stream its reject would name (the target's) and its source id.
Maker = Callable[[TwoWay, int], tuple[str, str]]


@dataclass(frozen=True)
class Case:
    name: str
    direction: str
    field: str  # as the rejects file names it
    says: str  # a part of the reason the rejects file carries (besides the field)
    make: Maker  # makes the record in its source system
    after_sync: bool = False  # made once the first sync linked the good records (an edit of a linked record)


def _crm_customer(**fields: Any) -> Maker:
    def make(systems: TwoWay, n: int) -> tuple[str, str]:
        body = {"name": f"Bad input {n}", "currency": "NOK", "status": "active", **fields}
        return "customers", str(systems.crm("POST", "/customers", json=body)["id"])
    return make


def _crm_order(lines: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None,
               **fields: Any) -> Maker:
    def make(systems: TwoWay, n: int) -> tuple[str, str]:
        good = next(o for o in systems.crm_all("orders") if o["status"] == "confirmed")
        customer = next(c for c in systems.crm_customers() if c["id"] == good["customer_id"])
        line = {k: good["lines"][0][k] for k in ("product_id", "description", "quantity", "unit_price")}
        body = {"order_number": f"SO-BAD-{n}", "customer_id": customer["id"], "owner_user_id": good["owner_user_id"],
                "order_date": "2026-11-02", "due_date": "2026-12-02", "currency": customer["currency"],
                "status": "confirmed", "lines": lines(line) if lines else [line], **fields}
        return "invoices", str(systems.crm("POST", "/orders", json=body)["id"])
    return make


def _crm_product(**fields: Any) -> Maker:
    def make(systems: TwoWay, n: int) -> tuple[str, str]:
        body = {"sku": f"BAD-SKU-{n}", "name": f"Bad product {n}", "unit_price": "10.00", "currency": "NOK",
                "taxable": True, "active": True, **fields}
        return "items", str(systems.crm("POST", "/products", json=body)["id"])
    return make


def _inv_customer(**fields: Any) -> Maker:
    def make(systems: TwoWay, n: int) -> tuple[str, str]:
        body = {"name": f"Bad input Invoiced {n}", "type": "company", **fields}
        return "customers", str(systems.inv("POST", "/customers", json=body)["id"])
    return make


def _inv_item(**fields: Any) -> Maker:
    def make(systems: TwoWay, n: int) -> tuple[str, str]:
        body = {"id": f"bad-item-{n}", "name": f"Bad item {n}", "unit_cost": 10, "currency": "nok", **fields}
        return "products", str(systems.inv("POST", "/items", json=body)["id"])
    return make


def _paid_invoice_typed_again(systems: TwoWay, n: int) -> tuple[str, str]:
    """A Customcrm order with the number of a paid invoice, and other lines: an edit of a paid invoice."""
    paid = next(i for i in systems.inv_all("/invoices") if i["status"] == "paid")
    customer = systems.inv("GET", f"/customers/{paid['customer']}")
    user = systems.crm_all("users")[0]
    crm_customer = systems.crm("POST", "/customers", json={
        "name": customer["name"], "email": customer["email"], "currency": paid["currency"].upper()})
    return "invoices", str(systems.crm("POST", "/orders", json={
        "order_number": paid["number"], "customer_id": crm_customer["id"], "owner_user_id": user["id"],
        "order_date": "2024-06-01", "currency": paid["currency"].upper(), "status": "confirmed",
        "lines": [{"description": f"Typed again in the CRM {n}", "quantity": "1", "unit_price": "1.00"}]})["id"])


def _linked_open_order(systems: TwoWay) -> tuple[dict[str, Any], dict[str, Any]]:
    """A linked order whose invoice is open, and not used by another case."""
    used = systems.__dict__.setdefault("bad_input_orders", set())
    for order in systems.crm_all("orders"):
        invoiced_id = (order.get("external_ids") or {}).get("invoiced")
        good = order["lines"] and not order["order_number"].startswith("SO-BAD")  # not one of the cases
        if invoiced_id and good and order["status"] == "confirmed" and order["id"] not in used:
            invoice = systems.inv("GET", f"/invoices/{invoiced_id}")
            if invoice["status"] not in ("paid", "voided"):
                used.add(order["id"])
                return order, invoice
    raise AssertionError("no linked open order left to edit")


def _unknown_rep(systems: TwoWay, n: int) -> tuple[str, str]:
    _, invoice = _linked_open_order(systems)
    metadata = {**invoice["metadata"], "sales_rep_email": f"nobody{n}@x.example"}  # a PATCH replaces all of it
    systems.inv("PATCH", f"/invoices/{invoice['id']}", json={"metadata": metadata})
    return "orders", str(invoice["id"])


def _moved_order(systems: TwoWay, n: int) -> tuple[str, str]:
    order, _ = _linked_open_order(systems)
    other = next(c for c in systems.crm_customers() if c["id"] != order["customer_id"]
                 and c["currency"] == order["currency"] and c["status"] == "active")
    systems.crm("PATCH", f"/orders/{order['id']}", json={"customer_id": other["id"], "notes": f"moved {n}"})
    return "invoices", str(order["id"])


def _invoice_line(**fields: Any) -> Maker:
    """A linked open invoice whose first line is edited in Invoiced."""
    def make(systems: TwoWay, n: int) -> tuple[str, str]:
        _, invoice = _linked_open_order(systems)
        keep = ("catalog_item", "name", "description", "quantity", "unit_cost")
        lines = [{k: line[k] for k in keep if line.get(k) is not None} for line in invoice["items"]]
        lines[0].update(fields)
        lines.append({"name": "Keeps the total positive", "quantity": 1, "unit_cost": 100000})
        systems.inv("PATCH", f"/invoices/{invoice['id']}", json={"items": lines, "notes": f"edited line {n}"})
        return "orders", str(invoice["id"])
    return make


def _inv_address(field: str, value: str) -> Maker:
    return _inv_customer(**{field: value})


CASES: tuple[Case, ...] = (
    # Customcrm -> Invoiced: what Customcrm accepts and Invoiced (or the mapping to it) does not.
    Case("A purchase order longer than Invoiced's 32 characters", TO_INVOICED, "purchase_order", "32",
         _crm_order(purchase_order="PO-" + "7" * 60)),
    Case("Lines that add up to a negative total", TO_INVOICED, "total", "line amounts",
         _crm_order(lambda line: [{**line, "unit_price": "-10.00"}])),
    # Invoiced -> Customcrm: what Invoiced accepts and Customcrm (or the mapping to it) does not.
    Case("A customer name longer than Customcrm's 200 characters", TO_CUSTOMCRM, "name", "200",
         _inv_customer(name="Long " + "n" * 225)),
    Case("An unknown currency", TO_CUSTOMCRM, "currency", "currency", _inv_customer(currency="xyz")),
    Case("An unknown country", TO_CUSTOMCRM, "country", "country", _inv_customer(country="ZZ")),
    Case("Payment terms longer than Customcrm's 3650 days", TO_CUSTOMCRM, "payment_terms", "3650",
         _inv_customer(payment_terms="NET 9999")),
    Case("Payment terms that are no number of days", TO_CUSTOMCRM, "payment_terms", "",
         _inv_customer(payment_terms="whenever")),
    Case("A phone number longer than Customcrm's 50 characters", TO_CUSTOMCRM, "phone", "50",
         _inv_customer(phone="+47 " + "1" * 70)),
    Case("An org number in metadata longer than Customcrm's 50 characters", TO_CUSTOMCRM, "metadata.org_number",
         "50", _inv_customer(metadata={"org_number": "9" * 80})),
    Case("A city longer than Customcrm's 100 characters", TO_CUSTOMCRM, "city", "100",
         _inv_address("city", "C" * 150)),
    Case("A postal code longer than Customcrm's 20 characters", TO_CUSTOMCRM, "postal_code", "20",
         _inv_address("postal_code", "0" * 30)),
    Case("An address line longer than Customcrm's 200 characters", TO_CUSTOMCRM, "address1", "200",
         _inv_address("address1", "Street " + "s" * 220)),
    Case("A region longer than Customcrm's 100 characters", TO_CUSTOMCRM, "state", "100",
         _inv_address("state", "R" * 150)),
    Case("A tax id longer than Customcrm's 50 characters", TO_CUSTOMCRM, "tax_id", "50",
         _inv_customer(tax_id="T" * 80)),
    Case("An item with a negative price", TO_CUSTOMCRM, "unit_cost", "negative", _inv_item(unit_cost=-5)),
    Case("An item in an unknown currency", TO_CUSTOMCRM, "currency", "currency", _inv_item(currency="xyz")),
    Case("An item price with more digits than Customcrm keeps", TO_CUSTOMCRM, "unit_cost", "digits",
         _inv_item(unit_cost=99999999999999)),
    Case("An item name longer than Customcrm's 200 characters", TO_CUSTOMCRM, "name", "200",
         _inv_item(name="Item " + "i" * 220)),
    Case("A second line of address longer than Customcrm's 200 characters", TO_CUSTOMCRM, "address2", "200",
         _inv_address("address2", "Floor " + "f" * 220)),
    Case("A cross-reference that is no Customcrm id", TO_CUSTOMCRM, "customcrm_id", "64",
         _inv_customer(metadata={"customcrm_id": "x" * 80})),
    Case("An item whose SKU a product linked to another item has (Customcrm keeps SKUs unique)", TO_CUSTOMCRM,
         "sku", "already used", lambda systems, n: _inv_item(metadata={"sku": next(
             p["sku"] for p in systems.crm_all("products") if (p.get("external_ids") or {}).get("invoiced"))})(
             systems, n), after_sync=True),
    Case("An order of an inactive customer", TO_INVOICED, "customer", "inactive",
         lambda systems, n: _crm_order(customer_id=systems.crm("POST", "/customers", json={
             "name": f"Inactive {n}", "currency": "NOK", "status": "inactive"})["id"], currency="NOK")(systems, n)),
    Case("A paid invoice edited in Customcrm", TO_INVOICED, "paid", "",
         _paid_invoice_typed_again),
    Case("Negative payment terms", TO_CUSTOMCRM, "payment_terms", "", _inv_customer(payment_terms="NET -5")),
    Case("An invoice's sales rep e-mail that no Customcrm user has", TO_CUSTOMCRM, "owner_user_id", "nobody",
         _unknown_rep, after_sync=True),
    Case("An invoiced order moved to another customer in Customcrm", TO_INVOICED, "customer", "void",
         _moved_order, after_sync=True),
    Case("A negative quantity on an invoice line", TO_CUSTOMCRM, "quantity", "negative",
         _invoice_line(quantity=-3), after_sync=True),
    Case("An absurd quantity on an invoice line", TO_CUSTOMCRM, "quantity", "digits",
         _invoice_line(quantity=99999999999999), after_sync=True),
    Case("An invoice line price with fractions of a cent", TO_CUSTOMCRM, "unit_cost", "decimal",
         _invoice_line(unit_cost=12.345), after_sync=True),
    Case("An item price with fractions of a cent", TO_CUSTOMCRM, "unit_cost", "decimal", _inv_item(unit_cost=1.005)),
)

# Odd, but valid in both systems: carried as they are (or linked), never rejected; the test checks that too.
CARRIED: tuple[Case, ...] = (
    Case("A SKU of 100 characters in item metadata", TO_CUSTOMCRM, "sku", "", _inv_item(metadata={"sku": "S" * 100})),
    Case("An absurd amount: a line total over Invoiced's 10^15", TO_INVOICED, "lines", "10^15",
         _crm_order(lambda line: [{**line, "quantity": "999999999", "unit_price": "99999999999.99"}])),
    Case("A SKU Invoiced cannot use as an item id (spaces, a slash)", TO_INVOICED, "sku", "SKU",
         _crm_product(sku="a b/c")),
    Case("A SKU of one character", TO_INVOICED, "sku", "SKU", _crm_product(sku="x")),
    Case("A NUL character in a name", TO_INVOICED, "name", "", _crm_customer(name="Nul\x00 Character AS")),
    Case("An order in another currency than its invoice customer's", TO_INVOICED, "currency", "currency",
         _crm_order(currency="JPY")),
    Case("An order with no lines", TO_INVOICED, "lines", "", _crm_order(lambda _line: [])),
    Case("An order due before it was made", TO_INVOICED, "due_date", "",
         _crm_order(order_date="2026-05-01", due_date="2026-01-01")),
    Case("A website in metadata that is no web address", TO_CUSTOMCRM, "metadata.website", "",
         _inv_customer(metadata={"website": "call us"})),
    Case("An item description longer than Customcrm keeps", TO_CUSTOMCRM, "description", "",
         _inv_item(description="<b>markup</b> " + "d" * 9000)),
    Case("A cross-reference to a Customcrm customer that does not exist", TO_CUSTOMCRM, "customcrm_id", "",
         _inv_customer(metadata={"customcrm_id": "cus_999999"})),
    Case("An org number another Customcrm customer already has", TO_CUSTOMCRM, "org_number", "",
         lambda systems, n: _inv_customer(metadata={"org_number": systems.crm_customers()[0]["org_number"]})(
             systems, n)),
    Case("An order of a product made inactive", TO_INVOICED, "product_id", "",
         lambda systems, n: _crm_order(lambda line: [{**line, "product_id": systems.crm(
             "POST", "/products", json={"sku": f"GONE-{n}", "name": "Gone", "unit_price": "5.00", "currency": "NOK",
                                        "taxable": True, "active": False})["id"]}])(systems, n)),
    Case("Order notes longer than Invoiced keeps", TO_INVOICED, "notes", "", _crm_order(notes="N" * 10000)),
)


def _rows(cases: tuple[Case, ...], *, rejected: bool) -> list[str]:
    rows = []
    for number, case in enumerate(cases, 1):
        says = f"`{case.field}`" + (f", “{case.says}”" if case.says else "")
        rows.append(f"| {number} | {case.name} | {case.direction} | {says if rejected else 'carried as it is'} |")
    return rows


def document() -> str:
    return "\n".join([
        "# Bad input: what is set aside, and why",
        "",
        "<!-- generated by `python -m tests.reliability.bad_input` from tests/reliability/bad_input.py; "
        "tests/reliability/test_bad_input.py syncs every case and checks this file is current -->",
        "",
        "Each case is a record its own system accepts and the other system cannot take, made through the source "
        "system's API among good records. A sync sets it aside in the rejects file (`rejects_path` of the target "
        "writing the other way: target-invoiced for Customcrm → Invoiced, target-customcrm for Invoiced → Customcrm) "
        "with a reason that names the field, says what is wrong and what to change in which system, and syncs "
        "everything else. A record set aside is tried again when it changes in its system; until then it costs no "
        "request. A reason reads, for example: `payment_terms: 'NET 9999' is more than the 3650 days Customcrm keeps; "
        "fix: use shorter terms in Invoiced`.",
        "",
        "| # | Case | Direction | The reason names (and says) |",
        "|---|---|---|---|",
        *_rows(CASES, rejected=True),
        "",
        "## Odd, but taken by both systems",
        "",
        "These look malformed but both systems accept them, so they are carried as they are (or linked, where they "
        "match a record the other system has); the test checks that none of them is rejected.",
        "",
        "| # | Case | Direction | What happens |",
        "|---|---|---|---|",
        *_rows(CARRIED, rejected=False),
        "",
    ])


if __name__ == "__main__":
    DOC.write_text(document())
    print(f"wrote {DOC}")
