"""Events: what is recorded for each write, data.previous, and the event list's own filters."""

from __future__ import annotations

from typing import Any

import invoiced

from tests.sandbox_invoiced.conftest import Api, unique


def events_of(api: Api, kind: str, object_id: int) -> list[dict[str, Any]]:
    return api.get("/events", params={"related_to": f"{kind},{object_id}", "type": kind}).json()


def without_stamp(previous: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """`previous` without updated_at, which is there (with its old value) only if the second changed."""
    assert previous.get("updated_at", before["updated_at"]) == before["updated_at"]
    return {k: v for k, v in previous.items() if k != "updated_at"}


def test_customer_lifecycle_events(client: invoiced.Client, api: Api) -> None:
    customer = client.Customer.create(name=unique("Evented"), city="Oslo")
    customer.city = "Bergen"
    customer.email = "a@b.example"
    customer.save()
    customer.save(phone=None)  # nothing changes: no event
    customer.delete()

    recorded = events_of(api, "customer", customer.id)
    assert [e["type"] for e in recorded] == ["customer.deleted", "customer.updated", "customer.created"]
    assert recorded[0]["id"] > recorded[1]["id"] > recorded[2]["id"]  # newest first
    deleted, updated, created = recorded
    assert without_stamp(updated["data"]["previous"], created["data"]["object"]) == {"city": "Oslo", "email": None}
    assert updated["data"]["object"]["city"] == "Bergen"
    assert "previous" not in created["data"]
    assert deleted["data"]["object"]["id"] == customer.id
    assert client.Event.retrieve(created["id"]).type == "customer.created"


def test_invoice_and_contact_events_relate_to_the_customer(client: invoiced.Client, api: Api) -> None:
    customer = client.Customer.create(name=unique("Related"))
    contact = customer.contacts().create(name="Ada Dahl")
    invoice = client.Invoice.create(customer=customer.id, items=[{"name": "x", "unit_cost": 4}])
    invoice.void()
    related = api.get("/events", params={"related_to": f"customer,{customer.id}", "sort": "id asc"}).json()
    assert [e["type"] for e in related] == [
        "customer.created", "contact.created", "invoice.created", "invoice.updated",
    ]
    assert related[1]["data"]["object"]["id"] == contact.id
    assert without_stamp(related[3]["data"]["previous"], related[2]["data"]["object"]) == {
        "voided": False, "status": "not_sent", "balance": 4,
    }


def test_event_filters(client: invoiced.Client, api: Api) -> None:
    customer = client.Customer.create(name=unique("Filtered"))
    customer.delete()
    deleted = api.get("/events", params={"filter[type]": "customer.deleted", "per_page": 100}).json()
    assert deleted
    assert {e["type"] for e in deleted} == {"customer.deleted"}
    assert any(e["data"]["object"]["id"] == customer.id for e in deleted)

    stamp = deleted[0]["timestamp"]
    window = api.get("/events", params={"start_date": stamp, "end_date": stamp, "per_page": 100}).json()
    assert window
    assert {e["timestamp"] for e in window} == {stamp}  # inclusive on both ends
    assert api.get("/events", params={"start_date": stamp + 10**6}).json() == []


def test_deleting_a_customer_deletes_its_contacts_with_events(client: invoiced.Client, api: Api) -> None:
    customer = client.Customer.create(name=unique("Cascade"))
    contact = customer.contacts().create(name="Gone Too")
    customer.delete()
    deleted = api.get("/events", params={"related_to": f"contact,{contact.id}", "filter[type]": "contact.deleted"})
    assert [e["data"]["object"]["id"] for e in deleted.json()] == [contact.id]
    assert api.get(f"/customers/{customer.id}/contacts").status_code == 404


def test_line_item_changes_are_invoice_updates_with_the_old_lines(client: invoiced.Client, api: Api) -> None:
    customer = client.Customer.create(name=unique("Lines"))
    invoice = client.Invoice.create(customer=customer.id, items=[{"name": "Hour", "unit_cost": 10}])
    old_lines = [dict(line) for line in invoice["items"]]
    invoice["items"] = [{"id": old_lines[0]["id"], "quantity": 2}]
    invoice.save()
    updates = api.get("/events", params={"related_to": f"invoice,{invoice.id}", "filter[type]": "invoice.updated"})
    [update] = updates.json()
    previous = update["data"]["previous"]
    assert previous["items"] == old_lines  # lists are given whole
    assert (previous["subtotal"], previous["total"], previous["balance"]) == (10, 10, 10)
    assert update["data"]["object"]["total"] == 20


def test_invoice_and_contact_events_carry_the_customer_as_it_was(client: invoiced.Client, api: Api) -> None:
    customer = client.Customer.create(name=unique("Expanded"), city="Turku")
    contact = customer.contacts().create(name="Eino Expanded")
    invoice = client.Invoice.create(customer=customer.id, items=[{"name": "x", "unit_cost": 3}])
    customer.save(city="Tampere")
    contact.title = "Buyer"
    contact.save()
    # Lists and retrieves keep the id; only events expand it.
    assert api.get(f"/customers/{customer.id}/contacts/{contact.id}").json()["customer"] == customer.id
    assert api.get(f"/invoices/{invoice.id}").json()["customer"] == customer.id
    invoice.void()
    invoice.delete()
    contact.delete()
    final = api.get(f"/customers/{customer.id}").json()

    related = api.get("/events", params={"related_to": f"customer,{customer.id}", "sort": "id asc"}).json()
    by_type = {event["type"]: event for event in related}
    for name in ("contact.created", "invoice.created"):
        assert by_type[name]["data"]["object"]["customer"]["city"] == "Turku", name
    for name in ("contact.updated", "invoice.updated", "invoice.deleted", "contact.deleted"):
        assert by_type[name]["data"]["object"]["customer"] == final, name
    assert by_type["contact.updated"]["data"]["previous"].keys() <= {"title", "updated_at"}
    assert by_type["customer.updated"]["data"]["object"] == final  # customers' own events: a plain snapshot


def test_a_deleted_customers_contacts_carry_its_last_snapshot(client: invoiced.Client, api: Api) -> None:
    customer = client.Customer.create(name=unique("Vanishing"), email="last@seen.example")
    contact = customer.contacts().create(name="Left Behind")
    snapshot = api.get(f"/customers/{customer.id}").json()
    customer.delete()
    query = {"related_to": f"contact,{contact.id}", "filter[type]": "contact.deleted"}
    [deleted] = api.get("/events", params=query).json()
    assert deleted["data"]["object"]["customer"] == snapshot
