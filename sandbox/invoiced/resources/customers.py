"""Customers: `/customers` and `/customers/{id}`."""

from __future__ import annotations

from typing import Any

from sandbox.common.http import Response
from sandbox.invoiced.context import Call
from sandbox.invoiced.errors import invalid
from sandbox.invoiced.listing import ListSpec, as_bool, as_int, as_text, list_response, run_list, start_query
from sandbox.invoiced.resources import events
from sandbox.invoiced.resources.records import check_number_free, document, fetch, next_number, number_key
from sandbox.invoiced.store import Store
from sandbox.invoiced.validation import (
    boolean,
    choice,
    code,
    decimal,
    document_number,
    email,
    integer,
    metadata,
    read_fields,
    required_string,
    string,
)

MODEL = "Customer"
TYPES = ("company", "government", "non_profit", "person")

FIELDS = {
    "name": required_string(),
    "number": document_number,
    "email": email,
    "type": choice(*TYPES),
    "autopay": boolean,
    "autopay_delay_days": integer(minimum=0),
    "payment_terms": string(255),
    "attention_to": string(255),
    "address1": string(255),
    "address2": string(255),
    "city": string(255),
    "state": string(255),
    "postal_code": string(32),
    "country": code(2),
    "language": code(2, lower=True),
    "currency": code(3, lower=True),
    "chase": boolean,
    "chasing_cadence": integer(),
    "next_chase_step": integer(),
    "phone": string(255),
    "credit_hold": boolean,
    "credit_limit": decimal(minimum=None),
    "owner": integer(),
    "taxable": boolean,
    "tax_id": string(255),
    "avalara_entity_use_code": string(255),
    "avalara_exemption_number": string(255),
    "parent_customer": integer(),
    "bill_to_parent": boolean,
    "consolidated": boolean,
    "active": boolean,
    "notes": string(10_000),
    "metadata": metadata,
}
# The real API refuses these by name rather than ignoring them.
READ_ONLY = ("object", "created_at", "updated_at", "statement_pdf_url", "sign_up_url", "credit_balance", "client_id")

SPEC = ListSpec(
    table="customers",
    filterable={
        **dict.fromkeys(
            ("name", "number", "email", "type", "country", "currency", "payment_terms", "city", "state",
             "postal_code", "language", "attention_to", "phone", "tax_id"),
            as_text,
        ),
        **dict.fromkeys(("active", "autopay", "chase", "credit_hold", "taxable", "bill_to_parent"), as_bool),
        **dict.fromkeys(("id", "owner", "parent_customer", "created_at", "updated_at"), as_int),
    },
    sortable=frozenset({"id", "name", "number", "email", "type", "country", "currency", "created_at", "updated_at"}),
    columns={"id": "id", "updated_at": "updated_at"},
    metadata=True,
)


def blank(now: int) -> dict[str, Any]:
    """A new customer's defaults, in the order the API prints them."""
    return {
        "object": "customer", "name": None, "number": None, "email": None, "type": "company",
        "autopay": False, "autopay_delay_days": 0, "payment_terms": None, "payment_source": None,
        "attention_to": None, "address1": None, "address2": None, "city": None, "state": None,
        "postal_code": None, "country": "US", "language": None, "currency": None, "chase": True,
        "chasing_cadence": None, "next_chase_step": None, "phone": None, "credit_hold": False,
        "credit_limit": None, "owner": None, "taxable": True, "taxes": [], "tax_id": None,
        "avalara_entity_use_code": None, "avalara_exemption_number": None, "parent_customer": None,
        "bill_to_parent": False, "consolidated": False, "active": True, "notes": None,
        "sign_up_page": None, "sign_up_url": None, "statement_pdf_url": None, "ach_gateway": None,
        "cc_gateway": None, "created_at": now, "updated_at": now, "metadata": {},
    }


def insert(store: Store, fields: dict[str, Any], now: int) -> dict[str, Any]:
    """Create one customer inside the caller's transaction (the API and the seeder both use this)."""
    if not fields.get("name"):
        raise invalid("Name missing", "name")
    customer = {**blank(now), **fields}
    if "number" in fields:
        check_number_free(store, "customers", customer["number"], model="customer")
    else:
        customer["number"] = next_number(store, "customers", "CUST")
    customer_id = store.execute(
        "INSERT INTO customers (number_key, updated_at, doc) VALUES (?, ?, ?)",
        (number_key(customer["number"]), now, document(customer)),
    )
    customer = {"id": customer_id, **customer}
    events.record(store, "customer.created", customer, now=now, customer=customer_id)
    return customer


def create(call: Call) -> Response:
    fields = read_fields(call.body(), FIELDS, model=MODEL, blocked=READ_ONLY)
    with call.transaction() as store:
        return Response(201, insert(store, fields, call.now))


def retrieve(call: Call) -> Response:
    return Response(200, fetch(call.store, "customers", call.id_param("id", MODEL), MODEL))


def update(call: Call) -> Response:
    customer_id = call.id_param("id", MODEL)
    fields = read_fields(call.body(), FIELDS, model=MODEL, blocked=READ_ONLY)
    with call.transaction() as store:
        before = fetch(store, "customers", customer_id, MODEL)
        if "number" in fields:
            check_number_free(store, "customers", fields["number"], model="customer", exclude_id=customer_id)
        after = {**before, **fields, "updated_at": call.now}
        store.execute(
            "UPDATE customers SET number_key = ?, updated_at = ?, doc = ? WHERE id = ?",
            (number_key(after["number"]), call.now, document(after), customer_id),
        )
        events.record_update(store, "customer.updated", before, after, now=call.now, customer=customer_id)
    return Response(200, after)


def delete(call: Call) -> Response:
    customer_id = call.id_param("id", MODEL)
    with call.transaction() as store:
        customer = fetch(store, "customers", customer_id, MODEL)
        if store.scalar("SELECT 1 FROM invoices WHERE customer = ? LIMIT 1", (customer_id,)):
            raise invalid("Customers with transactions cannot be deleted")
        # Contacts go with their customer; each leaves a tombstone event like a direct delete.
        for (contact_id,) in store.rows("SELECT id FROM contacts WHERE customer = ?", (customer_id,)):
            contact = fetch(store, "contacts", contact_id, "Contact")
            store.execute("DELETE FROM contacts WHERE id = ?", (contact_id,))
            events.record(store, "contact.deleted", contact, now=call.now, customer=customer_id)
        store.execute("DELETE FROM customers WHERE id = ?", (customer_id,))
        events.record(store, "customer.deleted", customer, now=call.now, customer=customer_id)
    return Response(204)


def list_customers(call: Call) -> Response:
    query = start_query(call.request, SPEC)
    query.between("updated_at", "updated_after", "updated_before", strict=True)
    objects, total = run_list(call.store, query, call.cursors)
    return list_response(call.base_url, call.request, query.page, total, objects)
