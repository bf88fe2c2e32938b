"""What an operator relies on: waiting records, rejects and their retry, dry runs, wiring and auth checks, secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.target_invoiced.conftest import CUSTOMCRM_TOKEN, INVOICED_KEY, Systems

UNMAPPABLE_WEBSITE = "https://" + "ø" * 140 + ".example"  # fine for Customcrm, over Invoiced's 255-byte metadata


@pytest.fixture(scope="module", autouse=True)
def first_sync(systems: Systems) -> None:
    systems.sync()


def test_orders_wait_for_a_rejected_customer_and_follow_it_once_it_is_fixed(systems: Systems) -> None:
    customer = systems.crm("POST", "/customers", json={
        "name": "Waiting Room AS", "org_number": "NO-WAIT-1", "email": "billing@waiting.example",
        "currency": "NOK", "website": UNMAPPABLE_WEBSITE})
    product = next(p for p in systems.crm_all("products") if p["active"])
    user = systems.crm_all("users")[0]
    order = systems.crm("POST", "/orders", json={
        "order_number": "SO-WAIT-1", "customer_id": customer["id"], "owner_user_id": user["id"],
        "order_date": "2026-11-02", "currency": "NOK", "status": "confirmed",
        "lines": [{"product_id": product["id"], "description": "Widget", "quantity": "2", "unit_price": "10.00"}]})

    first = systems.sync()

    assert first.count("customers", "rejected") == 1
    assert first.count("invoices", "waiting") == 1
    assert systems.linked("/customers", customer["id"]) == []
    (reject,) = [r for r in systems.rejects() if r["source_id"] == customer["id"]]
    assert reject["stream"] == "customers"
    assert "website" in reject["reason"]
    assert "255" in reject["reason"]
    assert reject["record"]["_source"]["id"] == customer["id"]

    systems.crm("PATCH", f"/customers/{customer['id']}", json={"website": "https://waiting.example"})
    second = systems.sync()  # the order itself did not change: it is retried from the link store

    (created,) = systems.linked("/customers", customer["id"])
    (invoice,) = systems.linked("/invoices", order["id"])
    assert invoice["customer"] == created["id"]
    assert second.count("invoices", "created") == 1
    assert second.count("invoices", "waiting") == 0
    assert systems.sync().writes == []


def test_a_dry_run_plans_and_writes_nothing(systems: Systems) -> None:
    customer = next(c for c in systems.crm_all("customers") if c["status"] == "active")
    address = {**customer["billing_address"], "city": "Trondheim"}
    systems.crm("PATCH", f"/customers/{customer['id']}", json={"billing_address": address})
    state_before = systems.state_path.read_text()
    links_db = Path(systems.target_config["link_store_url"].removeprefix("sqlite:///"))
    store_before = links_db.read_bytes()

    dry = systems.sync(dry_run=True)

    assert dry.writes == []
    assert systems.state_path.read_text() == state_before  # no STATE: the bookmark does not move
    assert links_db.read_bytes() == store_before
    (line,) = [p for p in dry.plan if p["source_id"] == customer["id"]]
    assert line["action"] == "update"
    assert line["fields"] == {"city": {"old": customer["billing_address"]["city"], "new": "Trondheim"}}
    assert "dry run, nothing written" in dry.log

    real = systems.sync()
    assert ("PATCH", f"/customers/{systems.linked('/customers', customer['id'])[0]['id']}") in real.writes


def test_fail_on_rejects_exits_non_zero_after_the_state_is_written(systems: Systems) -> None:
    customer = systems.crm("POST", "/customers", json={
        "name": "Always Refused AS", "org_number": "NO-REF-1", "currency": "NOK", "website": UNMAPPABLE_WEBSITE})
    before = systems.state_path.read_text()
    run = systems.sync(fail_on_rejects=True, expect_ok=False)
    assert run.returncode != 0
    assert "fail_on_rejects" in run.log
    assert systems.state_path.read_text() != before  # everything else was written; the bookmark moved
    systems.crm("DELETE", f"/customers/{customer['id']}")


def test_records_from_invoiced_stop_the_run_before_any_write(systems: Systems) -> None:
    schema = {"type": "SCHEMA", "stream": "customers", "key_properties": [],
              "schema": {"type": "object", "properties": {"name": {"type": "string"}, "_source": {"type": "object"}}}}
    record = {"type": "RECORD", "stream": "customers", "record": {
        "name": "Copied from Invoiced", "_source": {"system": "invoiced", "stream": "customers", "id": "15",
                                                    "updated_at": None, "deleted_at": None}}}
    run = systems.feed([schema, record], expect_ok=False)
    assert run.returncode != 0
    assert run.writes == []
    assert "wired the wrong way round" in run.log
    assert "meltano run tap-customcrm to-invoiced target-invoiced" in run.log


def test_a_wrong_api_key_stops_before_any_write_and_names_the_setting(systems: Systems) -> None:
    customer = next(c for c in systems.crm_all("customers") if c["status"] == "active")
    systems.crm("PATCH", f"/customers/{customer['id']}", json={"phone": "+47 99 99 99 99"})
    run = systems.sync(api_key="sk_wrong_key_123456", expect_ok=False)
    assert run.returncode != 0
    assert run.writes == []
    assert "api_key" in run.log
    assert "sk_wrong_key_123456" not in run.log
    systems.sync()


def test_no_secret_in_any_log_state_rejects_audit_summary_or_store(systems: Systems) -> None:
    run = systems.sync(full=True)
    texts = {"target log": run.log}
    for path in systems.root.iterdir():
        if path.name in ("tap.json", "target.json", "mapper.json"):
            continue  # the configs hold the secrets by design
        texts[path.name] = path.read_bytes().decode("utf-8", errors="replace")
    assert {"rejects.jsonl", "audit.jsonl", "summary.json", "state.json", "links.db"} <= set(texts)
    for name, text in texts.items():
        for secret in (INVOICED_KEY, CUSTOMCRM_TOKEN):
            assert secret not in text, name
    assert json.loads(texts["summary.json"])["total"]["created"] == 0


def test_every_summary_counts_what_is_still_set_aside_and_a_run_warns_of_it_once(systems: Systems) -> None:
    """The first sync set aside orders of inactive customers (blocked until the customer is written); a later run
    with nothing new to do still says so, by kind, with the oldest, where an operator looks."""
    blocked = {r["source_id"] for r in systems.rejects() if r["stream"] == "invoices" and "inactive" in r["reason"]}
    assert blocked

    quiet = systems.sync()

    assert quiet.writes == []
    assert quiet.summary["total"]["rejected"] == 0  # this run's outcomes: it refused nothing
    still = quiet.summary["still_set_aside"]
    assert still["total"]["blocked"]["count"] == still["streams"]["invoices"]["blocked"] >= len(blocked)
    assert still["total"]["blocked"]["oldest_age_seconds"] >= 0
    assert "still set aside" in quiet.log  # the log's table
    warnings = [line for line in quiet.log.splitlines() if "are set aside in the link store" in line]
    assert len(warnings) == 1
    assert "blocked" in warnings[0]
    assert systems.target_config["rejects_path"] in warnings[0]
    assert "blocked ones once their parent is written" in warnings[0]


def test_a_reactivated_customer_brings_the_orders_invoiced_refused(systems: Systems) -> None:
    customer = next(c for c in systems.crm_all("customers") if c["status"] == "inactive")
    refused = [r for r in systems.rejects() if r["stream"] == "invoices" and "inactive" in r["reason"]
               and r["record"]["customer"]["customcrm_id"] == customer["id"]]
    assert refused  # the first sync met them: Invoiced takes no new invoice for an inactive customer
    assert "once customer" in refused[0]["reason"]

    systems.crm("PATCH", f"/customers/{customer['id']}", json={"status": "active"})
    run = systems.sync()

    for reject in refused:
        assert len(systems.linked("/invoices", reject["source_id"])) == 1
    assert run.count("invoices", "created") == len({r["source_id"] for r in refused})
    assert systems.sync().writes == []


def test_a_dry_run_plans_new_children_under_new_parents_instead_of_waiting(systems: Systems) -> None:
    customer = systems.crm("POST", "/customers", json={"name": "Dry Parent AS", "org_number": "NO-DRY-1",
                                                       "currency": "NOK"})
    user = systems.crm_all("users")[0]
    order = systems.crm("POST", "/orders", json={
        "order_number": "SO-DRY-1", "customer_id": customer["id"], "owner_user_id": user["id"],
        "order_date": "2026-11-03", "currency": "NOK", "status": "confirmed",
        "lines": [{"description": "Consulting", "quantity": "3", "unit_price": "100.00"}]})

    dry = systems.sync(dry_run=True)

    assert dry.writes == []
    planned = {p["source_id"]: p for p in dry.plan}
    assert planned[customer["id"]]["action"] == "create"
    assert planned[order["id"]]["action"] == "create"
    assert planned[order["id"]]["fields"]["customer"]["new"] == {"customcrm_id": customer["id"]}
    assert dry.count("invoices", "waiting") == 0
