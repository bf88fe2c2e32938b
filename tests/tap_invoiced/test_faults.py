"""Retries under the sandbox's injected 500s, 429s and dropped connections; the sync still returns it all once."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from singer_sdk.exceptions import RetriableAPIError

from tests.tap_invoiced.conftest import KEY, STREAMS, InvoicedApi, sync, tap_config

FAULTS = ("--fault-error-rate", "0.15", "--fault-rate-limit-rate", "0.1", "--fault-drop-rate", "0.1")


@pytest.fixture(scope="module")
def flaky(start_sandbox: Callable[..., Any]) -> Iterator[InvoicedApi]:
    args = ("--api-key", KEY, "--seed-customers", "30", "--seed", "5", *FAULTS, "--fault-seed", "3")
    with start_sandbox("invoiced", *args) as sb:
        yield InvoicedApi(sb.url)


def test_sync_through_faults_returns_every_record_exactly_once(
    flaky: InvoicedApi, caplog: pytest.LogCaptureFixture
) -> None:
    truth = flaky.truth()
    with caplog.at_level(logging.WARNING):
        result = sync(tap_config(flaky.url, per_page=10, max_retries=12))

    retries = [r.getMessage() for r in caplog.records if "; retry " in r.getMessage()]
    assert any("500" in m for m in retries), "no injected 500 was retried"
    assert any("429" in m for m in retries), "no injected 429 was retried"
    assert any("ConnectionError" in m for m in retries), "no dropped connection was retried"
    for stream in STREAMS:
        assert sorted(result.ids(stream)) == sorted(row["id"] for row in truth[stream]), stream


def test_retries_give_up_with_the_servers_answer(start_sandbox: Callable[..., Any]) -> None:
    with (
        start_sandbox("invoiced", "--api-key", KEY, "--fault-error-rate", "1") as sb,
        pytest.raises(RetriableAPIError) as failure,
    ):
        sync(tap_config(sb.url, max_retries=2))
    message = str(failure.value)
    assert message.startswith("GET /")
    assert "-> 500 api_error: There was an error processing your request" in message
    assert message.endswith("-- Invoiced had an internal error, usually transient")
    assert KEY not in message
