"""The service as a process: deterministic seeding, state kept in its database file, and injected faults
rendered in the contract's error format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import SandboxStarter
from tests.sandbox_customcrm.conftest import SEED_CUSTOMERS, TOKEN, Api

VOLATILE = ("created_at", "updated_at")


def snapshot(api: Api) -> dict[str, list[dict[str, Any]]]:
    """Every record of every collection, without the wall-clock timestamps."""
    return {
        c: [{k: v for k, v in r.items() if k not in VOLATILE} for r in api.walk(c, limit=1000)]
        for c in ("users", "products", "customers", "orders")
    }


def test_the_same_seed_gives_the_same_data_and_the_database_file_keeps_it(
    start_sandbox: SandboxStarter, tmp_path: Path
) -> None:
    db = str(tmp_path / "crm.db")
    args = ("--token", TOKEN, "--seed-customers", "12", "--seed", "5")
    with start_sandbox("customcrm", *args, "--db", db) as first:
        seeded = snapshot(Api(first.url))
        Api(first.url).patch("/v1/customers/cus_1", {"notes": "kept across restarts"})
        Api(first.url).delete("/v1/products/prd_2")
        first_page = Api(first.url).get("/v1/orders", limit=5).json()
    with start_sandbox("customcrm", *args) as second:
        assert snapshot(Api(second.url)) == seeded
    with start_sandbox("customcrm", *args[:-1], "6") as other:
        assert snapshot(Api(other.url))["customers"] != seeded["customers"]
    with start_sandbox("customcrm", *args, "--db", db) as restarted:
        api = Api(restarted.url)
        assert api.get("/v1/customers/cus_1").json()["notes"] == "kept across restarts"
        assert len(api.walk("customers")) == 12, "a database that holds data is not seeded again"
        rest = api.walk("orders", limit=5, cursor=first_page["next_cursor"])
        assert [o["id"] for o in first_page["data"] + rest] == [o["id"] for o in seeded["orders"]], (
            "a cursor outlives a restart"
        )
        tombstones = [p["id"] for p in api.walk("products", include_deleted="true") if p["deleted_at"]]
        assert tombstones == ["prd_2"], "a tombstone outlives a restart"

    assert [len(seeded[c]) for c in ("users", "products", "customers", "orders")] == [3, 5, 12, 24]
    users = {u["id"] for u in seeded["users"]}
    customers = {c["id"] for c in seeded["customers"]}
    for order in seeded["orders"]:
        assert 1 <= len(order["lines"]) <= 5
        assert order["owner_user_id"] in users
        assert order["customer_id"] in customers


def test_the_seeded_sales_team_grows_with_the_customers_and_owns_the_orders(api: Api) -> None:
    users = api.walk("users", limit=1000, include_deleted="true")
    team = {u["id"] for u in users if u["email"].endswith("@sales.example.com")}  # test users use another domain
    assert len(team) == SEED_CUSTOMERS // 10
    owners = {o["owner_user_id"] for o in api.walk("orders", limit=1000, include_deleted="true")}
    assert team <= owners, "every seeded user owns orders"


@pytest.mark.parametrize(
    ("flag", "status", "code"),
    [("--fault-error-rate", 500, "internal_error"), ("--fault-rate-limit-rate", 429, "rate_limited")],
)
def test_injected_faults_use_the_contract_error_format(
    start_sandbox: SandboxStarter, flag: str, status: int, code: str
) -> None:
    with start_sandbox("customcrm", "--token", TOKEN, flag, "1") as sandbox:
        response = Api(sandbox.url).get("/v1/customers")
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    if status == 429:
        assert int(response.headers["Retry-After"]) >= 1


def test_tokens_never_reach_the_log(start_sandbox: SandboxStarter) -> None:
    with start_sandbox("customcrm", "--token", "secret-token-value", "--verbose") as sandbox:
        Api(sandbox.url, token="secret-token-value").get("/v1/users")
        Api(sandbox.url, token="wrong-token-value").get("/v1/users")
        log = sandbox.log()
    assert "GET /v1/users" in log
    assert "token-value" not in log


def test_tokens_can_stay_out_of_the_process_list(start_sandbox: SandboxStarter) -> None:
    with start_sandbox("customcrm", env={"SANDBOX_CUSTOMCRM_TOKENS": "env-token-1, env-token-2"}) as sandbox:
        assert Api(sandbox.url, token="env-token-2").get("/v1/users").status_code == 200
        assert Api(sandbox.url, token="wrong").get("/v1/users").status_code == 401


def test_a_create_whose_answer_was_lost_is_retried_into_one_record(start_sandbox: SandboxStarter) -> None:
    # Half of all writes commit and then lose their answer; the seed makes the sequence repeatable.
    faults = ("--fault-ambiguous-write-rate", "0.5", "--fault-seed", "4")
    body = {"sku": "LOST-1", "name": "Lost answer", "unit_price": "1.00", "currency": "EUR"}
    with start_sandbox("customcrm", "--token", TOKEN, *faults) as sandbox:
        api = Api(sandbox.url)
        lost = 0
        for _ in range(20):
            try:
                created = api.post("/v1/products", body, idempotency_key="lost-answer")
                break
            except requests.ConnectionError:
                lost += 1
        else:
            pytest.fail("20 tries in a row lost their answer")
        found = api.get("/v1/products", sku="LOST-1").json()["data"]
    assert lost >= 1, "the seed must make at least one answer get lost, or this test proves nothing"
    assert created.status_code == 201
    assert created.headers["Idempotent-Replayed"] == "true"
    assert [p["id"] for p in found] == [created.json()["id"]]
