"""The reserved properties every output record carries next to the mapped fields.

`_source` says where the record came from (system, stream, id) and when the source last changed it (`updated_at`),
which the targets need for linking and for "the later edit wins". A tombstone keeps its identity and has
`_source.deleted_at` set. `_reject` is present only on a record that could not be mapped: it names the source field,
why (`reason`) and what to do (`fix`), and the record then holds only its identity fields, for the target to record
the failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from customcrm_invoiced_mapper.values import Unmappable, rfc3339

SOURCE = "_source"
REJECT = "_reject"

_TEXT = {"type": ["string", "null"]}
_PROBLEM_SCHEMA = {
    "type": "object",
    "properties": {"field": {"type": "string"}, "reason": {"type": "string"}, "fix": {"type": "string"}},
    "required": ["field", "reason", "fix"],
}

SOURCE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Where this record came from; targets link and resolve conflicts with it.",
    "properties": {
        "system": {"type": "string", "enum": ["customcrm", "invoiced"]},
        "stream": {"type": "string"},
        "id": _TEXT,
        "updated_at": {"type": ["string", "null"], "format": "date-time"},
        "deleted_at": {"type": ["string", "null"], "format": "date-time"},
    },
    "required": ["system", "stream", "id", "updated_at", "deleted_at"],
}

REJECT_SCHEMA: dict[str, Any] = {
    "type": ["object", "null"],
    "description": "Present only when the record could not be mapped: the first problem, then all of them.",
    "properties": {**_PROBLEM_SCHEMA["properties"], "problems": {"type": "array", "items": _PROBLEM_SCHEMA}},
    "required": ["field", "reason", "fix", "problems"],
}


@dataclass(frozen=True)
class Problem:
    field: str  # the source field, as the person fixing it sees it (e.g. lines[2].unit_price)
    reason: str
    fix: str  # what to do, and in which system

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason, "fix": self.fix}


def source_of(system: str, stream: str, record: dict[str, Any]) -> dict[str, Any]:
    identity = record.get("id")
    return {
        "system": system,
        "stream": stream,
        "id": None if identity is None else str(identity),
        "updated_at": _instant(record.get("updated_at")),
        "deleted_at": _instant(record.get("deleted_at")),
    }


def _instant(value: Any) -> str | None:
    """The source's own text when it sent text (exactly as it will compare later); Unix seconds as RFC 3339."""
    if value is None or isinstance(value, str):
        return value
    try:
        return rfc3339(value)
    except Unmappable:
        return str(value)


def reject_of(problems: list[Problem]) -> dict[str, Any]:
    first = problems[0]
    return {**first.as_dict(), "problems": [p.as_dict() for p in problems]}
