"""Pace: at most max_in_flight requests at once, 429s waited out without failing a record, and a first sync
that reads Invoiced's list once instead of looking each record up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SandboxStarter
from tests.target_invoiced.conftest import CUSTOMCRM_TOKEN, INVOICED_KEY, Systems


@pytest.fixture
def pair(tmp_path: Path, start_sandbox: SandboxStarter, request: pytest.FixtureRequest) -> Iterator[Systems]:
    faults = request.param
    with (
        start_sandbox("customcrm", "--token", CUSTOMCRM_TOKEN, "--seed-customers", "60", "--seed", "21") as crm,
        start_sandbox("invoiced", "--api-key", INVOICED_KEY, "--verbose", *faults) as invoiced,
    ):
        yield Systems(crm, invoiced, tmp_path)


@pytest.mark.parametrize("pair", [["--fault-latency-ms", "30"]], indirect=True)
def test_twenty_in_flight_never_meets_invoiceds_limit_and_a_first_sync_lists_once(pair: Systems) -> None:
    run = pair.sync(max_in_flight=20)

    assert " 429 " not in pair.invoiced.log()
    created = run.summary["total"]["created"]
    refused = [r for r in pair.rejects() if r["answer"]]  # POSTs Invoiced refused (inactive customers)
    assert created + len(refused) == len(run.writes)
    # Each stream with many unlinked records is matched against one full list read, not one look-up per record.
    lookups = [line for line in pair.invoiced.log().splitlines() if "metadata%5Bcustomcrm_id%5D" in line]
    assert len(lookups) < 15  # sales reps (one each) and the few stragglers of small batches
    assert run.requests <= len(run.writes) * 1.05 + 20


@pytest.mark.parametrize("pair", [["--fault-rate-limit-rate", "0.3", "--fault-seed", "3"]], indirect=True)
def test_rate_limits_slow_the_run_down_but_fail_no_record(pair: Systems) -> None:
    run = pair.sync(max_retries=1, max_in_flight=8)

    assert " 429 " in pair.invoiced.log()
    assert "rate limits do not count against max_retries" in run.log
    assert pair.rejects() == [] or all("inactive" in r["reason"] for r in pair.rejects())
    assert run.summary["total"]["created"] > 60
