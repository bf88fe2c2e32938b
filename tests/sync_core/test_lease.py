"""The lease of a namespace (sync_core.lease) on SQLite and PostgreSQL: one run at a time, a gone holder taken over
safely, a released lease handed to the next task of the same run. Two real `meltano run sync` at once are in
tests/two_way/test_one_run_per_tenant.py."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sync_core.lease import Lease, LeaseHeld, LeaseLost
from sync_core.store import LinkStore, leases

LOG = logging.getLogger("test-lease")


_made: list[Lease] = []


@pytest.fixture
def store(store_url: str) -> Iterator[LinkStore]:
    opened = LinkStore(store_url, "acme")
    yield opened
    while _made:  # no heartbeat outlives its test
        _made.pop()._stop.set()
    opened.close()


def _lease(store: LinkStore, run: str, **kwargs: float) -> Lease:
    made = Lease(store, "target-invoiced", LOG, run=run, **kwargs)
    _made.append(made)
    return made


def _age(store: LinkStore, column: str, seconds: float, **where: object) -> None:
    """Move a lease's time into the past, as if that much time had gone by."""
    with store.writing() as db:
        db.execute(leases.update().where(leases.c.namespace == store.namespace,
                                         *(leases.c[name] == value for name, value in where.items()))
                   .values({column: datetime.now(timezone.utc) - timedelta(seconds=seconds)}))


def test_a_second_run_is_refused_and_told_who_holds_the_lease(store: LinkStore) -> None:
    first = _lease(store, "meltano:run-1")
    first.acquire()
    with pytest.raises(LeaseHeld) as refused:
        _lease(store, "meltano:run-2").acquire()
    message = str(refused.value)
    assert "namespace 'acme'" in message
    assert f"pid {first.pid} on host {first.host}" in message
    assert "run meltano:run-1" in message
    assert "since " in message
    first.release()


def test_namespaces_have_leases_of_their_own(store: LinkStore, store_url: str) -> None:
    _lease(store, "meltano:run-1").acquire()
    other = LinkStore(store_url, "globex")
    try:
        _lease(other, "meltano:run-2").acquire()
    finally:
        other.close()


def test_the_next_task_of_the_same_run_takes_the_released_lease_at_once(store: LinkStore) -> None:
    first = _lease(store, "meltano:run-1")
    first.acquire()
    first.release()
    started = time.monotonic()
    _lease(store, "meltano:run-1", handover=60).acquire()
    assert time.monotonic() - started < 30  # no handover wait for its own run


def test_a_plugin_run_outside_meltano_leaves_no_lease_behind(store: LinkStore) -> None:
    first = _lease(store, "plugin:run-1")
    first.acquire()
    first.release()  # no next task will come for it
    started = time.monotonic()
    _lease(store, "plugin:run-2", handover=60).acquire()
    assert time.monotonic() - started < 30


def test_another_run_waits_out_the_handover_then_takes_the_lease(store: LinkStore) -> None:
    first = _lease(store, "meltano:run-1")
    first.acquire()
    first.release()  # its Meltano (this test's process) is alive: it may still start its next task
    second = _lease(store, "meltano:run-2", handover=0.5)
    second.acquire()
    assert second.held


def test_a_holder_whose_process_is_gone_is_taken_over_at_once(store: LinkStore) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    held = _lease(store, "meltano:run-1")
    held.acquire()
    held._stop.set()  # its heartbeat ends with it
    with store.writing() as db:  # the holder is a process of this host that has exited (a SIGKILLed target)
        db.execute(leases.update().values(pid=int(dead.stdout)))
    taker = _lease(store, "meltano:run-2")
    taker.acquire()
    assert taker.held


def test_a_holder_on_another_host_is_taken_over_only_once_its_heartbeat_expired(store: LinkStore) -> None:
    held = _lease(store, "meltano:run-1")
    held.acquire()
    held._stop.set()
    with store.writing() as db:
        db.execute(leases.update().values(host="another-worker"))
    _age(store, "heartbeat_at", 30)
    with pytest.raises(LeaseHeld):
        _lease(store, "meltano:run-2", expiry=60).acquire()
    _age(store, "heartbeat_at", 61)
    taker = _lease(store, "meltano:run-2", expiry=60)
    taker.acquire()
    assert taker.held


def test_a_holder_whose_lease_was_taken_over_stops_before_writing_more(store: LinkStore) -> None:
    slow = _lease(store, "meltano:run-1", heartbeat=0.05)
    slow.acquire()
    slow.check()  # held: nothing to say
    with store.writing() as db:  # another worker took it over after this one's heartbeat stalled
        db.execute(leases.update().values(run="meltano:run-2", host="another-worker", pid=4242))
    deadline = time.monotonic() + 30
    while slow.lost is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    with pytest.raises(LeaseLost, match="another-worker"):
        slow.check()
    slow.release()  # releases nothing of the new holder's
    with store.engine.connect() as db:
        assert db.execute(sa.select(leases.c.run, leases.c.released_at)).one() == ("meltano:run-2", None)


def test_runs_starting_together_get_one_lease(store: LinkStore, store_url: str) -> None:
    stores = [LinkStore(store_url, "acme") for _ in range(6)]
    start = threading.Barrier(len(stores))
    won: list[str] = []
    refused: list[str] = []

    def contend(number: int) -> None:
        lease = _lease(stores[number], f"meltano:run-{number}")
        start.wait()
        try:
            lease.acquire()
            won.append(lease.run)
        except LeaseHeld:
            refused.append(lease.run)

    threads = [threading.Thread(target=contend, args=(n,)) for n in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for each in stores:
        each.close()
    assert len(won) == 1
    assert len(refused) == len(stores) - 1
