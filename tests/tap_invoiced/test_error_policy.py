"""The error policy table: what is tolerated, retried or fatal (a pure function a target can reuse)."""

from __future__ import annotations

import random

import pytest
from sync_core.http.invoiced import classify
from sync_core.http.policy import MAX_RETRY_WAIT_SECONDS, Action, retry_waits


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (400, Action.FAIL),
        (401, Action.STOP),
        (402, Action.STOP),
        (403, Action.STOP),
        (404, Action.FAIL),
        (408, Action.RETRY),
        (409, Action.FAIL),
        (429, Action.RETRY),
        (500, Action.RETRY),
        (502, Action.RETRY),
        (503, Action.RETRY),
    ],
)
def test_status_to_action(status: int, action: Action) -> None:
    verdict = classify(status)
    assert verdict is not None
    assert verdict.action is action
    assert verdict.reason


def test_success_is_no_error() -> None:
    assert classify(200) is None
    assert classify(204) is None


def test_a_missing_parent_is_tolerated_only_where_expected() -> None:
    tolerated = classify(404, missing_ok=True)
    assert tolerated is not None
    assert tolerated.action is Action.TOLERATE
    assert classify(500, missing_ok=True).action is Action.RETRY  # type: ignore[union-attr]


def test_retry_waits_double_with_full_jitter_up_to_a_minute() -> None:
    random.seed(7)
    samples = []
    for _ in range(300):
        waits = retry_waits(1.0)
        assert next(waits) == 0.0  # `backoff` primes the generator before the first failure
        samples.append([next(waits) for _ in range(9)])
    for retry in range(9):
        drawn = [row[retry] for row in samples]
        ceiling = min(2.0**retry, MAX_RETRY_WAIT_SECONDS)
        assert all(0 <= wait <= ceiling for wait in drawn)
        # Full jitter: spread over the whole range, not clustered at the ceiling.
        assert min(drawn) < ceiling / 4 < ceiling * 3 / 4 < max(drawn)
