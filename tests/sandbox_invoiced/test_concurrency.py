"""The real limiter: at most 20 requests in flight per API key, the rest get 429 with no Retry-After."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.common.process import RunningSandbox
from tests.sandbox_invoiced.conftest import API_KEY, OTHER_KEY, Api, unique

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


@pytest.fixture(scope="module")
def file_sandbox(start_sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningSandbox, Path]]:
    db = tmp_path_factory.mktemp("invoiced") / "invoiced.db"
    with start_sandbox("invoiced", "--api-key", API_KEY, "--db", str(db)) as running:
        yield running, db


def test_a_write_that_waited_is_stamped_when_it_commits(file_sandbox: tuple[RunningSandbox, Path]) -> None:
    """updated_at never goes back: a PATCH queued behind another writer gets the time it commits at."""
    sandbox, db = file_sandbox
    api = Api(sandbox.url)
    customer = api.post("/customers", json={"name": unique("Queued")}).json()
    # Another writer holds SQLite's write lock, so the PATCH waits inside the sandbox.
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    answer: list[requests.Response] = []
    patch = threading.Thread(
        target=lambda: answer.append(api.patch(f"/customers/{customer['id']}", json={"city": "Oslo"}))
    )
    patch.start()
    time.sleep(0.3)  # the PATCH has arrived and is waiting (if not, the check below cannot fail wrongly)
    waiting_since = int(time.time())
    while int(time.time()) == waiting_since:
        time.sleep(0.05)
    released_at = int(time.time())
    blocker.execute("ROLLBACK")
    blocker.close()
    patch.join()
    assert answer[0].status_code == 200, answer[0].text
    assert answer[0].json()["updated_at"] >= released_at


def test_concurrent_creates_get_distinct_numbers_and_patches_stay_whole(sandbox: RunningSandbox) -> None:
    api = Api(sandbox.url)
    created: list[dict[str, Any]] = []
    threads = [
        threading.Thread(target=lambda: created.append(api.post("/customers", json={"name": unique("Race")}).json()))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({c["number"] for c in created}) == len({c["id"] for c in created}) == 8

    # Each PATCH sets two fields together; whatever order they land in, no mix of two PATCHes survives.
    target = created[0]["id"]
    pairs = [(f"City {n}", f"Street {n}") for n in range(8)]
    threads = [
        threading.Thread(target=api.patch, args=(f"/customers/{target}",), kwargs={"json": {"city": c, "address1": a}})
        for c, a in pairs
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    final = api.get(f"/customers/{target}").json()
    assert (final["city"], final["address1"]) in pairs
