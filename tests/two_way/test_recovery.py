"""Crashes and a lost link store, through `meltano run sync`: either target killed with SIGKILL mid-run, then run
again, leaves no duplicate and nothing missing; a deleted link store is rebuilt from the cross-references that
both systems hold, with no duplicate. (The named moments a crash can hit are in test_crash_points.py; these kill at
whatever moment the writes have reached.)"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.common.meltano import meltano_command
from sandbox.common.process import REPO_ROOT
from soak.scenarios import pid_below
from tests.conftest import SandboxStarter
from tests.two_way.conftest import TwoWay, two_way


@pytest.fixture(scope="module")
def systems(tmp_path_factory: pytest.TempPathFactory, start_sandbox: SandboxStarter,
            meltano_root: Path) -> Iterator[TwoWay]:
    # Enough records, and enough latency, that a kill lands in the middle of each target's writes.
    slow = ("--fault-latency-ms", "25")
    yield from two_way(tmp_path_factory, start_sandbox, meltano_root,
                       crm_seed=("--seed-customers", "30", "--seed", "21", *slow),
                       inv_seed=("--seed-customers", "30", "--seed", "22", *slow))


def _kill_mid_run(systems: TwoWay, executable: str, write: str, after: int) -> None:
    """`meltano run sync`, with `executable` killed once its system has served `after` writes like `write`."""
    log = systems.customcrm if executable == "target-customcrm" else systems.invoiced
    before = log.log().count(write)
    job = subprocess.Popen(meltano_command("run", "sync"), cwd=REPO_ROOT, env=systems.env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while log.log().count(write) - before < after:
            assert job.poll() is None, f"the sync ended before {executable} wrote {after} times"
            assert time.monotonic() < deadline
            time.sleep(0.01)
        pid = pid_below(executable, job.pid)  # this run's, not another run's on the machine
        assert pid is not None, f"{executable} is not running"
        os.kill(pid, signal.SIGKILL)
        assert job.wait(120) != 0  # Meltano reports the killed target as a failed run
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()


def _everything_once(systems: TwoWay) -> None:
    """Nothing duplicated, nothing missing: each record on one side has exactly one linked record on the other."""
    systems.assert_no_duplicates()
    customers = systems.crm_customers()
    companies = systems.companies()
    assert len(customers) == len(companies)
    assert {c["id"] for c in customers} == {c["metadata"].get("customcrm_id") for c in companies}
    assert {str(c["id"]) for c in companies} == {c["external_ids"].get("invoiced") for c in customers}
    products = [p for p in systems.crm_all("products") if p["active"]]
    items = systems.inv_all("/items")
    assert {p["id"] for p in products} == {i["metadata"].get("customcrm_id") for i in items}
    assert {i["id"] for i in items} == {p["external_ids"].get("invoiced") for p in products}


def test_target_invoiced_killed_mid_run_then_run_again(systems: TwoWay) -> None:
    _kill_mid_run(systems, "target-invoiced", '"POST /customers', after=8)
    assert 0 < len([c for c in systems.companies() if c["metadata"].get("customcrm_id")]) < 30

    systems.sync()
    systems.sync()
    _everything_once(systems)
    assert systems.sync().writes == []


def test_target_customcrm_killed_mid_run_then_run_again(systems: TwoWay) -> None:
    for number in range(12):
        systems.inv("POST", "/customers", json={"name": f"Typed in Invoiced {number}", "type": "company"})
    _kill_mid_run(systems, "target-customcrm", '"POST /v1/customers', after=4)

    systems.sync()
    systems.sync()
    _everything_once(systems)
    assert systems.sync().writes == []


def test_a_deleted_link_store_is_rebuilt_from_the_cross_references(systems: TwoWay) -> None:
    pairs = systems.store_links("customer")
    systems.links_path.unlink()

    # Only the records that changed come in an incremental run: the edited one links again, not doubled.
    customer = systems.crm_customers()[0]
    systems.crm("PATCH", f"/customers/{customer['id']}", json={"phone": "+47 40 00 00 01"})
    edited = systems.run()
    assert edited.total("created") == 0
    assert systems.inv("GET", f"/customers/{customer['external_ids']['invoiced']}")["phone"] == "+47 40 00 00 01"

    # A full refresh reads everything again and rebuilds every link. It creates nothing: the records refused
    # before (orders of inactive customers) are tried once more, since their memory went with the store.
    counts = (len(systems.crm_customers()), len(systems.companies()), len(systems.inv_all("/invoices")))
    rebuilt = systems.run(full_refresh=True)
    assert rebuilt.total("created") == 0
    assert {path for method, path in rebuilt.writes if method == "POST"} <= {"/invoices"}
    assert counts == (len(systems.crm_customers()), len(systems.companies()), len(systems.inv_all("/invoices")))
    assert systems.store_links("customer") == pairs
    _everything_once(systems)
    assert systems.sync().writes == []
