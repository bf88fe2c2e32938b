"""A target that dies at each named crash point (sync_core.crashpoints) of a real `meltano run sync`, then one more
sync: every valid record is on both sides, none is set aside as refused without a reason of its own, nothing is
duplicated, and the run after writes nothing.

The tests run in order on one pair of sandboxes, each bringing new work for its crash to land among.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SandboxStarter
from tests.two_way.conftest import SyncRun, TwoWay, two_way

_serial = itertools.count(1)


@pytest.fixture(scope="module")
def systems(tmp_path_factory: pytest.TempPathFactory, start_sandbox: SandboxStarter,
            meltano_root: Path) -> Iterator[TwoWay]:
    for systems in two_way(tmp_path_factory, start_sandbox, meltano_root,
                           crm_seed=("--seed-customers", "8", "--seed", "31"),
                           inv_seed=("--seed-customers", "3", "--seed", "32")):
        systems.sync()
        systems.sync()
        assert systems.sync().writes == []
        yield systems


def _crashed(systems: TwoWay, where: str) -> SyncRun:
    """`meltano run sync` with SYNC_CRASH_AT=<where>: the named plugin dies at its point, and the run fails."""
    run = systems.run(expect_ok=False, env={"SYNC_CRASH_AT": where})
    point = where.split(":", 1)[1].split("@", 1)[0]
    assert run.returncode != 0
    assert f"crash test: exiting at {point}" in run.log, run.log[-3000:]
    return run


def _new_customers(systems: TwoWay, count: int, *, status: str = "active",
                   unit_price: str = "10.00") -> list[dict[str, Any]]:
    """Customers typed into Customcrm, each with an order of an active product."""
    product = next(p for p in systems.crm_all("products") if p["active"])
    user = systems.crm_all("users")[0]
    made = []
    for _ in range(count):
        n = next(_serial)
        customer = systems.crm("POST", "/customers", json={
            "name": f"Crash Point Co {n}", "org_number": f"CP-{n}", "email": f"crash{n}@points.example",
            "currency": "NOK", "status": status})
        systems.crm("POST", "/orders", json={
            "order_number": f"CP-{n}", "customer_id": customer["id"], "owner_user_id": user["id"],
            "order_date": "2026-11-02", "currency": "NOK",
            "lines": [{"product_id": product["id"], "description": "Widget", "quantity": "2",
                       "unit_price": unit_price}]})
        made.append(customer)
    return made


def _new_companies(systems: TwoWay, count: int) -> None:
    for _ in range(count):
        n = next(_serial)
        systems.inv("POST", "/customers", json={"name": f"Crash Point Invoiced {n}", "type": "company",
                                                "email": f"crash{n}@invoiced.example"})


def _all_synced(systems: TwoWay) -> None:
    """Every valid record on both sides once, and nothing set aside but what its own content explains."""
    systems.assert_no_duplicates()
    customers, companies = systems.crm_customers(), systems.companies()
    assert {c["id"] for c in customers} == {c["metadata"].get("customcrm_id") for c in companies}
    assert {str(c["id"]) for c in companies} == {c["external_ids"].get("invoiced") for c in customers}
    products = [p for p in systems.crm_all("products") if p["active"]]
    assert {p["id"] for p in products} == {i["metadata"].get("customcrm_id") for i in systems.inv_all("/items")}
    inactive = {c["id"] for c in customers if c["status"] == "inactive"}
    valid_orders = {o["id"] for o in systems.crm_all("orders")
                    if o["status"] != "cancelled" and o["customer_id"] not in inactive}
    invoiced_orders = {(i.get("metadata") or {}).get("customcrm_id") for i in systems.inv_all("/invoices")}
    assert valid_orders <= invoiced_orders, sorted(valid_orders - invoiced_orders)
    orders = {o["id"]: o for o in systems.crm_all("orders")}
    for row in systems.set_aside():
        order = orders.get(row["source_id"], {})
        if order.get("status") == "cancelled":
            continue  # an order refused for its own content, then cancelled: nothing left to send
        assert row["kind"] == "blocked", row  # no transient left, nothing refused or waiting
        assert order["customer_id"] in inactive, row
        assert "is inactive" in row["reason"], row


def _then_quiet(systems: TwoWay) -> None:
    assert systems.sync().writes == []


def test_killed_after_the_headers_of_a_create(systems: TwoWay) -> None:
    _new_customers(systems, 5)
    _crashed(systems, "target-invoiced:create-headers-sent@3")
    assert "request cut short" in systems.invoiced.log()  # the server saw the headers and dropped the request

    systems.sync()
    _all_synced(systems)
    _then_quiet(systems)


def test_killed_after_a_create_answered_before_its_link_is_saved(systems: TwoWay) -> None:
    _new_customers(systems, 5)
    _crashed(systems, "target-invoiced:create-answered@4")

    systems.sync()
    _all_synced(systems)
    _then_quiet(systems)


def test_killed_after_a_refused_create_before_its_key_is_cleared(systems: TwoWay) -> None:
    """An order whose lines add up to a negative total is refused by Invoiced, and the run dies before the refused
    create's key is cleared. The user then fixes the order: the next run must not be answered the old refusal, which
    Invoiced replays for that key whatever comes with it."""
    (customer,) = _new_customers(systems, 1, unit_price="-10.00")
    _new_customers(systems, 2)
    _crashed(systems, "target-invoiced:create-refused")
    (order,) = [o for o in systems.crm_all("orders") if o["customer_id"] == customer["id"]]
    fixed = [{k: line[k] for k in ("product_id", "description", "quantity")} | {"unit_price": "10.00"}
             for line in order["lines"]]
    systems.crm("PATCH", f"/orders/{order['id']}", json={"lines": fixed})

    systems.sync()
    _all_synced(systems)
    assert systems.linked("/invoices", order["id"])
    _then_quiet(systems)


def test_a_refused_create_whose_key_was_not_cleared_is_refused_for_its_own_reason(systems: TwoWay) -> None:
    """The same crash, and the order left as it is: the next run does not take the replayed refusal as its verdict,
    but tries once more with a fresh key, and sets the order aside with the reason about its own content."""
    (customer,) = _new_customers(systems, 1, unit_price="-10.00")
    _crashed(systems, "target-invoiced:create-refused")

    run = systems.sync()
    (order,) = [o for o in systems.crm_all("orders") if o["customer_id"] == customer["id"]]
    (refused,) = [row for row in systems.set_aside() if row["source_id"] == order["id"]]
    assert refused["kind"] == "rejected"
    assert "cannot be negative" in refused["reason"]
    assert run.inv_writes.count(("POST", "/invoices")) == 2  # the inherited key's replay, then a fresh key's verdict
    systems.crm("PATCH", f"/orders/{order['id']}", json={"status": "cancelled"})  # out of the later tests' way
    systems.sync()


def test_killed_after_a_parent_is_written_before_its_blocked_children_are_retried(systems: TwoWay) -> None:
    """An order refused because its customer is inactive waits for the customer. The run that writes the customer
    (made active) dies before the order is sent again: the order must not stay blocked for good."""
    (dormant,) = _new_customers(systems, 1, status="inactive")
    systems.sync()
    (order,) = [o for o in systems.crm_all("orders") if o["customer_id"] == dormant["id"]]
    assert [row["kind"] for row in systems.set_aside() if row["source_id"] == order["id"]] == ["blocked"]
    systems.crm("PATCH", f"/customers/{dormant['id']}", json={"status": "active"})
    _crashed(systems, "target-invoiced:parent-written")

    systems.sync()
    _all_synced(systems)
    assert systems.linked("/invoices", order["id"])
    _then_quiet(systems)


def test_killed_in_the_middle_of_a_state_message(systems: TwoWay) -> None:
    _new_customers(systems, 3)
    _crashed(systems, "target-invoiced:state-half-written")

    systems.sync()
    _all_synced(systems)
    _then_quiet(systems)


@pytest.mark.parametrize("point", ["create-headers-sent@2", "create-answered@2"])
def test_target_customcrm_killed_at_a_create(systems: TwoWay, point: str) -> None:
    _new_companies(systems, 4)
    _crashed(systems, f"target-customcrm:{point}")

    systems.sync()
    # As after any sync that creates in Customcrm, one more gives Invoiced the cross-references of what it created.
    systems.sync()
    _all_synced(systems)
    _then_quiet(systems)
