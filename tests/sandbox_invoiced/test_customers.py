"""Customers and their contacts through the official client."""

from __future__ import annotations

import re
import time
from typing import Any

import invoiced
import pytest

from tests.sandbox_invoiced.conftest import Api, unique


def test_customer_crud_round_trip(client: invoiced.Client) -> None:
    name = unique("Fjord Foods AS")
    created = client.Customer.create(name=name, email="billing@fjord.example", metadata={"crm_id": "C-1"})
    assert created.id > 0
    assert created.object == "customer"
    assert re.fullmatch(r"CUST-\d{5}", created.number)
    assert created.created_at == created.updated_at
    assert isinstance(created.created_at, int)

    fetched = client.Customer.retrieve(created.id)
    assert fetched.name == name
    assert fetched.metadata == {"crm_id": "C-1"}

    fetched.city = "Bergen"
    assert fetched.save() is True
    assert fetched.city == "Bergen"
    assert fetched.name == name  # PATCH answers the full object

    assert fetched.delete() is True
    with pytest.raises(invoiced.errors.InvalidRequestError) as caught:
        client.Customer.retrieve(created.id)
    assert caught.value.status_code == 404
    assert caught.value.error == {"type": "invalid_request", "message": f"Customer was not found: {created.id}"}


def test_duplicate_number_is_refused_case_insensitively_and_trimmed(client: invoiced.Client) -> None:
    number = unique("ACME").replace(" ", "-")
    client.Customer.create(name=unique("First"), number=number)
    with pytest.raises(invoiced.errors.InvalidRequestError) as caught:
        client.Customer.create(name=unique("Second"), number=f"  {number.lower()} ")
    assert caught.value.status_code == 400
    assert caught.value.error == {
        "type": "invalid_request",
        "message": f"The given customer number has already been taken: {number.lower()}",
        "param": "number",
    }


def test_auto_numbers_skip_numbers_taken_by_hand(client: invoiced.Client) -> None:
    probe = client.Customer.create(name=unique("Probe"))
    following = int(probe.number.split("-")[1]) + 1
    client.Customer.create(name=unique("Squatter"), number=f"CUST-{following:05d}")
    after = client.Customer.create(name=unique("Next"))
    assert after.number == f"CUST-{following + 1:05d}"


def test_name_is_required_and_email_validated(client: invoiced.Client, api: Api) -> None:
    before = api.total("/customers")
    with pytest.raises(invoiced.errors.InvalidRequestError) as missing:
        client.Customer.create(email="x@example.com")
    assert missing.value.error["param"] == "name"
    with pytest.raises(invoiced.errors.InvalidRequestError) as bad_email:
        client.Customer.create(name=unique("Bad Email"), email="not-an-email")
    assert bad_email.value.error["param"] == "email"
    assert api.total("/customers") == before


def test_patch_replaces_metadata_and_bumps_updated_at(client: invoiced.Client, api: Api) -> None:
    created = client.Customer.create(name=unique("Meta"), metadata={"a": "1", "b": "2"})
    while int(time.time()) <= created.updated_at:  # let the clock reach the next second, so the bump shows
        time.sleep(0.05)
    response = api.patch(f"/customers/{created.id}", json={"metadata": {"a": "1", "c": "3"}})
    assert response.status_code == 200
    body = response.json()
    assert body["metadata"] == {"a": "1", "c": "3"}
    assert body["updated_at"] > created.updated_at
    events = api.get("/events", params={"related_to": f"customer,{created.id}", "filter[type]": "customer.updated"})
    # As the backend's diff: objects key by key (a new key as None), and updated_at among the changes.
    assert events.json()[0]["data"]["previous"] == {
        "metadata": {"b": "2", "c": None},
        "updated_at": created.updated_at,
    }


def test_metadata_values_come_back_as_the_text_the_backend_stores(api: Api) -> None:
    sent = {"count": 5, "ratio": 1.50, "vip": True, "lapsed": False, "tags": ["a", 1], "rep": "Jan"}
    created = api.post("/customers", json={"name": unique("Typed Meta"), "metadata": sent}).json()
    stored = {"count": "5", "ratio": "1.5", "vip": "1", "lapsed": "0", "tags": '["a",1]', "rep": "Jan"}
    assert created["metadata"] == stored
    assert api.get(f"/customers/{created['id']}").json()["metadata"] == stored
    found = api.get("/customers", params={"metadata[vip]": "1", "filter[id]": created["id"]}).json()
    assert [c["id"] for c in found] == [created["id"]]


def test_read_only_fields_are_refused_by_name(api: Api) -> None:
    response = api.post("/customers", json={"name": unique("RO"), "created_at": 5})
    assert response.status_code == 400
    assert response.json() == {
        "type": "invalid_request",
        "message": "Mass assignment of created_at on Customer is not allowed",
        "param": "created_at",
    }


def test_customer_with_invoices_cannot_be_deleted(client: invoiced.Client, customer: Any) -> None:
    client.Invoice.create(customer=customer.id, items=[{"name": "Hour", "unit_cost": 10}])
    with pytest.raises(invoiced.errors.InvalidRequestError) as caught:
        customer.delete()
    assert caught.value.error["message"] == "Customers with transactions cannot be deleted"
    assert client.Customer.retrieve(customer.id).id == customer.id


def test_contact_crud_under_its_customer(client: invoiced.Client, customer: Any) -> None:
    contacts = customer.contacts()
    contact = contacts.create(name="Ingrid Berg", email="ingrid@fjord.example", title="CFO")
    assert contact.object == "contact"
    assert contact.primary is True
    listed, meta = customer.contacts().list()
    assert [c.id for c in listed] == [contact.id]
    assert meta.total_count == 1

    contact.title = "CEO"
    contact.save()
    assert customer.contacts().retrieve(contact.id).title == "CEO"

    assert contact.delete() is True
    assert customer.contacts().list()[0] == []


def test_contact_refuses_unknown_fields_and_foreign_customers(
    client: invoiced.Client, customer: Any, api: Api
) -> None:
    response = api.post(f"/customers/{customer.id}/contacts", json={"name": "X", "shoe_size": 44})
    assert response.status_code == 400
    assert response.json()["param"] == "request"
    assert response.json()["message"].startswith('The option "shoe_size" does not exist. Defined options are: ')

    contact = customer.contacts().create(name="Only Mine")
    other = client.Customer.create(name=unique("Other"))
    response = api.get(f"/customers/{other.id}/contacts/{contact.id}")
    assert response.status_code == 404
    assert response.json()["message"] == f"Contact was not found: {contact.id}"
