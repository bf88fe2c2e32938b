"""Records built from events keep the shape of the list endpoints (a pure function of the event)."""

from __future__ import annotations

from typing import Any

from tap_invoiced.records import snapshot, tombstone

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
