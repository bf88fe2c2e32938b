"""Fixtures for tap-invoiced: the Invoiced sandbox as a real process, a plain API client, the tap in-process."""

from __future__ import annotations

import copy
import io
import json
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests
from tap_invoiced.tap import TapInvoiced

KEY = "sk_test_tapinvoiced_5f2a91c04d"
STREAMS = ("customers", "contacts", "invoices", "items")
SEED_CUSTOMERS = 30


@dataclass
class InvoicedApi:
    """A plain requests client for the sandbox: the test's own view of the truth, and its edits."""

    url: str
    log: Callable[[], str] = str  # the sandbox's request log, when started with --verbose
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.session.auth = (KEY, "")

    def all(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every object of a list, page by page (nothing edits the sandbox while the truth is read)."""
        rows: list[dict[str, Any]] = []
        page = 1
        while True:
            response = self._get_retrying(path, {**params, "per_page": 100, "page": page})
            rows.extend(response.json())
            if 'rel="next"' not in response.headers.get("Link", ""):
                return rows
            page += 1

    def contacts(self) -> list[dict[str, Any]]:
        return [c for customer in self.all("/customers") for c in self.all(f"/customers/{customer['id']}/contacts")]

    def items(self) -> list[dict[str, Any]]:
        return self.all("/items") + self.all("/items", archived=1)

    def truth(self) -> dict[str, list[dict[str, Any]]]:
        return {
            "customers": self.all("/customers"),
            "contacts": self.contacts(),
            "invoices": self.all("/invoices"),
            "items": self.items(),
        }

    def _get_retrying(self, path: str, params: dict[str, Any]) -> requests.Response:
        """GET through injected faults: the truth must not depend on the tap's own retry logic."""
        for _ in range(100):
            try:
                response = self.session.get(self.url + path, params=params, timeout=30)
            except requests.ConnectionError:
                continue
            if response.status_code not in (429, 500):
                response.raise_for_status()
                return response
        msg = f"GET {path} kept failing"
        raise RuntimeError(msg)

    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.session.post(self.url + path, json=body, timeout=30)
        response.raise_for_status()
        return response.json()

    def patch(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.session.patch(self.url + path, json=body, timeout=30)
        response.raise_for_status()
        return response.json()

    def delete(self, path: str) -> None:
        self.session.delete(self.url + path, timeout=30).raise_for_status()


@dataclass
class SyncResult:
    records: dict[str, list[dict[str, Any]]]
    state: dict[str, Any]

    def ids(self, stream: str) -> list[Any]:
        return [record["id"] for record in self.records[stream]]

    def by_id(self, stream: str) -> dict[Any, dict[str, Any]]:
        """The last record emitted per id (what a target keeping the newest would hold)."""
        return {record["id"]: record for record in self.records[stream]}


def tap_config(url: str, **overrides: Any) -> dict[str, Any]:
    return {"api_url": url, "api_key": KEY, "retry_wait_seconds": 0.01, **overrides}


def sync(
    config: dict[str, Any], state: dict[str, Any] | None = None, *, meanwhile: Callable[[], None] | None = None
) -> SyncResult:
    """Run the tap in-process over the whole catalog and collect what it wrote to stdout.

    `meanwhile` runs after the tap has started (and taken its start time) but before it reads anything.
    """
    # The SDK updates the state it is given in place; a copy keeps each earlier result as it was.
    tap = TapInvoiced(config=config, state=copy.deepcopy(state), parse_env_config=False, validate_config=True)
    if meanwhile is not None:
        meanwhile()
    out = io.StringIO()
    with redirect_stdout(out):
        tap.sync_all()
    records: dict[str, list[dict[str, Any]]] = defaultdict(list)
    final_state: dict[str, Any] = state or {}
    for line in out.getvalue().splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            records[message["stream"]].append(message["record"])
        elif message["type"] == "STATE":
            final_state = message["value"]
    return SyncResult(records=records, state=final_state)


def next_second() -> None:
    """Sleep into a fresh whole second, so that what follows shares the second or is past it."""
    time.sleep(1.02 - time.time() % 1)


@pytest.fixture(scope="session")
def seeded(start_sandbox: Callable[..., Any]) -> Iterator[InvoicedApi]:
    """A seeded sandbox nobody edits: for the standard tests and the CLI tests."""
    with start_sandbox("invoiced", "--api-key", KEY, "--seed-customers", str(SEED_CUSTOMERS), "--seed", "5") as sb:
        api = InvoicedApi(sb.url)
        # The seed sets no credit limit; one customer gets one, so the standard tests check that money
        # arrives as decimal text rather than finding no value to check.
        api.patch("/customers/1", {"credit_limit": "2500.50"})
        yield api


@pytest.fixture(scope="module")
def invoiced(start_sandbox: Callable[..., Any]) -> Iterator[InvoicedApi]:
    """A seeded sandbox for one test module that edits records; its request log is kept."""
    args = ("--api-key", KEY, "--seed-customers", str(SEED_CUSTOMERS), "--seed", "9", "--verbose")
    with start_sandbox("invoiced", *args) as sb:
        yield InvoicedApi(sb.url, log=sb.log)


def wait_until_logged(log: Callable[[], str], pattern: re.Pattern[str], timeout: float = 60) -> None:
    """Block until the sandbox's request log shows `pattern` (for a thread that acts in the middle of a run)."""
    deadline = time.monotonic() + timeout
    while not pattern.search(log()) and time.monotonic() < deadline:
        time.sleep(0.005)


def pages_out_of_order(log: str) -> list[str]:
    """Requests real Invoiced refuses once the offset reaches 10 000: a page after the first under a lone
    primary-key sort (explicit, or the default when `sort` is absent), unless the page before it was read
    first (Invoiced pages such lists by a cursor it caches from the previous page)."""
    fetched: set[tuple[str, int]] = set()
    refused: list[str] = []
    for target in re.findall(r'"GET (\S+) HTTP/1\.1" 200', log):
        parts = urlsplit(target)
        query = parse_qsl(parts.query)
        page = int(dict(query).get("page", 1))
        same_list = parts.path + "?" + urlencode(sorted((k, v) for k, v in query if k != "page"))
        lone_id_sort = dict(query).get("sort", "id asc") in ("id asc", "id desc")
        if lone_id_sort and page > 1 and (same_list, page - 1) not in fetched:
            refused.append(target)
        fetched.add((same_list, page))
    return refused
