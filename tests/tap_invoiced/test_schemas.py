"""The tap's schemas against what the Invoiced sandbox returns: every record the tap emits is valid against its
stream's schema, every field the API sends is listed there (a field left out would reach no loader's table), and
every listed field says what it is."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest
from jsonschema import Draft7Validator
from tap_invoiced import schemas

from tests.tap_invoiced.conftest import STREAMS, InvoicedApi, sync, tap_config


def schema_of(stream: str) -> dict[str, Any]:
    return json.loads(resources.files(schemas).joinpath(f"{stream}.json").read_text())


def unlisted(value: Any, schema: dict[str, Any], path: str) -> Iterator[str]:
    """Paths of keys in `value` that its schema, where it lists its properties, does not list."""
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for entry in value:
            yield from unlisted(entry, schema["items"], f"{path}[]")
    elif isinstance(value, dict) and "properties" in schema:
        for name, entry in value.items():
            if name not in schema["properties"]:
                yield f"{path}.{name}"
            else:
                yield from unlisted(entry, schema["properties"][name], f"{path}.{name}")


def undescribed(schema: dict[str, Any], path: str) -> Iterator[str]:
    for name, part in (schema.get("properties") or {}).items():
        if not str(part.get("description") or "").strip():
            yield f"{path}.{name}"
        yield from undescribed(part, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from undescribed(schema["items"], f"{path}[]")


def test_every_record_the_tap_emits_is_valid_against_its_schema(seeded: InvoicedApi) -> None:
    result = sync(tap_config(seeded.url))
    for stream in STREAMS:
        validator = Draft7Validator(schema_of(stream))
        assert result.records[stream], f"the seed gave no {stream} to check"
        for record in result.records[stream]:
            errors = [f"{'.'.join(map(str, error.absolute_path))}: {error.message}"
                      for error in validator.iter_errors(record)]
            assert not errors, f"{stream} {record['id']}: {errors[:5]}"


def test_every_field_the_api_sends_is_in_the_schema(seeded: InvoicedApi) -> None:
    for stream, objects in seeded.truth().items():
        missing = sorted({path for found in objects for path in unlisted(found, schema_of(stream), stream)})
        assert not missing, f"fields the sandbox sends that the {stream} schema does not list: {missing}"


@pytest.mark.parametrize("stream", STREAMS)
def test_every_field_says_what_it_is(stream: str) -> None:
    assert list(undescribed(schema_of(stream), stream)) == []
