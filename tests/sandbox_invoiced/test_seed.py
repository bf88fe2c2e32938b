"""Seeding: realistic, deterministic per seed, proportional, and only into an empty database."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.common.process import RunningSandbox
from tests.sandbox_invoiced.conftest import API_KEY, SEEDED_CUSTOMERS, Api


def everything(api: Api, path: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    page = 1
    while True:
        response = api.get(path, params={"page": page})
        found.extend(response.json())
        if 'rel="next"' not in response.headers["Link"]:
            return found
        page += 1


@pytest.fixture(scope="module")
def twin(start_sandbox: Any) -> Iterator[RunningSandbox]:
    """Same arguments as the session's `seeded` sandbox."""
    with start_sandbox(
        "invoiced", "--api-key", API_KEY, "--seed-customers", str(SEEDED_CUSTOMERS), "--seed", "7"
    ) as running:
        yield running


def test_same_seed_same_data(seeded: RunningSandbox, twin: RunningSandbox) -> None:
    first, second = Api(seeded.url), Api(twin.url)
    for path in ("/customers", "/invoices", "/items", "/events", "/customers/5/contacts"):
        assert everything(first, path) == everything(second, path), path


def test_another_seed_other_data(start_sandbox: Any, seeded: RunningSandbox) -> None:
    with start_sandbox("invoiced", "--api-key", API_KEY, "--seed-customers", "20", "--seed", "8") as other:
        theirs = Api(other.url).get("/customers", params={"per_page": 20}).json()
    ours = Api(seeded.url).get("/customers", params={"per_page": 20}).json()
    assert [c["name"] for c in theirs] != [c["name"] for c in ours]


def test_seeded_data_is_proportional_and_varied(seeded: RunningSandbox) -> None:
    api = Api(seeded.url)
    assert api.total("/customers") == SEEDED_CUSTOMERS
    assert api.total("/items") == SEEDED_CUSTOMERS // 5
    invoices = everything(api, "/invoices")
    assert 1.5 * SEEDED_CUSTOMERS <= len(invoices) <= 2.5 * SEEDED_CUSTOMERS
    statuses = Counter(i["status"] for i in invoices)
    assert {"draft", "paid", "voided"} <= set(statuses)
    assert statuses.keys() & {"not_sent", "sent", "past_due"}
    assert all(1 <= len(i["items"]) <= 6 for i in invoices)
    assert all(i["total"] == round(sum(line["amount"] for line in i["items"]), 2) for i in invoices)
    customers = everything(api, "/customers")
    assert sum(1 for c in customers if c["metadata"]) >= SEEDED_CUSTOMERS // 4
    assert len({c["currency"] for c in customers}) > 2
    assert api.total("/customers/1/contacts") >= 1
    created = Counter(e["type"] for e in everything(api, "/events"))
    assert created["customer.created"] == SEEDED_CUSTOMERS
    assert created["invoice.created"] == len(invoices)
    assert created["invoice.updated"] == statuses["voided"]


def test_a_database_file_is_seeded_once_and_kept(start_sandbox: Any, tmp_path: Path) -> None:
    db = str(tmp_path / "invoiced.db")
    args = ("--api-key", API_KEY, "--db", db, "--seed-customers", "5")
    with start_sandbox("invoiced", *args) as first:
        api = Api(first.url)
        api.post("/customers", json={"name": "Added by hand"})
        before = everything(api, "/customers")
    with start_sandbox("invoiced", *args) as second:
        assert everything(Api(second.url), "/customers") == before
    assert len(before) == 6
