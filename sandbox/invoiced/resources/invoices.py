"""Invoices: `/invoices`, `/invoices/{id}` and `POST /invoices/{id}/void`."""

from __future__ import annotations

import re
from typing import Any

from sandbox.common.http import Response
from sandbox.invoiced.context import Call
from sandbox.invoiced.errors import ApiError, invalid
from sandbox.invoiced.listing import (
    ListSpec,
    as_bool,
    as_int,
    as_number,
    as_text,
    list_response,
    run_list,
    start_query,
)
from sandbox.invoiced.resources import events
from sandbox.invoiced.resources.items import live
from sandbox.invoiced.resources.lines import ZERO, read_adjustments, read_lines, totals
from sandbox.invoiced.resources.records import check_number_free, document, fetch, next_number, number_key
from sandbox.invoiced.store import Store
from sandbox.invoiced.validation import (
    MAX_INTEGER,
    boolean,
    code,
    document_number,
    integer,
    json_object,
    metadata,
    read_fields,
    required_string,
    string,
    to_int,
)

MODEL = "Invoice"
DAY = 86_400
FIELDS = {
    "name": required_string(),
    "number": document_number,
    "autopay": boolean,
    "currency": code(3, lower=True),
    "date": integer(nullable=False),
    "due_date": integer(),
    "payment_terms": string(255),
    "purchase_order": string(32),
    "draft": boolean,
    "sent": boolean,
    "closed": boolean,
    "notes": string(10_000),
    "ship_to": json_object,
    "metadata": metadata,
}
READ_ONLY = (
    "object", "subtotal", "total", "balance", "paid", "voided", "status", "attempt_count", "amount_paid",
    "created_at", "updated_at",
)
# `status` depends on the clock (past_due), so lists filter and sort on it computed at query time,
# in the same order of precedence as `status()` below.
STATUS_SQL = """CASE
    WHEN json_extract(doc, '$.voided') THEN 'voided'
    WHEN json_extract(doc, '$.draft') THEN 'draft'
    WHEN json_extract(doc, '$.paid') THEN 'paid'
    WHEN COALESCE(json_extract(doc, '$.due_date'), 0) > 0
        AND json_extract(doc, '$.due_date') < CAST(strftime('%s', 'now') AS INTEGER) THEN 'past_due'
    WHEN json_extract(doc, '$.viewed') THEN 'viewed'
    WHEN json_extract(doc, '$.sent') THEN 'sent'
    ELSE 'not_sent' END"""
_NET_TERMS = re.compile(r"^\s*NET\s*(\d{1,4})\s*$", re.IGNORECASE)

SPEC = ListSpec(
    table="invoices",
    filterable={
        **dict.fromkeys(("number", "status", "currency", "name", "payment_terms", "purchase_order"), as_text),
        **dict.fromkeys(("draft", "closed", "paid", "voided", "sent", "viewed", "autopay"), as_bool),
        **dict.fromkeys(("id", "customer", "date", "due_date", "created_at", "updated_at"), as_int),
        **dict.fromkeys(("total", "balance", "subtotal"), as_number),
    },
    sortable=frozenset(
        {"id", "customer", "number", "date", "due_date", "status", "total", "balance", "created_at", "updated_at"}
    ),
    columns={"id": "id", "customer": "customer", "updated_at": "updated_at", "date": "date", "status": STATUS_SQL},
    metadata=True,
)


def status(invoice: dict[str, Any], now: int) -> str:
    """The computed status, in the real API's order of precedence."""
    if invoice["voided"]:
        return "voided"
    if invoice["draft"]:
        return "draft"
    if invoice["paid"]:
        return "paid"
    due = invoice["due_date"]
    if due and due < now:
        return "past_due"
    if invoice["viewed"]:
        return "viewed"
    return "sent" if invoice["sent"] else "not_sent"


def _customer_id(body: dict[str, Any]) -> int:
    raw = body.get("customer")
    if isinstance(raw, dict):
        if "id" not in raw:
            raise invalid("The sandbox cannot create a customer inside an invoice; create it first.", "customer")
        raw = raw["id"]
    if raw is None:
        raise invalid("Customer missing", "customer")
    number = to_int(raw)
    if number is None or not 1 <= number <= MAX_INTEGER:
        raise invalid(f"No such customer: {raw}", "customer")
    return number


def _due_date(terms: str | None, date: int) -> int | None:
    if not terms:
        return None
    if terms.strip().upper() == "DUE ON RECEIPT":
        return date
    net = _NET_TERMS.match(terms)
    return date + int(net.group(1)) * DAY if net else None


def _finish(store: Store, invoice: dict[str, Any], body: dict[str, Any], now: int) -> None:
    """Apply `items`, `discounts` and `taxes` from the body, then recompute money and status."""

    def new_id() -> int:
        return store.next_value("line_item")

    def find_item(item_id: str) -> dict[str, Any] | None:
        found = live(store, item_id)
        return None if found is None else found[1]

    if "items" in body:
        invoice["items"] = read_lines(body["items"], invoice["items"], find_item, new_id)
    for kind, key in (("discount", "discounts"), ("tax", "taxes")):
        if key in body:
            invoice[key] = read_adjustments(body[key], kind, new_id)
    totals(invoice)
    invoice["status"] = status(invoice, now)


