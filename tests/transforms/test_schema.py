"""The SCHEMA messages: valid JSON Schema, and declaring every property a mapped record can carry.

Targets validate records against these schemas; a property missing from the schema would pass unnoticed (JSON
Schema allows extra properties by default), so the check here closes every object before validating.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import jsonschema
import pytest
from customcrm_invoiced_mapper.converters import Direction
from customcrm_invoiced_mapper.engine import map_record
from customcrm_invoiced_mapper.schema import output_schema
from customcrm_invoiced_mapper.spec import Flow, load_flows
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.transforms.simulate import wire
from tests.transforms.strategies import (
    customcrm_customers,
    customcrm_orders,
    customcrm_products,
    customcrm_users,
    invoiced_customers,
    invoiced_invoices,
    invoiced_items,
)

FLOWS = {flow.name: flow for flow in load_flows()}
SOURCES: dict[tuple[str, Direction], st.SearchStrategy[dict[str, Any]]] = {
    ("customer", "to_invoiced"): customcrm_customers(),
    ("customer", "to_customcrm"): invoiced_customers(),
    ("product", "to_invoiced"): customcrm_products(),
    ("product", "to_customcrm"): invoiced_items(),
    ("order", "to_invoiced"): customcrm_orders(),
    ("order", "to_customcrm"): invoiced_invoices(),
    ("user", "to_invoiced"): customcrm_users(),
}


def _closed(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every object closed to properties it does not declare."""
    out = {k: _closed(v) if isinstance(v, dict) and k in ("items",) else v for k, v in schema.items()}
    if "properties" in schema:
        out["properties"] = {name: _closed(sub) for name, sub in schema["properties"].items()}
        out["additionalProperties"] = False
    return out


def _variants(record: dict[str, Any], how: str) -> dict[str, Any]:
    """As read; as a tombstone; or broken, so the record leaves as a reject."""
    if how == "tombstone":
        return {**record, "deleted_at": "2024-05-01T00:00:00Z"}
    if how == "reject":
        broken = {"id": None, "currency": "not a currency", "name": None, "order_date": "someday", "date": "someday"}
        return {**record, **broken}
    return record


@pytest.mark.parametrize(("flow_name", "direction"), sorted(SOURCES))
def test_the_output_schema_is_valid_json_schema(flow_name: str, direction: Direction) -> None:
    jsonschema.Draft7Validator.check_schema(output_schema(FLOWS[flow_name], direction))


@pytest.mark.parametrize(("flow_name", "direction"), sorted(SOURCES))
def test_every_property_of_a_mapped_record_is_declared(flow_name: str, direction: Direction) -> None:
    flow: Flow = FLOWS[flow_name]
    schema = _closed(output_schema(flow, direction))

    @settings(max_examples=10)
    @given(SOURCES[(flow_name, direction)], st.sampled_from(["as read", "tombstone", "reject"]))
    def check(record: dict[str, Any], how: str) -> None:
        mapped = wire(map_record(flow, direction, _variants(record, how), ZoneInfo("Europe/Oslo")))
        jsonschema.validate(mapped, schema)

    check()
