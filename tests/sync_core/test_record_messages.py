"""A tap's RECORD messages: the short path taken when the catalog deselects nothing gives what the SDK's own gives.

sync_core.http.stream.HTTPRulesStream skips the SDK's per-record selection walk when it could pop nothing. These tests
build each tap in-process (no request is made) and hold the two paths to the same messages, so an SDK upgrade that
changes its path shows here; and a catalog that deselects a property still has it popped."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from singer_sdk import Stream, Tap
from singer_sdk.streams import RESTStream
from tap_customcrm.tap import TapCustomcrm
from tap_invoiced.tap import TapInvoiced

CONFIGS: dict[type[Tap], dict[str, Any]] = {
    TapCustomcrm: {"api_url": "http://127.0.0.1:9", "api_token": "t0ken-for-no-server"},
    TapInvoiced: {"api_url": "http://127.0.0.1:9", "api_key": "sk_for_no_server"},
}


def sample(stream: Stream) -> dict[str, Any]:
    """A record with every property of the stream's schema, nested objects holding a key the schema does not list."""
    record: dict[str, Any] = {}
    for name, schema in stream.schema["properties"].items():
        types = schema.get("type", [])
        types = [types] if isinstance(types, str) else types
        if "object" in types:
            record[name] = {"not_in_the_schema": {"deeper": 1}, "x": "y"}
        elif "array" in types:
            record[name] = [{"id": "line_1", "amount": "1.50"}]
        elif "integer" in types or "number" in types:
            record[name] = 7
        elif "boolean" in types:
            record[name] = True
        else:
            record[name] = f"{name} text"
    return record


def messages(stream: Stream, record: dict[str, Any], *, sdk: bool) -> list[dict[str, Any]]:
    generate = RESTStream._generate_record_messages if sdk else type(stream)._generate_record_messages
    made = [message.to_dict() for message in generate(stream, copy.deepcopy(record))]
    for message in made:
        assert message.pop("time_extracted")
    return made


def tap(tap_class: type[Tap], **config: Any) -> Tap:
    return tap_class(config={**CONFIGS[tap_class], **config}, parse_env_config=False, validate_config=True)


@pytest.mark.parametrize("tap_class", list(CONFIGS), ids=lambda cls: cls.name)
def test_with_every_property_selected_both_paths_write_the_same_messages(tap_class: type[Tap]) -> None:
    for stream in tap(tap_class).streams.values():
        record = sample(stream)
        assert not stream._deselects_a_property  # the short path is the one taken

        assert messages(stream, record, sdk=False) == messages(stream, record, sdk=True), stream.name


@pytest.mark.parametrize("tap_class", list(CONFIGS), ids=lambda cls: cls.name)
def test_stream_maps_apply_on_the_short_path(tap_class: type[Tap]) -> None:
    stream_name = "customers"
    built = tap(tap_class, stream_maps={stream_name: {"__alias__": "clients", "updated_at": None, "label": "'fixed'"}})
    stream = built.streams[stream_name]

    [message] = messages(stream, sample(stream), sdk=False)

    assert message["stream"] == "clients"
    assert "updated_at" not in message["record"]
    assert message["record"]["label"] == "fixed"


@pytest.mark.parametrize("tap_class", list(CONFIGS), ids=lambda cls: cls.name)
def test_a_deselected_property_is_still_left_out(tap_class: type[Tap]) -> None:
    catalog = tap(tap_class).catalog_dict
    [entry] = [e for e in catalog["streams"] if e["tap_stream_id"] == "customers"]
    for metadata in entry["metadata"]:
        if metadata["breadcrumb"] == ["properties", "name"]:
            metadata["metadata"]["selected"] = False
        if not metadata["breadcrumb"]:
            metadata["metadata"]["selected"] = True
    stream = tap_class(config=CONFIGS[tap_class], catalog=catalog, parse_env_config=False).streams["customers"]

    [message] = messages(stream, sample(stream), sdk=False)

    assert "name" not in message["record"]
    assert "id" in message["record"]
