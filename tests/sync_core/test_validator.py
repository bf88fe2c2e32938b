"""The targets' record validator (jsonschema-rs behind the SDK's get_validator hook) checks what the SDK's own does."""

from __future__ import annotations

from decimal import Decimal

import pytest
from singer_sdk.exceptions import InvalidJSONSchema, InvalidRecord
from singer_sdk.sinks.core import JSONSchemaValidator
from sync_core.target import RecordValidator

SCHEMA = {"type": "object", "required": ["name"], "properties": {
    "name": {"type": "string", "maxLength": 10},
    "amount": {"type": ["number", "null"]},
    "lines": {"type": "array", "items": {"type": "object", "properties": {"quantity": {"type": "number"}}}},
    "due": {"type": "string", "format": "date-time"},
}}


@pytest.mark.parametrize("record", [
    {"name": "Acme", "amount": Decimal("12.50"), "lines": [{"quantity": Decimal("1.000")}]},
    {"name": "Acme", "amount": None, "due": "not a date"},  # formats are not checked, as the SDK's default
])
def test_a_valid_record_passes_both_validators(record: dict) -> None:
    JSONSchemaValidator(SCHEMA).validate(record)
    RecordValidator(SCHEMA, validate_formats=False).validate(record)


@pytest.mark.parametrize("record", [
    {"amount": 1},
    {"name": "A name too long for it"},
    {"name": "Acme", "amount": "12.50"},
    {"name": "Acme", "lines": [{"quantity": "many"}]},
])
def test_an_invalid_record_is_refused_by_both_validators(record: dict) -> None:
    with pytest.raises(InvalidRecord):
        JSONSchemaValidator(SCHEMA).validate(record)
    with pytest.raises(InvalidRecord) as refused:
        RecordValidator(SCHEMA, validate_formats=False).validate(record)
    assert refused.value.record == record


def test_formats_are_checked_when_asked() -> None:
    with pytest.raises(InvalidRecord):
        RecordValidator(SCHEMA, validate_formats=True).validate({"name": "Acme", "due": "not a date"})


def test_an_invalid_schema_is_refused() -> None:
    with pytest.raises(InvalidJSONSchema):
        RecordValidator({"type": "no such type"}, validate_formats=False)
