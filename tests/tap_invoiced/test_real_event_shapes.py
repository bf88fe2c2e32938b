"""Records the tap builds from events, against the sandbox's events shaped like real Invoiced's.

Invoiced stores invoice and contact events with `customer` expanded to the whole customer object; the
records built from them must carry the customer's id, as the list endpoints do and the schemas declare.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.tap_invoiced.conftest import KEY, InvoicedApi, sync, tap_config


def test_tombstones_and_contacts_from_events_carry_the_customer_id(start_sandbox: Callable[..., Any]) -> None:
    with start_sandbox("invoiced", "--api-key", KEY) as sandbox:
        api = InvoicedApi(sandbox.url)
        customer = api.create("/customers", {"name": "Expanded Events Oy"})["id"]
        kept = api.create(f"/customers/{customer}/contacts", {"name": "Kept Clerk"})["id"]
        doomed_contact = api.create(f"/customers/{customer}/contacts", {"name": "Leaving Clerk"})["id"]
        invoice = api.create("/invoices", {"customer": customer, "items": [{"name": "Hour", "unit_cost": 90}]})["id"]
        first = sync(tap_config(sandbox.url))

        added = api.create(f"/customers/{customer}/contacts", {"name": "New Clerk"})["id"]
        api.patch(f"/customers/{customer}/contacts/{kept}", {"title": "Head Clerk"})
        api.delete(f"/customers/{customer}/contacts/{doomed_contact}")
        api.delete(f"/invoices/{invoice}")
        events = api.all("/events", type="contact") + api.all("/events", type="invoice")
        second = sync(tap_config(sandbox.url), state=first.state)

    # The sandbox really sends the expanded shape; otherwise this test proves nothing about the tap.
    assert all(isinstance(event["data"]["object"]["customer"], dict) for event in events)
    assert first.by_id("contacts")[kept]["customer"] == customer  # the first read lists contacts
    contacts = second.by_id("contacts")
    assert sorted(contacts) == sorted([kept, doomed_contact, added])
    assert {record["customer"] for record in contacts.values()} == {customer}
    assert all(type(record["customer"]) is int for record in contacts.values())
    assert contacts[kept]["title"] == "Head Clerk"
    assert contacts[doomed_contact]["deleted_at"] is not None
    [tombstone] = second.records["invoices"]
    assert tombstone["id"] == invoice
    assert tombstone["deleted_at"] is not None
    assert type(tombstone["customer"]) is int
    assert tombstone["customer"] == customer
