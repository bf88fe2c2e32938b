"""Contacts, nested under their customer: `/customers/{customer_id}/contacts[/{id}]`."""

from __future__ import annotations

from typing import Any

from sandbox.common.http import Response
from sandbox.invoiced.context import Call
from sandbox.invoiced.errors import invalid, not_found
from sandbox.invoiced.listing import ListSpec, as_bool, as_int, as_text, list_response, run_list, start_query
from sandbox.invoiced.resources import events
from sandbox.invoiced.resources.records import document, fetch
from sandbox.invoiced.store import Store
from sandbox.invoiced.validation import boolean, code, email, required_string, string

MODEL = "Contact"
FIELDS = {
    "name": required_string(),
    "title": string(255),
    "department": string(255),
    "email": email,
    "primary": boolean,
    "phone": string(255),
    "sms_enabled": boolean,
    "send_new_invoices": boolean,
    "address1": string(255),
    "address2": string(255),
    "city": string(255),
    "state": string(255),
    "postal_code": string(32),
    "country": code(2),
    "role": string(255),
}

SPEC = ListSpec(
    table="contacts",
    filterable={
        **dict.fromkeys(("name", "title", "department", "email", "phone", "role", "country"), as_text),
        **dict.fromkeys(("primary", "sms_enabled", "send_new_invoices"), as_bool),
        **dict.fromkeys(("id", "created_at", "updated_at"), as_int),
    },
    sortable=frozenset({"id", "name", "email", "created_at", "updated_at"}),
    columns={"id": "id"},
)


def read_contact(body: dict[str, Any]) -> dict[str, Any]:
    """Contacts accept exactly their own fields; anything else is refused like the real option resolver."""
    unknown = sorted(k for k in body if k not in FIELDS)
    if unknown:
        defined = '", "'.join(sorted(FIELDS))
        raise invalid(f'The option "{unknown[0]}" does not exist. Defined options are: "{defined}".', "request")
    return {key: coerce(body[key], key) for key, coerce in FIELDS.items() if key in body}


def insert(store: Store, customer_id: int, fields: dict[str, Any], now: int) -> dict[str, Any]:
    if not fields.get("name"):
        raise invalid("Name missing", "name")
    contact: dict[str, Any] = {
        "object": "contact", "customer": customer_id, "name": None, "title": None, "department": None,
        "email": None, "phone": None, "primary": True, "sms_enabled": False, "send_new_invoices": False,
        "role": None, "address1": None, "address2": None, "city": None, "state": None,
        "postal_code": None, "country": None, "created_at": now, "updated_at": now,
    }
    contact.update(fields)
    contact_id = store.execute(
        "INSERT INTO contacts (customer, doc) VALUES (?, ?)", (customer_id, document(contact))
    )
    contact = {"id": contact_id, **contact}
    events.record(store, "contact.created", contact, now=now, customer=customer_id)
    return contact


def _owned(store: Store, customer_id: int, contact_id: int) -> dict[str, Any]:
    contact = fetch(store, "contacts", contact_id, MODEL)
    if contact["customer"] != customer_id:
        raise not_found(MODEL, contact_id)
    return contact


def create(call: Call) -> Response:
    customer_id = call.id_param("customer_id", "Customer")
    fields = read_contact(call.body())
    with call.transaction() as store:
        fetch(store, "customers", customer_id, "Customer")
        return Response(201, insert(store, customer_id, fields, call.now))


def retrieve(call: Call) -> Response:
    customer_id = call.id_param("customer_id", "Customer")
    contact_id = call.id_param("id", MODEL)
    fetch(call.store, "customers", customer_id, "Customer")
    return Response(200, _owned(call.store, customer_id, contact_id))


def update(call: Call) -> Response:
    customer_id = call.id_param("customer_id", "Customer")
    contact_id = call.id_param("id", MODEL)
    fields = read_contact(call.body())
    with call.transaction() as store:
        fetch(store, "customers", customer_id, "Customer")
        before = _owned(store, customer_id, contact_id)
        after = {**before, **fields, "updated_at": call.now}
        store.execute("UPDATE contacts SET doc = ? WHERE id = ?", (document(after), contact_id))
        events.record_update(store, "contact.updated", before, after, now=call.now, customer=customer_id)
    return Response(200, after)


def delete(call: Call) -> Response:
    customer_id = call.id_param("customer_id", "Customer")
    contact_id = call.id_param("id", MODEL)
    with call.transaction() as store:
        fetch(store, "customers", customer_id, "Customer")
        contact = _owned(store, customer_id, contact_id)
        store.execute("DELETE FROM contacts WHERE id = ?", (contact_id,))
        events.record(store, "contact.deleted", contact, now=call.now, customer=customer_id)
    return Response(204)


def list_contacts(call: Call) -> Response:
    customer_id = call.id_param("customer_id", "Customer")
    fetch(call.store, "customers", customer_id, "Customer")
    query = start_query(call.request, SPEC)
    query.add("customer = ?", customer_id)
    objects, total = run_list(call.store, query, call.cursors)
    return list_response(call.base_url, call.request, query.page, total, objects)
