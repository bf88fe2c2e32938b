"""Incremental runs with state: everything once, then only what changed, deletes as tombstones, no tie lost."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from tests.tap_customcrm.conftest import COLLECTIONS, CrmApi, sync, tap_config

EMITTED = "emitted_at_bookmark"


def _schema(stream: str) -> dict[str, Any]:
    return json.loads(resources.files("tap_customcrm.schemas").joinpath(f"{stream}.json").read_text())


def test_first_run_emits_every_record_in_api_order_and_a_rerun_emits_nothing(crm: CrmApi) -> None:
    first = sync(tap_config(crm.url, page_size=17))

    for stream in COLLECTIONS:
        truth = crm.walk(stream)
        assert first.keys(stream) == [(r["id"], r["version"]) for r in truth], stream
        assert first.records[stream] == truth, f"{stream}: records differ from what the API serves"
        validator = Draft202012Validator(_schema(stream), format_checker=FormatChecker())
        for record in first.records[stream]:
            errors = [f"{'.'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(record)]
            assert not errors, f"{stream} {record['id']} breaks the shipped schema: {errors}"
        bookmark = first.state["bookmarks"][stream]
        assert bookmark["replication_key_value"] == truth[-1]["updated_at"]
        assert bookmark[EMITTED] == [[truth[-1]["id"], truth[-1]["version"]]]

    again = sync(tap_config(crm.url), first.state)
    assert dict(again.records) == {}
    assert again.state == first.state


def test_second_run_emits_only_the_changes_with_deletes_as_tombstones(crm: CrmApi) -> None:
    before = sync(tap_config(crm.url))
    customer = crm.patch("customers", "cus_3", {"notes": "moved to net 30", "payment_terms_days": 30})
    crm.patch("products", "prd_2", {"name": "Renamed once"})
    product = crm.patch("products", "prd_2", {"active": False})
    tombstone = crm.delete("orders", "ord_5")

    after = sync(tap_config(crm.url), before.state)

    assert dict(after.records) == {"customers": [customer], "products": [product], "orders": [tombstone]}
    assert tombstone["deleted_at"] is not None
    assert after.state["bookmarks"]["orders"][EMITTED] == [["ord_5", tombstone["version"]]]
    assert dict(sync(tap_config(crm.url), after.state).records) == {}


def test_a_record_sharing_the_bookmark_instant_is_not_missed_and_one_already_sent_is_not_resent(crm: CrmApi) -> None:
    customers = crm.walk("customers")
    x, y = customers[10], customers[11]

    def state(emitted: list[list[Any]]) -> dict[str, Any]:
        bookmark = {"replication_key": "updated_at", "replication_key_value": x["updated_at"], EMITTED: emitted}
        return {"bookmarks": {"customers": bookmark}}

    catalog_customers_only = tap_config(crm.url, page_size=5)
    # Another record (on a CRM whose clock is coarser than this service's) was sent at x's instant; x was not.
    shared = sync(catalog_customers_only, state([["cus_elsewhere", 4]]))
    assert shared.records["customers"][0] == x
    assert shared.keys("customers") == [(r["id"], r["version"]) for r in customers[10:]]
    assert sorted(shared.state["bookmarks"]["customers"][EMITTED]) == [[customers[-1]["id"], customers[-1]["version"]]]

    # x itself was sent: the walk resumes right after it, as after an interrupted run.
    resumed = sync(catalog_customers_only, state([[x["id"], x["version"]]]))
    assert resumed.records["customers"][0] == y
    assert resumed.keys("customers") == [(r["id"], r["version"]) for r in customers[11:]]


def test_start_date_bounds_the_first_run_inclusively_whatever_its_offset(crm: CrmApi) -> None:
    orders = crm.walk("orders")
    start = orders[30]["updated_at"]
    in_oslo = datetime.fromisoformat(start).astimezone(timezone(timedelta(hours=2))).isoformat()

    result = sync(tap_config(crm.url, start_date=in_oslo))

    for stream in COLLECTIONS:
        expected = [(r["id"], r["version"]) for r in crm.walk(stream) if r["updated_at"] >= start]
        assert result.keys(stream) == expected, stream
    assert result.records["orders"][0]["id"] == orders[30]["id"]
