"""The real limiter: at most 20 requests in flight per API key, the rest get 429 with no Retry-After."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sandbox.common.process import RunningSandbox
from tests.sandbox_invoiced.conftest import API_KEY, OTHER_KEY

RATE_LIMITED = {
    "type": "rate_limit_error",
    "message": "Too many concurrent requests! You can only make 20 concurrent requests at a time.",
}


@pytest.fixture(scope="module")
def slow_sandbox(start_sandbox: Any) -> Iterator[RunningSandbox]:
    # 1.5 s of injected latency is held inside admission, so a burst surely overlaps.
    with start_sandbox(
        "invoiced", "--api-key", API_KEY, "--api-key", OTHER_KEY, "--fault-latency-ms", "1500"
    ) as running:
        yield running


def burst(url: str, keys: list[str]) -> list[requests.Response]:
    barrier = threading.Barrier(len(keys))
    answers: list[requests.Response | None] = [None] * len(keys)

    def one(index: int, key: str) -> None:
        barrier.wait()
        answers[index] = requests.get(url + "/customers", auth=(key, ""), timeout=30)

    threads = [threading.Thread(target=one, args=(i, key)) for i, key in enumerate(keys)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(answer is not None for answer in answers)
    return [answer for answer in answers if answer is not None]


def test_more_than_twenty_in_flight_are_refused(slow_sandbox: RunningSandbox) -> None:
    answers = burst(slow_sandbox.url, [API_KEY] * 25 + [OTHER_KEY] * 3)
    mine, theirs = answers[:25], answers[25:]
    ok = [a for a in mine if a.status_code == 200]
    limited = [a for a in mine if a.status_code == 429]
    assert len(ok) + len(limited) == 25
    assert 1 <= len(ok) <= 20
    assert len(limited) >= 5
    for answer in limited:
        assert answer.json() == RATE_LIMITED
        assert "Retry-After" not in answer.headers
        assert not any(name.lower().startswith("x-ratelimit") for name in answer.headers)
    # The limit is per key: another key's requests are not counted against it.
    assert [a.status_code for a in theirs] == [200, 200, 200]


def test_slots_are_released_after_the_burst(slow_sandbox: RunningSandbox) -> None:
    burst(slow_sandbox.url, [API_KEY] * 22)
    again = burst(slow_sandbox.url, [API_KEY] * 20)
    assert [a.status_code for a in again] == [200] * 20
