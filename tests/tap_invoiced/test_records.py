"""Records built from events keep the shape of the list endpoints (a pure function of the event); amounts are
written as decimal text."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tap_invoiced.records import as_decimal_text, decimal_plan, shaped, snapshot, tombstone

CUSTOMER = {"id": 15444, "object": "customer", "name": "Acme", "number": "CUST-0001"}


def event(event_type: str, obj: dict[str, Any], timestamp: int = 1_700_000_000) -> dict[str, Any]:
    return {"id": 11296106, "object": "event", "type": event_type, "timestamp": timestamp, "data": {"object": obj}}


def test_an_expanded_customer_in_an_event_becomes_its_id() -> None:
    # Real Invoiced stores invoice and contact events with `customer` expanded to the whole customer.
    invoice = {"id": 46225, "object": "invoice", "customer": CUSTOMER, "number": "INV-0016", "updated_at": 1}
    contact = {"id": 10403, "object": "contact", "customer": CUSTOMER, "name": "Nancy", "updated_at": 1}

    deleted = tombstone(event("invoice.deleted", invoice, timestamp=1_700_000_123))
    changed = snapshot(event("contact.updated", contact))

    assert deleted["customer"] == 15444
    assert deleted["deleted_at"] == deleted["updated_at"] == 1_700_000_123
    assert changed == {**contact, "customer": 15444}
    assert invoice["customer"] is CUSTOMER, "the event itself is left as it was"


def test_a_customer_id_stays_an_id() -> None:
    contact = {"id": 10403, "object": "contact", "customer": 15444, "name": "Nancy"}
    assert snapshot(event("contact.created", contact)) == contact


def test_amounts_become_decimal_text_wherever_the_schema_says_line_items_included() -> None:
    schema = {"properties": {
        "total": {"type": ["string", "null"], "format": "x-singer.decimal"},
        "number": {"type": ["string", "null"]},
        "items": {"type": ["array", "null"], "items": {"properties": {
            "quantity": {"type": ["string", "null"], "format": "x-singer.decimal"},
            "discounts": {"type": ["array", "null"], "items": {"properties": {
                "amount": {"type": ["string", "null"], "format": "x-singer.decimal"}}}},
        }}},
    }}
    plan = decimal_plan(schema)
    row = {"total": Decimal("1E+2"), "number": "INV-7", "unknown": Decimal("1.5"), "items": [
        {"quantity": 2, "discounts": [{"amount": Decimal("-0.50"), "id": 9}], "metadata": {"x": Decimal("3.3")}},
        {"quantity": None, "discounts": None},
    ]}

    record = shaped(row, ("total", "number", "items"), (), plan)

    assert record == {"total": "100", "number": "INV-7", "items": [
        {"quantity": "2", "discounts": [{"amount": "-0.50", "id": 9}], "metadata": {"x": Decimal("3.3")}},
        {"quantity": None, "discounts": None},
    ]}
    assert row["total"] == Decimal("1E+2")  # what Invoiced sent stays as it was, for the overlap bookkeeping
    assert as_decimal_text(True, True) is True  # a boolean is no number here
    assert decimal_plan({"properties": {"name": {"type": "string"}}}) is None
