"""Fixtures for tap-customcrm: Customcrm services as real processes, a plain API client, and the tap run in-process."""

from __future__ import annotations

import io
import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from tap_customcrm.tap import TapCustomcrm

TOKEN = "crm-test-token-7c1e9a"
COLLECTIONS = ("customers", "products", "orders", "users")
SEED_CUSTOMERS = 40  # -> 2 users, 10 products, 40 customers, 80 orders


@dataclass
class CrmApi:
    """A plain requests client for the Customcrm service: the test's own view of the truth."""

    url: str
    token: str = TOKEN
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.session.headers["Authorization"] = f"Bearer {self.token}"

    def walk(self, collection: str, **params: Any) -> list[dict[str, Any]]:
        """Every record of a collection, deleted ones included, in the API's order."""
        records: list[dict[str, Any]] = []
        query: dict[str, Any] = {"limit": 1000, "include_deleted": "true", **params}
        while True:
            body = self._get_retrying(f"{self.url}/v1/{collection}", query)
            records.extend(body["data"])
            if not body["next_cursor"]:
                return records
            query["cursor"] = body["next_cursor"]

    def _get_retrying(self, url: str, params: dict[str, Any]) -> dict[str, Any]:
        """GET through injected faults: the test's truth must not depend on the tap's retry logic."""
        for _ in range(50):
            try:
                response = self.session.get(url, params=params, timeout=30)
            except requests.ConnectionError:
                continue
            if response.status_code not in (429, 500):
                response.raise_for_status()
                return response.json()
        msg = f"GET {url} kept failing"
        raise RuntimeError(msg)

    def patch(self, collection: str, record_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        response = self.session.patch(f"{self.url}/v1/{collection}/{record_id}", json=changes, timeout=30)
        response.raise_for_status()
        return response.json()

    def delete(self, collection: str, record_id: str) -> dict[str, Any]:
        """Soft-delete and return the tombstone as the API now shows it."""
        response = self.session.delete(f"{self.url}/v1/{collection}/{record_id}", timeout=30)
        response.raise_for_status()
        return self.get(collection, record_id)

    def get(self, collection: str, record_id: str) -> dict[str, Any]:
        response = self.session.get(f"{self.url}/v1/{collection}/{record_id}", timeout=30)
        response.raise_for_status()
        return response.json()


@dataclass
class SyncResult:
    records: dict[str, list[dict[str, Any]]]
    state: dict[str, Any]
    messages: list[dict[str, Any]]

    def keys(self, stream: str) -> list[tuple[str, int]]:
        return [(r["id"], r["version"]) for r in self.records[stream]]


def tap_config(url: str, **overrides: Any) -> dict[str, Any]:
    return {"api_url": url, "api_token": TOKEN, "retry_wait_seconds": 0.01, **overrides}


def sync(config: dict[str, Any], state: dict[str, Any] | None = None) -> SyncResult:
    """Run the tap in-process over the whole catalog and collect what it wrote to stdout."""
    tap = TapCustomcrm(config=config, state=state, parse_env_config=False, validate_config=True)
    out = io.StringIO()
    with redirect_stdout(out):
        tap.sync_all()
    records: dict[str, list[dict[str, Any]]] = defaultdict(list)
    messages = [json.loads(line) for line in out.getvalue().splitlines() if line]
    final_state: dict[str, Any] = state or {}
    for message in messages:
        if message["type"] == "RECORD":
            # A tombstone is marked under the SDK's name too; the rest is compared with the API's own records.
            record = dict(message["record"])
            assert record.pop("_sdc_deleted_at") == record["deleted_at"], record
            records[message["stream"]].append(record)
        elif message["type"] == "STATE":
            final_state = message["value"]
    return SyncResult(records=records, state=final_state, messages=messages)


@pytest.fixture(scope="module")
def crm(start_sandbox: Callable[..., Any]) -> Iterator[CrmApi]:
    """A seeded Customcrm service for one test module (modules that edit records get their own)."""
    with start_sandbox("customcrm", "--token", TOKEN, "--seed-customers", str(SEED_CUSTOMERS), "--seed", "11") as sb:
        yield CrmApi(sb.url)
