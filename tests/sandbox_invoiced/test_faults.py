"""Injected faults: 500s, 429s, dropped connections and ambiguous writes, from a seeded RNG."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import invoiced
import pytest
import requests

from sandbox.common.process import RunningSandbox
from tests.sandbox_invoiced.conftest import API_KEY, official_client, unique

FAULT_ARGS = (
    "--fault-error-rate", "0.2",
    "--fault-rate-limit-rate", "0.2",
    "--fault-drop-rate", "0.2",
    "--fault-ambiguous-write-rate", "0.5",
    "--fault-seed", "11",
)
Outcome = tuple[Any, ...]


def outcome(send: Callable[[], requests.Response]) -> Outcome:
    """What the client saw: ('drop',) or (status, body, headers)."""
    try:
        response = send()
    except requests.ConnectionError:
        return ("drop",)
    return (response.status_code, response.json() if response.content else None, dict(response.headers))


def get(url: str, path: str) -> Outcome:
    # A fresh connection per request, so one drop cannot disturb the next request.
    return outcome(lambda: requests.get(url + path, auth=(API_KEY, ""), timeout=30))


def until_ok(url: str, path: str) -> Any:
    for _ in range(60):
        answer = get(url, path)
        if answer[0] == 200:
            return answer[1]
    raise AssertionError(f"GET {path} never succeeded through the faults")


@pytest.fixture(scope="module")
def fault_pair(start_sandbox: Any) -> Iterator[tuple[RunningSandbox, list[Outcome], list[Outcome]]]:
    """Two sandboxes with the same fault seed, each asked the same 60 GETs right after start."""
    with (
        start_sandbox("invoiced", "--api-key", API_KEY, *FAULT_ARGS) as first,
        start_sandbox("invoiced", "--api-key", API_KEY, *FAULT_ARGS) as second,
    ):
        sequences = [[get(s.url, "/customers") for _ in range(60)] for s in (first, second)]
        yield first, sequences[0], sequences[1]


def kinds(sequence: list[Outcome]) -> list[Any]:
    return [answer[0] for answer in sequence]


def test_same_seed_same_fault_sequence(fault_pair: Any) -> None:
    _, first, second = fault_pair
    assert kinds(first) == kinds(second)
    assert len(set(kinds(first))) == 4  # 200, 500, 429 and drops all occur, so the match means something


def test_each_request_fault_is_rendered_like_invoiced(fault_pair: Any) -> None:
    _, sequence, _ = fault_pair
    counts = Counter(kinds(sequence))
    assert counts[500] >= 3
    assert counts[429] >= 3
    assert counts["drop"] >= 3
    assert counts[200] >= 10
    for answer in sequence:
        if answer[0] == 500:
            assert answer[1]["type"] == "api_error"
            assert "Correlation ID: " in answer[1]["message"]
        elif answer[0] == 429:
            assert answer[1] == {
                "type": "rate_limit_error",
                "message": "Too many concurrent requests! You can only make 20 concurrent requests at a time.",
            }
            assert "Retry-After" not in answer[2]
        if answer[0] != "drop":
            assert answer[2]["Content-Type"] == "application/json"


def test_the_official_client_sees_each_fault_as_its_error(fault_pair: Any) -> None:
    client = official_client(fault_pair[0].url)
    seen: set[type] = set()
    for _ in range(40):
        try:
            client.Customer.list()
            seen.add(type(None))
        except (invoiced.errors.ApiError, invoiced.errors.RateLimitError, invoiced.errors.ApiConnectionError) as exc:
            seen.add(type(exc))
    assert seen == {
        type(None), invoiced.errors.ApiError, invoiced.errors.RateLimitError, invoiced.errors.ApiConnectionError,
    }


def test_ambiguous_writes_commit_and_idempotent_retries_do_not_duplicate(fault_pair: Any) -> None:
    url = fault_pair[0].url
    committed_unanswered = dropped_unwritten = 0
    for _ in range(25):
        name = unique("Ambiguous")
        key = str(uuid.uuid4())

        def post(name: str = name, key: str = key) -> Outcome:
            return outcome(
                lambda: requests.post(
                    url + "/customers", json={"name": name}, auth=(API_KEY, ""),
                    headers={"Idempotency-Key": key}, timeout=30,
                )
            )

        first = post()
        if first[0] != "drop":
            continue
        written = until_ok(url, f"/customers?filter[name]={name}")
        if written:
            committed_unanswered += 1
        else:
            dropped_unwritten += 1
        retry = next((answer for answer in (post() for _ in range(60)) if answer[0] == 201), None)
        assert retry is not None, "the idempotent retry never got through the faults"
        # The retry with the same key answers the write that already happened instead of a second one.
        final = until_ok(url, f"/customers?filter[name]={name}")
        assert [c["id"] for c in final] == [retry[1]["id"]]
        if written:
            assert written[0]["id"] == retry[1]["id"]
    assert committed_unanswered >= 2
    assert dropped_unwritten >= 2
