"""The shape of an emitted record: RFC 3339 timestamps, tombstones from delete events, the archived flag.

Invoiced sends timestamps as integer Unix seconds and money as JSON numbers (decoded as `Decimal`, so nothing
is rounded on the way). Records carry the schema's top-level fields (missing ones as None); top-level fields
Invoiced sends that the schema does not list are dropped, while nested objects keep every key. Timestamps change
form to RFC 3339 (`sync_core.times.rfc3339`: `2024-04-02T06:00:00+00:00`, whole seconds as Invoiced keeps them).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sync_core.times import rfc3339

DELETED_AT = "deleted_at"
SDC_DELETED_AT = "_sdc_deleted_at"  # the Singer SDK's name for the same: loaders soft-delete or remove such a row
EXPANDED_IN_EVENTS = ("customer",)


def unix_seconds(moment: datetime) -> int:
    return int(moment.timestamp())


def shaped(row: Mapping[str, Any], fields: Collection[str], timestamps: Collection[str]) -> dict[str, Any]:
    """The schema's `fields` of `row` (missing ones as None, unknown ones dropped), timestamps as RFC 3339.

    `row` itself is left as Invoiced sent it: the overlap bookkeeping compares it with later reads.
    """
    record = {name: row.get(name) for name in fields}
    for name in timestamps:
        value = record.get(name)
        if isinstance(value, int):
            record[name] = rfc3339(value)
    if SDC_DELETED_AT in record:
        record[SDC_DELETED_AT] = record.get(DELETED_AT)  # a tombstone, as loaders recognise one
    for name in ("discounts", "items"):
        if isinstance(record.get(name), list):
            record[name] = [_nested(entry) for entry in record[name]]
    return record


def _nested(entry: Any) -> Any:
    """Line items and discounts: a discount's `expires` is a timestamp too."""
    if not isinstance(entry, dict):
        return entry
    if isinstance(entry.get("expires"), int):
        entry = {**entry, "expires": rfc3339(entry["expires"])}
    if isinstance(entry.get("discounts"), list) and entry["discounts"]:
        entry = {**entry, "discounts": [_nested(discount) for discount in entry["discounts"]]}
    return entry


def snapshot(event: Mapping[str, Any]) -> dict[str, Any]:
    """The object an event carries, in the shape its list endpoint gives it.

    Invoiced stores event objects with references expanded (an invoice's or a contact's `customer` is the
    whole customer there, but its id in lists), so they are collapsed back to the id.
    """
    row = dict(event["data"]["object"])
    for name in EXPANDED_IN_EVENTS:
        if isinstance(row.get(name), Mapping):
            row[name] = row[name].get("id")
    return row


def tombstone(event: Mapping[str, Any]) -> dict[str, Any]:
    """A deleted record: its last snapshot from the `*.deleted` event, stamped with the time of deletion.

    `updated_at` becomes the deletion time too, so "newest `updated_at` wins" also lets the delete win.
    """
    return {**snapshot(event), DELETED_AT: event["timestamp"], "updated_at": event["timestamp"]}
