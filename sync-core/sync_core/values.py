"""How the core compares and reshapes mapped values: one canonical form per value, and flat field paths.

A mapped record's fields are addressed by flat paths (`name`, `metadata.org_number`, `billing_address.city`):
the maps that a system merges key by key are split into a field per key (Invoiced's `metadata`; Customcrm's
`billing_address` and `external_ids`, which its PATCH merges); every other nested value (a list of lines, a
reference such as `{"customcrm_id": ...}`) is one field, compared and written whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

INVOICED_MAPS = frozenset({"metadata"})
CUSTOMCRM_MAPS = frozenset({"billing_address", "external_ids"})

Canonical = Callable[[Any], Any]


def canonical(value: Any) -> Any:
    """A form in which values that mean the same compare equal: blank is None, numbers are Decimal."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, Decimal)):
        return _decimal(value)
    if isinstance(value, Mapping):
        items = ((key, canonical(inner)) for key, inner in value.items())
        return tuple(sorted((key, inner) for key, inner in items if inner is not None))
    if isinstance(value, (list, tuple)):
        return tuple(canonical(inner) for inner in value)
    return value


def casefolded(value: Any) -> Any:
    """For e-mail addresses, which neither system tells apart by case."""
    value = canonical(value)
    return value.strip().casefold() if isinstance(value, str) else value


def _decimal(value: int | float | Decimal) -> Decimal | Any:
    try:
        number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        return value
    return number.normalize() if number.is_finite() else number


def is_empty(value: Any) -> bool:
    return canonical(value) in (None, ())


def flatten(
    record: Mapping[str, Any], fields: Iterable[str] | None = None, *, maps: frozenset[str] = INVOICED_MAPS
) -> dict[str, Any]:
    """`{"metadata": {"a": 1}, "name": "x"}` → `{"metadata.a": 1, "name": "x"}`, optionally only `fields`."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        if key.startswith("_"):
            continue
        if key in maps and isinstance(value, Mapping):
            flat.update({f"{key}.{inner}": value[inner] for inner in value})
        else:
            flat[key] = value
    if fields is None:
        return flat
    return {field: flat.get(field) for field in fields}


def unflatten(flat: Mapping[str, Any], *, maps: frozenset[str] = INVOICED_MAPS) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for path, value in flat.items():
        head, _, tail = path.partition(".")
        if tail and head in maps:
            record.setdefault(head, {})[tail] = value
        else:
            record[path] = value
    return record


def jsonable(value: Any) -> Any:
    """For the audit trail, plans and rejects: Decimal as its text, tuples as lists."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): jsonable(inner) for key, inner in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(inner) for inner in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
