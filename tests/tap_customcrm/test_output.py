"""The tap's faster RECORD encoding writes exactly what the SDK's own writer would."""

from __future__ import annotations

import io
import re
from contextlib import redirect_stdout
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from singer_sdk.io_base import SingerWriter
from singer_sdk.singerlib.encoding.simple import RecordMessage
from tap_customcrm.output import RecordLineWriter
from tap_customcrm.tap import TapCustomcrm

from tests.tap_customcrm.conftest import CrmApi, tap_config

TIME_EXTRACTED = re.compile(r'"time_extracted":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00"')


class TapWithSdkWriter(TapCustomcrm):
    message_writer_class = SingerWriter


def _output(tap_class: type[TapCustomcrm], crm: CrmApi) -> list[str]:
    out = io.StringIO()
    with redirect_stdout(out):
        tap_class(config=tap_config(crm.url), parse_env_config=False).sync_all()
    return out.getvalue().splitlines()


def test_output_is_byte_for_byte_the_sdk_writers(crm: CrmApi) -> None:
    ours, sdks = _output(TapCustomcrm, crm), _output(TapWithSdkWriter, crm)

    records = [line for line in ours if line.startswith('{"type":"RECORD"')]
    assert len(records) > 100
    assert all(TIME_EXTRACTED.search(line) for line in records)
    assert TIME_EXTRACTED.sub("", "\n".join(ours)) == TIME_EXTRACTED.sub("", "\n".join(sdks))


@pytest.mark.parametrize(
    "message",
    [
        RecordMessage(stream="orders", record={"id": "ord_1", "notes": "Ærlig \u2028 \"x\""}, version=1_700_000_000),
        RecordMessage(
            stream="users",
            record={"id": "usr_1", "lines": [{"amount": "1.00"}], "external_ids": {}},
            time_extracted=datetime(2025, 3, 1, 10, 30, 12, 5, tzinfo=timezone(timedelta(hours=2))),
        ),
        # Not plain JSON: the SDK's own encoding takes over.
        RecordMessage(stream="products", record={"id": "prd_1", "unit_price": Decimal("99.10")}),
        RecordMessage(stream="products", record={"id": "prd_2", "weight": float("nan")}),
    ],
)
def test_every_record_line_shape_is_the_sdk_writers(message: RecordMessage) -> None:
    assert RecordLineWriter().serialize_message(message) == SingerWriter().serialize_message(message)
