"""The taps' RECORD writer (sync_core.singer_output) writes the same JSON as the SDK's own writer, and flushes only
at the messages a target acts on."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from singer_sdk.io_base import SingerWriter
from singer_sdk.singerlib.encoding.simple import RecordMessage, StateMessage
from sync_core.singer_output import RecordWriter
from tap_customcrm.tap import TapCustomcrm

from tests.tap_customcrm.conftest import CrmApi, tap_config


class TapWithSdkWriter(TapCustomcrm):
    message_writer_class = SingerWriter


def _output(tap_class: type[TapCustomcrm], crm: CrmApi) -> list[dict[str, Any]]:
    out = io.StringIO()
    with redirect_stdout(out):
        tap_class(config=tap_config(crm.url), parse_env_config=False).sync_all()
    return [_comparable(line) for line in out.getvalue().splitlines()]


def _comparable(line: str) -> dict[str, Any]:
    """The message as a JSON reader sees it; the moment of extraction, which differs between two runs, as a flag."""
    message = json.loads(line, parse_float=Decimal)
    if "time_extracted" in message:
        message["time_extracted"] = datetime.fromisoformat(message["time_extracted"]).tzinfo is not None
    return message


def test_output_is_the_same_json_as_the_sdk_writers(crm: CrmApi) -> None:
    ours, sdks = _output(TapCustomcrm, crm), _output(TapWithSdkWriter, crm)

    assert len([m for m in ours if m["type"] == "RECORD"]) > 100
    assert ours == sdks


@pytest.mark.parametrize(
    "message",
    [
        RecordMessage(stream="orders", record={"id": "ord_1", "notes": "Ærlig \u2028 \"x\""}, version=1_700_000_000),
        RecordMessage(
            stream="users",
            record={"id": "usr_1", "lines": [{"amount": "1.00"}], "external_ids": {}},
            time_extracted=datetime(2025, 3, 1, 10, 30, 12, 5, tzinfo=timezone(timedelta(hours=2))),
        ),
        RecordMessage(stream="products", record={"id": "prd_1", "unit_price": Decimal("99.10")}),
    ],
)
def test_every_record_line_shape_is_the_sdk_writers_json(message: RecordMessage) -> None:
    ours = RecordWriter().format_message(message).decode()
    assert _comparable(ours) == _comparable(SingerWriter().format_message(message))


class Stdout(io.BytesIO):
    """A stdout that counts its flushes."""

    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0
        self.buffer = self

    def flush(self) -> None:
        self.flushes += 1


def test_records_are_not_flushed_one_by_one_but_every_state_is(monkeypatch: pytest.MonkeyPatch) -> None:
    out = Stdout()
    monkeypatch.setattr("sys.stdout", out)
    writer = RecordWriter()
    for n in range(3):
        writer.write_message(RecordMessage(stream="orders", record={"id": f"ord_{n}"}))
    assert out.flushes == 0
    writer.write_message(StateMessage(value={"bookmarks": {}}))
    assert out.flushes == 1
    assert [json.loads(line)["type"] for line in out.getvalue().splitlines()] == ["RECORD"] * 3 + ["STATE"]