def insert(store: Store, body: dict[str, Any], now: int, *, paid: bool = False) -> dict[str, Any]:
    """Create one invoice inside the caller's transaction; `paid` is for seeded history only."""
    fields = read_fields(body, FIELDS, model=MODEL, blocked=READ_ONLY)
    customer_id = _customer_id(body)
    try:
        customer = fetch(store, "customers", customer_id, "Customer")
    except ApiError:
        raise invalid(f"No such customer: {customer_id}", "customer") from None
    if not customer["active"]:
        raise invalid(f"Customer {customer_id} is inactive; new invoices cannot be created for it.", "customer")
    date = fields.get("date") or now
    terms = fields.get("payment_terms", customer["payment_terms"])
    invoice: dict[str, Any] = {
        "object": "invoice", "customer": customer_id, "name": "Invoice", "number": None, "autopay": False,
        "currency": customer["currency"] or "usd", "draft": False, "closed": paid, "paid": paid, "voided": False,
        "sent": False, "viewed": False, "status": "not_sent", "attempt_count": 0, "next_payment_attempt": None,
        "subscription": None, "date": date, "due_date": _due_date(terms, date), "payment_terms": terms,
        "purchase_order": None, "items": [], "notes": None, "subtotal": ZERO, "discounts": [], "taxes": [],
        "total": ZERO, "balance": ZERO, "ship_to": None, "payment_plan": None, "url": None,
        "payment_url": None, "pdf_url": None, "created_at": now, "updated_at": now, "metadata": {},
    }
    invoice.update(fields)
    if "number" in fields:
        check_number_free(store, "invoices", invoice["number"], model="invoice")
    else:
        invoice["number"] = next_number(store, "invoices", "INV")
    _finish(store, invoice, body, now)
    invoice_id = store.execute(
        "INSERT INTO invoices (customer, number_key, updated_at, date, doc) VALUES (?, ?, ?, ?, ?)",
        (customer_id, number_key(invoice["number"]), now, invoice["date"], document(invoice)),
    )
    invoice = {"id": invoice_id, **invoice}
    events.record(store, "invoice.created", invoice, now=now, customer=customer_id)
    return invoice


def _save(store: Store, before: dict[str, Any], after: dict[str, Any], now: int) -> None:
    store.execute(
        "UPDATE invoices SET number_key = ?, updated_at = ?, date = ?, doc = ? WHERE id = ?",
        (number_key(after["number"]), now, after["date"], document(after), after["id"]),
    )
    events.record_update(store, "invoice.updated", before, after, now=now, customer=after["customer"])


def _refuse_locked(invoice: dict[str, Any], fields: dict[str, Any]) -> None:
    if invoice["voided"]:
        raise invalid("Your changes cannot be saved because this document is voided.", "voided")
    reopening = fields.get("closed") is False and not invoice["paid"]
    if (invoice["closed"] or invoice["paid"]) and not reopening:
        raise invalid(
            "Your changes cannot be saved because this document is closed. "
            "Please re-open the document to make any changes.",
            "closed",
        )
    if fields.get("draft") is True and not invoice["draft"]:
        raise invalid("Cannot save as a draft because the document has already been issued.", "draft")


def _refuse_payment_applied(invoice: dict[str, Any]) -> None:
    if invoice["paid"]:
        raise invalid("This invoice cannot be voided because it has a payment applied.", "voided")


def create(call: Call) -> Response:
    body = call.body()
    with call.transaction() as store:
        return Response(201, insert(store, body, call.now))


def retrieve(call: Call) -> Response:
    invoice = fetch(call.store, "invoices", call.id_param("id", MODEL), MODEL)
    invoice["status"] = status(invoice, call.now)
    return Response(200, invoice)


def update(call: Call) -> Response:
    invoice_id = call.id_param("id", MODEL)
    body = call.body()
    fields = read_fields(body, FIELDS, model=MODEL, blocked=READ_ONLY)
    with call.transaction() as store:
        before = fetch(store, "invoices", invoice_id, MODEL)
        _refuse_locked(before, fields)
        if "number" in fields:
            check_number_free(store, "invoices", fields["number"], model="invoice", exclude_id=invoice_id)
        after = {**before, **fields, "updated_at": call.now}
        _finish(store, after, body, call.now)
        _save(store, before, after, call.now)
    return Response(200, after)


def void_invoice(store: Store, invoice_id: int, now: int) -> dict[str, Any]:
    """Void inside the caller's transaction: irreversible, balance to zero, an `invoice.updated` event."""
    before = fetch(store, "invoices", invoice_id, MODEL)
    if before["voided"]:
        raise invalid("This document has already been voided.", "voided")
    _refuse_payment_applied(before)
    after = {**before, "voided": True, "updated_at": now}
    totals(after)
    after["status"] = status(after, now)
    _save(store, before, after, now)
    return after


def void(call: Call) -> Response:
    invoice_id = call.id_param("id", MODEL)
    with call.transaction() as store:
        return Response(200, void_invoice(store, invoice_id, call.now))


def delete(call: Call) -> Response:
    invoice_id = call.id_param("id", MODEL)
    with call.transaction() as store:
        invoice = fetch(store, "invoices", invoice_id, MODEL)
        _refuse_payment_applied(invoice)
        store.execute("DELETE FROM invoices WHERE id = ?", (invoice_id,))
        events.record(store, "invoice.deleted", invoice, now=call.now, customer=invoice["customer"])
    return Response(204)


def list_invoices(call: Call) -> Response:
    query = start_query(call.request, SPEC)
    query.between("updated_at", "updated_after", "updated_before", strict=True)
    column = SPEC.expression("due_date" if query.params.get("date_column") == "due_date" else "date")
    query.between(column, "start_date", "end_date", strict=False)
    objects, total = run_list(call.store, query, call.cursors)
    for invoice in objects:
        invoice["status"] = status(invoice, call.now)
    return list_response(call.base_url, call.request, query.page, total, objects)
