"""The JSON schema of each output stream, built from the same rows that map the records."""

from __future__ import annotations

from typing import Any

from customcrm_invoiced_mapper.converters import Direction
from customcrm_invoiced_mapper.envelope import REJECT, REJECT_SCHEMA, SOURCE, SOURCE_SCHEMA
from customcrm_invoiced_mapper.spec import Flow, Row


def output_schema(flow: Flow, direction: Direction) -> dict[str, Any]:
    schema = _object(flow.rows, direction)
    for spec in flow.lists:
        if spec.applies(direction):
            _place(schema, spec.target(direction), {"type": ["array", "null"], "items": _object(spec.rows, direction)})
    schema["properties"][SOURCE] = SOURCE_SCHEMA
    schema["properties"][REJECT] = REJECT_SCHEMA
    schema["required"] = [SOURCE]
    return schema


def _object(rows: tuple[Row, ...], direction: Direction) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": {}}
    for row in rows:
        if row.applies(direction):
            for path, leaf in row.converter.target_schemas(direction, row.target(direction)).items():
                _place(schema, path, leaf)
    return schema


def _place(schema: dict[str, Any], path: str, leaf: dict[str, Any]) -> None:
    *parents, name = path.split(".")
    node = schema
    for part in parents:
        node = node["properties"].setdefault(part, {"type": "object", "properties": {}})
    node["properties"][name] = leaf
