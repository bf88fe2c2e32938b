"""Events: written by the other resources on every create, change and delete; read-only over HTTP."""

from __future__ import annotations

from typing import Any

from sandbox.common.http import Response
from sandbox.invoiced.context import Call
from sandbox.invoiced.errors import invalid, not_found
from sandbox.invoiced.listing import ListSpec, as_int, as_text, list_response, run_list, start_query
from sandbox.invoiced.resources.records import fetch
from sandbox.invoiced.store import Store, dump, load
from sandbox.invoiced.validation import to_int

SPEC = ListSpec(
    table="events",
    filterable={"type": as_text, "id": as_int, "timestamp": as_int},
    sortable=frozenset({"id", "timestamp", "type"}),
    columns={"id": "id", "type": "type", "timestamp": "timestamp"},
    descending=True,
)
# The backend's getEventObject of these expands `customer` to the whole customer as it is at that moment;
# lists and retrieves give its id. Customers' own events are plain snapshots.
EXPANDS_CUSTOMER = frozenset({"invoice", "contact"})


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """`data.previous`, computed like the backend's DiffCalculator.

    Old values of the keys that changed and None for keys that gained a value; objects (metadata,
    ship_to) are compared key by key, lists (items, taxes) are given whole; when nothing but
    `updated_at` changed there is no change at all.
    """
    previous: dict[str, Any] = {k: None for k, v in after.items() if before.get(k) is None and v}
    for key, old in before.items():
        new = after.get(key)
        if new is None:
            if old is not None:
                previous[key] = old
        elif isinstance(old, dict) and isinstance(new, dict):
            nested = changes(old, new)
            if nested:
                previous[key] = nested
        elif old != new:
            previous[key] = old
    return {} if previous.keys() == {"updated_at"} else previous


def record(
    store: Store,
    event_type: str,
    obj: dict[str, Any],
    *,
    now: int,
    customer: int | None,
    previous: dict[str, Any] | None = None,
) -> None:
    """Append one event inside the caller's transaction.

    `previous` compares the objects as lists give them (a customer id is create-only, so it never shows there).
    """
    object_type = event_type.split(".", 1)[0]
    if object_type in EXPANDS_CUSTOMER:
        # Read inside the same transaction: the customer as it is now, or as it was just before its own delete.
        obj = {**obj, "customer": fetch(store, "customers", obj["customer"], "Customer")}
    data: dict[str, Any] = {"object": obj}
    if previous:
        data["previous"] = previous
    doc = {"object": "event", "type": event_type, "timestamp": now, "data": data}
    store.execute(
        "INSERT INTO events (type, object_type, object_id, customer, timestamp, doc) VALUES (?, ?, ?, ?, ?, ?)",
        (event_type, object_type, str(obj["id"]), customer, now, dump(doc)),
    )


def record_update(
    store: Store, event_type: str, before: dict[str, Any], after: dict[str, Any], *, now: int, customer: int | None
) -> None:
    """An `*.updated` event, only when something besides the timestamps changed."""
    previous = changes(before, after)
    if previous:
        record(store, event_type, after, now=now, customer=customer, previous=previous)


def list_events(call: Call) -> Response:
    query = start_query(call.request, SPEC)
    object_type = query.params.get("type")
    if isinstance(object_type, str) and object_type:
        query.add("object_type = ?", object_type)
    related = query.params.get("related_to")
    if isinstance(related, str) and related:
        kind, _, raw_id = related.partition(",")
        if not kind or not raw_id:
            raise invalid("Invalid value for `related_to`: use related_to=<object type>,<id>.", "related_to")
        if kind == "customer":
            number = to_int(raw_id)
            if number is None:
                raise invalid(f"Invalid value for `related_to`: {related}", "related_to")
            query.add("customer = ?", number)
        else:
            query.add("object_type = ? AND object_id = ?", kind, raw_id)
    query.between("timestamp", "start_date", "end_date", strict=False)
    objects, total = run_list(call.store, query, call.cursors)
    return list_response(call.base_url, call.request, query.page, total, objects)


def retrieve_event(call: Call) -> Response:
    event_id = call.id_param("id", "Event")
    found = call.store.row("SELECT doc FROM events WHERE id = ?", (event_id,))
    if found is None:
        raise not_found("Event", event_id)
    return Response(200, {"id": event_id, **load(found[0])})
