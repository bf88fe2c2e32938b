"""Settings are checked when a plugin starts, each problem naming its setting; numbers given as text are read."""

from __future__ import annotations

from typing import Any

import pytest
from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError
from sync_core.config import CheckedSettings


class CheckedTap(CheckedSettings, Tap):
    name = "tap-checked"
    config_jsonschema = th.PropertiesList(
        th.Property("api_url", th.URIType, examples=["https://crm.example.com"]),
        th.Property("start_date", th.DateTimeType),
        th.Property("page_size", th.IntegerType(minimum=1)),
        th.Property("request_timeout", th.NumberType(minimum=1)),
        th.Property("business_timezone", th.StringType),
        th.Property("label", th.StringType),
    ).to_dict()

    def discover_streams(self) -> list[Stream]:
        return []


def started(**config: Any) -> CheckedTap:
    return CheckedTap(config=config, validate_config=True)


def refusal(**config: Any) -> list[str]:
    with pytest.raises(ConfigValidationError) as refused:
        started(**config)
    return refused.value.errors


def test_numbers_given_as_text_are_read_as_numbers() -> None:
    tap = started(page_size="250", request_timeout="2.5", label="100")
    assert (tap.config["page_size"], tap.config["request_timeout"], tap.config["label"]) == (250, 2.5, "100")
    assert started(request_timeout="30").config["request_timeout"] == 30


@pytest.mark.parametrize(
    ("config", "said"),
    [
        ({"page_size": "0.5"}, "config['page_size'] is '0.5', not a whole number: write it as a whole number"),
        ({"page_size": "many"}, "config['page_size'] is 'many', not a whole number"),
        ({"request_timeout": "soon"}, "config['request_timeout'] is 'soon', not a number: write it as a number"),
        ({"request_timeout": "NaN"}, "config['request_timeout'] is 'NaN', not a number"),
        ({"start_date": "yesterday"}, "config['start_date'] is 'yesterday', not an ISO 8601 date and time: write it"),
        ({"start_date": "01/02/2026"}, "config['start_date'] is '01/02/2026', not an ISO 8601 date and time"),
        ({"start_date": "2026-13-01"}, "config['start_date'] is '2026-13-01', not an ISO 8601 date and time"),
        ({"start_date": "2026-01-02T10:00:00"}, "config['start_date'] is '2026-01-02T10:00:00', not an ISO 8601"),
        ({"start_date": "20260102"}, "config['start_date'] is '20260102', not an ISO 8601 date and time"),
        ({"api_url": "crm.example.com"}, "config['api_url'] is 'crm.example.com', not an http(s) URL: write the "
                                         "service's root, e.g. https://crm.example.com"),
        ({"api_url": "ftp://crm.example.com"}, "config['api_url'] is 'ftp://crm.example.com', not an http(s) URL"),
        ({"business_timezone": "Mars/Base"}, "config['business_timezone'] is 'Mars/Base', not an IANA time zone"),
    ],
)
def test_a_bad_setting_is_refused_by_name_with_how_to_write_it(config: dict[str, Any], said: str) -> None:
    errors = refusal(**config)
    assert len(errors) == 1, errors  # one word per setting: not the schema's "is not of type" besides
    assert errors[0].startswith(said), errors


def test_every_bad_setting_is_named_at_once_and_the_schema_still_speaks() -> None:
    errors = refusal(page_size="0.5", business_timezone="CET+1", label=7)
    assert [error.split(" is ")[0] for error in errors[:2]] == ["config['page_size']", "config['business_timezone']"]
    assert any("config['label']" in error for error in errors[2:]), errors  # 7 is not a string: the schema says so


@pytest.mark.parametrize(("given", "read"), [
    ("2026-01-31", "2026-01-31T00:00:00+00:00"),
    ("2026-01-31T10:15:00Z", "2026-01-31T10:15:00+00:00"),
    ("2026-01-31T10:15:00.250+01:00", "2026-01-31T10:15:00.250000+01:00"),
    ("2026-01-31T10:15+01:00", "2026-01-31T10:15:00+01:00"),
])
def test_a_start_date_is_read_in_one_form_a_bare_date_as_midnight_utc(given: str, read: str) -> None:
    assert started(start_date=given).config["start_date"] == read


def test_good_settings_pass() -> None:
    tap = started(api_url="http://127.0.0.1:8801", start_date="2026-01-31", business_timezone="Europe/Oslo",
                  page_size=10, request_timeout=1.5)
    assert tap.config["page_size"] == 10
