"""Each converter, exact in both directions: examples for the documented cases, properties for the rest."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from customcrm_invoiced_mapper import values
from customcrm_invoiced_mapper.values import Unmappable
from hypothesis import example, given
from hypothesis import strategies as st

from tests.transforms.strategies import EDGE_DATES, ZONES, dates, decimals, skus, zones

OSLO = ZoneInfo("Europe/Oslo")
NEW_YORK = ZoneInfo("America/New_York")
# Days that do not exist in a zone (it crossed the date line), found by scanning every zone from 1970 to 2040.
SKIPPED_DAYS = {
    ("Pacific/Kwajalein", "1993-08-21"), ("Pacific/Kiritimati", "1994-12-31"), ("Pacific/Kanton", "1994-12-31"),
    ("Pacific/Apia", "2011-12-30"), ("Pacific/Fakaofo", "2011-12-30"),
}


# --- dates ---------------------------------------------------------------------------------------------------------


def test_a_date_becomes_local_noon_in_the_business_zone() -> None:
    summer = datetime.fromisoformat("2024-03-31T12:00:00+02:00")
    winter = datetime.fromisoformat("2024-03-30T12:00:00+01:00")
    assert values.date_to_unix("2024-03-31", OSLO) == int(summer.timestamp())
    assert values.date_to_unix("2024-03-30", OSLO) == int(winter.timestamp())
    assert values.date_to_unix("2024-01-01", ZoneInfo("UTC")) == 1_704_110_400


def test_a_timestamp_reads_as_its_date_in_the_business_zone() -> None:
    assert values.unix_to_date("2024-03-31T22:30:00Z", OSLO) == "2024-04-01"
    assert values.unix_to_date("2024-03-31T22:30:00Z", NEW_YORK) == "2024-03-31"
    assert values.unix_to_date(1_711_927_800, OSLO) == "2024-04-01"
    # Invoiced's own dates are local midnight of the account's zone (its docs' example, America/Chicago).
    assert values.unix_to_date(1_416_290_400, ZoneInfo("America/Chicago")) == "2014-11-18"


@pytest.mark.parametrize("bad", ["2024-02-30", "24-01-01", "2024/01/01", "20240101", "", 20240101, None])
def test_a_malformed_date_is_refused_with_the_expected_shape(bad: object) -> None:
    with pytest.raises(Unmappable, match="calendar date"):
        values.date_to_unix(bad, OSLO)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("stamp", "zone"),
    [(10**20, "UTC"), (-(10**20), "UTC"), (Decimal("Infinity"), "UTC"), ("9999-12-31T23:59:59Z", "Pacific/Kiritimati"),
     ("0001-01-01T00:00:00Z", "America/New_York")],
)
def test_a_timestamp_outside_the_calendar_is_refused_not_a_crash(stamp: object, zone: str) -> None:
    with pytest.raises(Unmappable, match="years 1"):
        values.unix_to_date(stamp, ZoneInfo(zone))  # type: ignore[arg-type]
    if not isinstance(stamp, str):
        with pytest.raises(Unmappable, match="years 1"):
            values.rfc3339(stamp)  # type: ignore[arg-type]


def test_a_timestamp_without_offset_is_refused() -> None:
    with pytest.raises(Unmappable, match="no UTC offset"):
        values.unix_to_date("2024-03-31T12:00:00", OSLO)


@given(dates, zones)
@example(date(2024, 3, 31), "Europe/Oslo")
@example(date(2024, 10, 27), "Europe/Oslo")
@example(date(2024, 3, 10), "America/New_York")
@example(date(2024, 11, 3), "America/New_York")
@example(date(2024, 9, 8), "America/Santiago")  # DST starts at midnight there: midnight does not exist
@example(date(1994, 12, 31), "Pacific/Kiritimati")  # the zone skipped that day: refused, never moved
def test_a_date_survives_any_number_of_round_trips(day: date, zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    text = day.isoformat()
    if (zone_name, text) in SKIPPED_DAYS:
        with pytest.raises(Unmappable, match="does not exist in the business time zone"):
            values.date_to_unix(text, zone)
        return
    for _ in range(3):
        stamp = values.date_to_unix(text, zone)
        text = values.unix_to_date(values.rfc3339(stamp), zone)  # as tap-invoiced hands it over
        assert text == day.isoformat()


@pytest.mark.parametrize(("zone_name", "day"), sorted(SKIPPED_DAYS))
def test_a_day_the_business_zone_skipped_is_refused_with_the_zone(zone_name: str, day: str) -> None:
    with pytest.raises(Unmappable, match=f"{day} does not exist in the business time zone {zone_name}"):
        values.date_to_unix(day, ZoneInfo(zone_name))


@given(st.integers(min_value=86_400, max_value=7_258_118_400), zones)
def test_any_invoiced_timestamp_settles_on_one_date(stamp: int, zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    day = values.unix_to_date(stamp, zone)
    assert values.unix_to_date(values.date_to_unix(day, zone), zone) == day


def test_the_edge_dates_cover_dst_changes_in_the_test_zones() -> None:
    """Guards the strategy: the dates said to be DST changes really are, so the property tests exercise them."""
    changes = set()
    for zone_name in ZONES:
        zone = ZoneInfo(zone_name)
        for day in EDGE_DATES:
            before = datetime.combine(day - timedelta(days=1), datetime.min.time(), zone).utcoffset()
            after = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone).utcoffset()
            if before != after:
                changes.add((zone_name, day.isoformat()))
    assert {("Europe/Oslo", "2024-03-31"), ("Europe/Oslo", "2024-10-27"), ("America/New_York", "2024-03-10"),
            ("America/New_York", "2024-11-03"), ("America/Santiago", "2024-09-08")} <= changes


# --- money and quantities ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "scale", "text"),
    [
        (Decimal("0.01"), 2, "0.01"),
        (Decimal("0.1"), 2, "0.10"),
        (10, 2, "10.00"),
        (Decimal("-0.00"), 2, "0.00"),
        (Decimal("2.5"), 3, "2.500"),
        (Decimal("1E+2"), 2, "100.00"),
        (0.1, 2, "0.10"),
        (Decimal("-12.34"), 2, "-12.34"),
        (Decimal("99999999999.99"), 2, "99999999999.99"),
    ],
)
def test_an_invoiced_number_becomes_a_decimal_string_at_the_crm_scale(number: object, scale: int, text: str) -> None:
    assert values.number_to_decimal_string(number, scale) == text


@pytest.mark.parametrize("number", [Decimal("0.005"), Decimal("12.345"), Decimal("0.001"), 0.125])
def test_a_number_that_would_lose_digits_is_refused_not_rounded(number: object) -> None:
    with pytest.raises(Unmappable, match="more than 2 decimal places"):
        values.number_to_decimal_string(number, 2)


@pytest.mark.parametrize("bad", [True, "abc", "1e5", Decimal("NaN"), Decimal("Infinity"), None, [], "1,50"])
def test_a_non_number_is_refused(bad: object) -> None:
    with pytest.raises(Unmappable):
        values.number_to_decimal_string(bad, 2)


def test_an_unsigned_field_refuses_negatives() -> None:
    with pytest.raises(Unmappable, match="negative"):
        values.number_to_decimal_string(Decimal("-1"), 2, signed=False)


@pytest.mark.parametrize("bad", ["12,50", "1e3", " 1.00", "NaN", "", True, "١٢"])
def test_a_malformed_decimal_string_is_refused(bad: object) -> None:
    with pytest.raises(Unmappable):
        values.decimal_string_to_number(bad)  # type: ignore[arg-type]


@given(st.integers(min_value=0, max_value=3), st.data())
def test_decimal_strings_round_trip_exactly(scale: int, data: st.DataObject) -> None:
    text = f"{data.draw(decimals(scale)):f}"
    number = values.decimal_string_to_number(text)
    assert isinstance(number, Decimal)
    assert values.number_to_decimal_string(number, scale) == text


@given(decimals(2), st.integers(min_value=1, max_value=9))
def test_one_digit_too_many_is_always_refused(amount: Decimal, extra: int) -> None:
    with pytest.raises(Unmappable):
        values.number_to_decimal_string(amount + Decimal(extra).scaleb(-3), 2)


# --- codes, terms, status ------------------------------------------------------------------------------------------


def test_currency_case_flips_between_the_systems() -> None:
    assert values.currency_to_invoiced("NOK") == "nok"
    assert values.currency_to_customcrm("nok") == "NOK"
    with pytest.raises(Unmappable, match="ISO 4217"):
        values.currency_to_invoiced("KRONER")


def test_country_codes_are_upper_case_alpha_2() -> None:
    assert values.country_code("no") == "NO"
    assert values.country_code("US") == "US"
    for bad in ("NOR", "Norway", "N", "1A"):
        with pytest.raises(Unmappable, match="alpha-2"):
            values.country_code(bad)


@pytest.mark.parametrize(
    ("terms", "days"),
    [("NET 30", 30), ("net 14", 14), ("NET0", 0), ("Due on receipt", 0), ("DUE UPON RECEIPT", 0), ("2% 10 NET 30", 30)],
)
def test_payment_terms_read_as_days(terms: str, days: int) -> None:
    assert values.payment_terms_to_customcrm(terms) == days


def test_payment_terms_without_net_days_are_refused_with_the_fix() -> None:
    with pytest.raises(Unmappable, match="NET 30"):
        values.payment_terms_to_customcrm("EOM")


@given(st.integers(min_value=0, max_value=3650))
def test_payment_terms_round_trip(days: int) -> None:
    assert values.payment_terms_to_customcrm(values.payment_terms_to_invoiced(days)) == days


@pytest.mark.parametrize("bad", [-1, True, "30", 1.5])
def test_payment_terms_days_must_be_a_whole_number(bad: object) -> None:
    with pytest.raises(Unmappable):
        values.payment_terms_to_invoiced(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("order_status", "invoice_status"),
    [("draft", "draft"), ("confirmed", "not_sent"), ("invoiced", "not_sent"), ("paid", "not_sent"),
     ("cancelled", "voided")],
)
def test_order_status_as_a_fresh_invoice_reads_back(order_status: str, invoice_status: str) -> None:
    written = values.order_status_to_invoice(order_status)
    computed = "voided" if written.get("voided") else "draft" if written.get("draft") else "not_sent"
    assert computed == invoice_status
    back = values.invoice_state_to_order_status({"status": computed})
    assert values.order_status_to_invoice(back) == written  # the same mapped values


def test_invoice_status_reads_from_flags_when_status_is_missing() -> None:
    assert values.invoice_state_to_order_status({"voided": True, "draft": True}) == "cancelled"
    assert values.invoice_state_to_order_status({"draft": True}) == "draft"
    assert values.invoice_state_to_order_status({"paid": True, "draft": False}) == "paid"
    assert values.invoice_state_to_order_status({"draft": False}) == "invoiced"
    assert values.invoice_state_to_order_status({}) is None
    with pytest.raises(Unmappable, match="not an Invoiced invoice status"):
        values.invoice_state_to_order_status({"status": "lost"})
    with pytest.raises(Unmappable, match="not an order status"):
        values.order_status_to_invoice("shipped")


# --- ids -----------------------------------------------------------------------------------------------------------


def test_a_sku_that_is_a_valid_id_is_the_id() -> None:
    assert values.item_id_from_sku("widget-9") == "widget-9"
    assert values.item_id_from_sku("srv:hour_2") == "srv:hour_2"


@pytest.mark.parametrize(
    ("sku", "slug"),
    [("Widget", "widget"), ("ABC 1/2", "abc-1-2"), ("Crème brûlée", "creme-brulee"), ("日本", "sku"), ("a", "a"),
     ("  x  ", "x"), ("!!", "")],
)
def test_other_skus_get_a_slug_and_a_digest(sku: str, slug: str) -> None:
    item = values.item_id_from_sku(sku)
    assert re.fullmatch(rf"{re.escape(slug or 'sku')}-[0-9a-f]{{10}}", item), item


def test_an_empty_sku_is_refused() -> None:
    with pytest.raises(Unmappable, match="give the product a SKU in Customcrm"):
        values.item_id_from_sku("   ")


@given(st.lists(skus, unique=True, min_size=1, max_size=30))
@example(["ABC", "abc", "Abc", "a b c", "a-b-c", "a/b/c", "å b c"])
def test_item_ids_are_valid_deterministic_and_distinct(sku_list: list[str]) -> None:
    ids = [values.item_id_from_sku(sku) for sku in sku_list]
    assert all(values.ITEM_ID_PATTERN.match(i) and len(i) <= 71 for i in ids)
    assert ids == [values.item_id_from_sku(sku) for sku in sku_list]
    assert len(set(ids)) == len(ids)


@given(st.lists(skus, unique=True, min_size=1, max_size=10))
@example(["ABC", "Widget A"])
def test_a_sku_copied_from_another_skus_item_id_gets_its_own_id(sku_list: list[str]) -> None:
    """Someone types an item id seen in Invoiced as the SKU of a new product: the two must not share an item."""
    derived = [values.item_id_from_sku(sku) for sku in sku_list]
    copied = [d for d in derived if d not in sku_list]
    everything = sku_list + copied
    ids = [values.item_id_from_sku(sku) for sku in everything]
    assert len(set(ids)) == len(everything), dict(zip(everything, ids, strict=True))


def test_a_valid_sku_with_the_derived_ending_is_derived_too() -> None:
    assert values.item_id_from_sku("abc-b5d4045c3f") != values.item_id_from_sku("ABC") == "abc-b5d4045c3f"
    assert re.fullmatch(r"part-1234567890-[0-9a-f]{10}", values.item_id_from_sku("part-1234567890"))
    assert values.item_id_from_sku("part-123456789") == "part-123456789"


def test_invoiced_ids_are_positive_integers_kept_as_text_in_customcrm() -> None:
    assert values.invoiced_id_to_int("15444") == 15444
    assert values.invoiced_id_to_text(15444) == "15444"
    for bad in ("15x", "", "-3", "0", True, "١٢"):
        with pytest.raises(Unmappable, match="correct or clear it in Customcrm"):
            values.invoiced_id_to_int(bad)  # type: ignore[arg-type]


def test_an_item_id_in_any_case_is_accepted_as_a_link() -> None:
    assert values.item_id("Widget-A") == "Widget-A"
    with pytest.raises(Unmappable, match="not an Invoiced item id"):
        values.item_id("w")
