"""The shape of an emitted record: RFC 3339 timestamps, decimal text, tombstones from delete events, the archived
flag.

Invoiced sends timestamps as integer Unix seconds and money as JSON numbers (decoded as `Decimal`, so nothing
is rounded on the way). Records carry the schema's top-level fields (missing ones as None); top-level fields
Invoiced sends that the schema does not list are dropped, while nested objects keep every key. Timestamps change
form to RFC 3339 (`sync_core.times.rfc3339`: `2024-04-02T06:00:00+00:00`, whole seconds as Invoiced keeps them).

Amounts, quantities and rates are written as decimal text ("12.50") under the schema format `x-singer.decimal`,
as tap-customcrm writes Customcrm's, line items included. A JSON number is a binary float to most readers that
meet it (a jq filter, target-jsonl, pipelinewise's loaders, which make it `double precision`); text keeps the
exact amount everywhere, and SDK-based loaders (MeltanoLabs target-postgres, -snowflake, -duckdb) make the
format a `DECIMAL` column.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Union

from sync_core.times import rfc3339

DELETED_AT = "deleted_at"
SDC_DELETED_AT = "_sdc_deleted_at"  # the Singer SDK's name for the same: loaders soft-delete or remove such a row
EXPANDED_IN_EVENTS = ("customer",)
DECIMAL_FORMAT = "x-singer.decimal"  # the Singer SDK's format for a decimal written as text

# Where a schema's decimals are: True for a decimal; for an object, the plan of each property holding one; an
# array follows the plan of its items.
DecimalPlan = Union[bool, dict[str, "DecimalPlan"]]  # noqa: UP007 - a recursive alias needs the string form


def unix_seconds(moment: datetime) -> int:
    return int(moment.timestamp())


def decimal_plan(schema: Mapping[str, Any]) -> DecimalPlan | None:
    """Where the schema's `x-singer.decimal` values are, or None when it has none."""
    if schema.get("format") == DECIMAL_FORMAT:
        return True
    items = schema.get("items")
    if isinstance(items, Mapping):
        return decimal_plan(items)
    plan = {name: sub for name, part in (schema.get("properties") or {}).items()
            if (sub := decimal_plan(part)) is not None}
    return plan or None


def as_decimal_text(value: Any, plan: DecimalPlan) -> Any:
    """`value` with each number the plan points at as decimal text: Decimal('12.50') -> '12.50', 2 -> '2'."""
    if isinstance(value, list):
        return [as_decimal_text(entry, plan) for entry in value]
    if plan is True:
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            return f"{Decimal(value):f}"  # never exponent notation: Decimal('1E+2') is '100'
        return value
    if isinstance(value, dict) and isinstance(plan, dict):
        return {name: as_decimal_text(entry, plan[name]) if name in plan else entry for name, entry in value.items()}
    return value


def shaped(row: Mapping[str, Any], fields: Collection[str], timestamps: Collection[str],
           decimals: Mapping[str, DecimalPlan] | None = None) -> dict[str, Any]:
    """The schema's `fields` of `row` (missing ones as None, unknown ones dropped), timestamps as RFC 3339, the
    numbers `decimals` points at (by field: decimal_plan) as decimal text.

    `row` itself is left as Invoiced sent it: the overlap bookkeeping compares it with later reads.
    """
    record = {name: row.get(name) for name in fields}
    for name, plan in (decimals or {}).items():
        record[name] = as_decimal_text(record.get(name), plan)
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
