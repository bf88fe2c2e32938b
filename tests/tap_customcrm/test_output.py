"""The tap's faster RECORD encoding writes exactly what the SDK's own writer would."""

from __future__ import annotations

import io
import re
from contextlib import redirect_stdout

from singer_sdk.io_base import SingerWriter
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
