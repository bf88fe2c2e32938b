"""Retries under the service's injected 500s, 429s and dropped connections: every record exactly once."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from singer_sdk.exceptions import RetriableAPIError

from tests.tap_customcrm.conftest import COLLECTIONS, SEED_CUSTOMERS, TOKEN, CrmApi, sync, tap_config

TAP = str(Path(sys.executable).with_name("tap-customcrm"))
WAIT = re.compile(r"\| (.*); retry \d+ of \d+ in ([0-9.]+) s$")
FAULTS = ("--fault-error-rate", "0.15", "--fault-rate-limit-rate", "0.02", "--fault-drop-rate", "0.1")


@pytest.fixture(scope="module")
def flaky_crm(start_sandbox: Callable[..., Any]) -> Iterator[CrmApi]:
    args = ("--token", TOKEN, "--seed-customers", str(SEED_CUSTOMERS), "--seed", "11", *FAULTS, "--fault-seed", "5")
    with start_sandbox("customcrm", *args) as sb:
        yield CrmApi(sb.url)


def test_every_record_exactly_once_through_injected_faults(flaky_crm: CrmApi, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(tap_config(flaky_crm.url, page_size=10, max_retries=10)))

    run = subprocess.run([TAP, "--config", str(config)], capture_output=True, text=True, timeout=300, check=False)

    assert run.returncode == 0, run.stderr[-3000:]
    messages = [json.loads(line) for line in run.stdout.splitlines()]
    retries = [m for m in map(WAIT.search, run.stderr.splitlines()) if m]
    failures = " ".join(m.group(1) for m in retries)
    kinds = {kind for kind in ("-> 500 internal_error", "-> 429 rate_limited", "ConnectionError") if kind in failures}
    assert len(kinds) == 3, f"precondition: every kind of fault should strike; saw {kinds} in {len(retries)} retries"
    waits = [(float(m.group(2)), m.group(1)) for m in retries]
    # The service's Retry-After (1 s) is honoured; other failures wait the configured sub-second backoff.
    assert all(wait >= 1.0 for wait, failure in waits if "429" in failure)
    assert all(wait < 1.0 for wait, failure in waits if "429" not in failure)
    for stream in COLLECTIONS:
        emitted = [
            (m["record"]["id"], m["record"]["version"])
            for m in messages
            if m.get("stream") == stream and m["type"] == "RECORD"
        ]
        assert emitted == [(r["id"], r["version"]) for r in flaky_crm.walk(stream)], stream
    assert TOKEN not in run.stdout + run.stderr


def test_a_fault_that_outlasts_the_retries_fails_with_the_servers_answer(start_sandbox: Callable[..., Any]) -> None:
    failing = start_sandbox("customcrm", "--token", TOKEN, "--fault-error-rate", "1")
    with failing as sb, pytest.raises(RetriableAPIError) as failure:
        sync(tap_config(sb.url, max_retries=2))
    message = str(failure.value)
    assert message.startswith("GET /v1/users -> 500 internal_error: "), message
    assert "safe to retry" in message  # the server's own words
    assert TOKEN not in message

