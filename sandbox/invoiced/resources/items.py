"""Catalog items: `/items` and the legacy `/catalog_items`; string ids, soft delete, no events."""

from __future__ import annotations

import re
import secrets
import string as charsets
from decimal import Decimal
from typing import Any

from sandbox.common.http import Response
from sandbox.invoiced.context import Call
from sandbox.invoiced.errors import invalid, not_found
from sandbox.invoiced.listing import ListSpec, as_bool, as_number, as_text, list_response, run_list, start_query
from sandbox.invoiced.store import Store, dump, load
from sandbox.invoiced.validation import (
    FALSE_WORDS,
    TRUE_WORDS,
    boolean,
    code,
    decimal,
    metadata,
    read_fields,
    required_string,
    string,
)

MODEL = "Item"
ID_PATTERN = re.compile(r"^[a-z0-9_\-:]{2,}$", re.IGNORECASE)


def _item_id(value: Any, param: str) -> str:
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise invalid(
            f"Invalid item ID: {value}. IDs may contain only letters, numbers, '_', '-' and ':' "
            "and must be at least 2 characters long.",
            param,
        )
    return value


FIELDS = {
    "id": _item_id,
    "name": required_string(),
    "currency": code(3, lower=True),
    "unit_cost": decimal(nullable=False),
    "description": string(10_000),
    "type": string(255),
    "taxable": boolean,
    "discountable": boolean,
    "avalara_tax_code": string(255),
    "avalara_location_code": string(255),
    "gl_account": string(255),
    "metadata": metadata,
}
# Changing these would change what past invoices meant, so the API drops them on PATCH without a word.
CREATE_ONLY = frozenset({"id", "currency", "unit_cost", "discountable", "taxable", "taxes"})

SPEC = ListSpec(
    table="items",
    filterable={
        **dict.fromkeys(("id", "name", "type", "currency", "gl_account", "description"), as_text),
        "unit_cost": as_number,
        "taxable": as_bool,
        "discountable": as_bool,
    },
    sortable=frozenset({"id", "name", "type", "currency", "unit_cost", "created_at", "updated_at"}),
    columns={"id": "id"},
    key_column="pk",
    id_in_doc=True,
    metadata=True,
)


def live(store: Store, item_id: str) -> tuple[int, dict[str, Any]] | None:
    found = store.row("SELECT pk, doc FROM items WHERE id_key = ? AND archived = 0", (item_id.lower(),))
    return None if found is None else (found[0], load(found[1]))


def insert(store: Store, fields: dict[str, Any], now: int) -> dict[str, Any]:
    """Create one item inside the caller's transaction (the API and the seeder both use this)."""
    if not fields.get("name"):
        raise invalid("Name missing", "name")
    item_id = fields.get("id") or "".join(secrets.choice(charsets.ascii_letters + charsets.digits) for _ in range(6))
    if live(store, item_id) is not None:
        raise invalid(f"An item already exists with ID: {item_id}", "id")
    item: dict[str, Any] = {
        "id": item_id, "object": "item", "name": None, "currency": "usd", "unit_cost": Decimal(0),
        "description": None, "type": None, "taxable": True, "taxes": [], "avalara_tax_code": None,
        "avalara_location_code": None, "gl_account": None, "discountable": True,
        "created_at": now, "updated_at": now, "metadata": {},
    }
    item.update({k: v for k, v in fields.items() if v is not None or k not in ("currency", "unit_cost")})
    item["id"] = item_id
    store.execute(
        "INSERT INTO items (id, id_key, archived, updated_at, doc) VALUES (?, ?, 0, ?, ?)",
        (item_id, item_id.lower(), now, dump(item)),
    )
    return item


def create(call: Call) -> Response:
    fields = read_fields(call.body(), FIELDS, model=MODEL)
    with call.transaction() as store:
        return Response(201, insert(store, fields, call.now))


def retrieve(call: Call) -> Response:
    item_id = call.text_param("id")
    # An archived item still resolves, as its latest version, so old invoices can show it.
    found = call.store.row(
        "SELECT doc FROM items WHERE id_key = ? ORDER BY archived ASC, pk DESC LIMIT 1", (item_id.lower(),)
    )
    if found is None:
        raise not_found(MODEL, item_id)
    return Response(200, load(found[0]))


def update(call: Call) -> Response:
    item_id = call.text_param("id")
    body = {k: v for k, v in call.body().items() if k not in CREATE_ONLY}
    fields = read_fields(body, FIELDS, model=MODEL)
    with call.transaction() as store:
        current = live(store, item_id)
        if current is None:
            raise not_found(MODEL, item_id)
        pk, before = current
        after = {**before, **fields, "updated_at": call.now}
        store.execute("UPDATE items SET updated_at = ?, doc = ? WHERE pk = ?", (call.now, dump(after), pk))
    return Response(200, after)


def delete(call: Call) -> Response:
    item_id = call.text_param("id")
    with call.transaction() as store:
        current = live(store, item_id)
        if current is None:
            raise not_found(MODEL, item_id)
        # The backend archives by saving the item, and every save stamps updated_at.
        pk, item = current
        archived = {**item, "updated_at": call.now}
        store.execute(
            "UPDATE items SET archived = 1, updated_at = ?, doc = ? WHERE pk = ?", (call.now, dump(archived), pk)
        )
    return Response(204)


def list_items(call: Call) -> Response:
    query = start_query(call.request, SPEC)
    archived = query.params.get("archived", "0")
    if archived not in TRUE_WORDS and archived not in FALSE_WORDS:
        raise invalid(f"Invalid value for `archived`: expected 1 or 0, got {archived!r}.", "archived")
    query.add("archived = ?", 1 if archived in TRUE_WORDS else 0)
    objects, total = run_list(call.store, query, call.cursors)
    return list_response(call.base_url, call.request, query.page, total, objects)
