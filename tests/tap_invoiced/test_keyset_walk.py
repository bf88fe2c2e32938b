"""The keyset walk misses nothing: not when many records share one second, not while others edit and delete."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import invoiced as invoiced_client
import pytest

from tests.tap_invoiced.conftest import (
    KEY,
    InvoicedApi,
    SyncResult,
    next_second,
    pages_out_of_order,
    sync,
    tap_config,
)

CUSTOMERS_WALK = '"GET /customers?updated_after='  # in the sandbox's request log

def test_more_records_in_one_second_than_fit_on_a_page(invoiced: InvoicedApi) -> None:
    first = sync(tap_config(invoiced.url, per_page=5))
    customers = invoiced.all("/customers")[:23]
    for _ in range(5):
        next_second()
        stamps = {invoiced.patch(f"/customers/{c['id']}", {"notes": "bulk"})["updated_at"] for c in customers}
        if len(stamps) == 1:
            break
    else:
        pytest.fail("could not make 23 edits inside one second")
    next_second()  # the walk reads a crowded second only once it is over

    result = sync(tap_config(invoiced.url, per_page=5), state=first.state)

    assert sorted(result.ids("customers")) == sorted(c["id"] for c in customers)
    assert all(record["notes"] == "bulk" for record in result.records["customers"])
    # Reading a crowded second from its last page first, and the first contacts read (customers from the
    # last page first), must use a sort Invoiced pages by offset: under a lone id sort it refuses such jumps.
    assert pages_out_of_order(invoiced.log()) == []


def test_a_second_still_in_progress_is_left_for_the_next_run(invoiced: InvoicedApi) -> None:
    before = sync(tap_config(invoiced.url, per_page=5))
    customers = invoiced.all("/customers")[:12]
    for _ in range(5):
        next_second()
        stamps = {invoiced.patch(f"/customers/{c['id']}", {"notes": "crowded"})["updated_at"] for c in customers}
        during = sync(tap_config(invoiced.url, per_page=5), state=before.state)
        if len(stamps) == 1 and time.time() < next(iter(stamps)) + 1:
            break
        before = sync(tap_config(invoiced.url, per_page=5), state=before.state)
    else:
        pytest.fail("could not edit and sync inside one second")
    next_second()
    after = sync(tap_config(invoiced.url, per_page=5), state=during.state)

    # The run inside the second read one page of it and stopped; the next run read the rest, and no repeats.
    assert len(during.ids("customers")) == 5
    assert sorted(during.ids("customers") + after.ids("customers")) == sorted(c["id"] for c in customers)


def test_changes_made_during_a_long_run_are_not_sent_again(invoiced: InvoicedApi) -> None:
    config = tap_config(invoiced.url, per_page=5, overlap_seconds=1)
    first = sync(config)
    early, late = invoiced.all("/customers")[4:6]

    def edits_seconds_apart() -> None:
        # Changes made while a run goes on, further apart than the overlap (as in a run of minutes).
        invoiced.patch(f"/customers/{early['id']}", {"notes": "early in the run"})
        next_second()
        next_second()
        invoiced.patch(f"/customers/{late['id']}", {"notes": "late in the run"})

    during = sync(config, state=first.state, meanwhile=edits_seconds_apart)
    after = sync(config, state=during.state)

    assert sorted(during.ids("customers")) == sorted([early["id"], late["id"]])
    assert after.ids("customers") == []


def test_walk_while_another_client_edits_and_deletes(invoiced: InvoicedApi) -> None:
    doomed = [invoiced.create("/customers", {"name": f"Doomed {n} Ltd"})["id"] for n in range(12)]
    at_start = {row["id"]: row for row in invoiced.all("/customers")}
    next_second()  # what exists at the start is in the past; only the editor's changes are "now"
    # Once the walk has read its first page, the editor edits those customers first: each moves to the end,
    # which shifts every later customer one place back, so under offset paging an untouched one goes unread.
    read_first = sorted(at_start.values(), key=lambda row: (row["updated_at"], row["id"]))[:3]
    log_so_far = len(invoiced.log())
    editor = Editor(
        invoiced.url,
        first=[row["id"] for row in read_first],
        then=sorted(at_start),
        deletable=doomed,
        began=lambda: CUSTOMERS_WALK in invoiced.log()[log_so_far:],
    )

    editor.start()
    try:  # a first, full read: about 20 pages of 3, each a chance to skip a record
        during = sync(tap_config(invoiced.url, per_page=3))
    finally:
        editor.stop()
    next_second()
    after = sync(tap_config(invoiced.url, per_page=3), state=during.state)

    assert editor.edited, "the editor edited nothing while the tap ran"
    assert editor.deleted, "the editor deleted nothing while the tap ran"
    # Every customer nobody touched was read while the others moved around it (the walk may stop at the
    # second in progress, but everything untouched is older)...
    untouched = set(at_start) - editor.edited - editor.deleted
    assert untouched <= set(during.ids("customers"))
    # ...and the changes made meanwhile all arrive by the end of the next run, latest versions last.
    final = {row["id"]: row for row in invoiced.all("/customers")}
    seen = SyncResult({"customers": during.records["customers"] + after.records["customers"]}, {})
    for customer_id in editor.edited - editor.deleted:
        assert seen.by_id("customers")[customer_id]["notes"] == final[customer_id]["notes"]
    for customer_id in editor.deleted:
        assert seen.by_id("customers")[customer_id]["deleted_at"] is not None
    versions = Counter((r["id"], r["updated_at"], r["notes"]) for r in during.records["customers"])
    assert max(versions.values()) == 1, "a version was emitted twice in one run"


class Editor:
    """Edits and deletes customers through the official Invoiced client, from `began()` until told to stop."""

    def __init__(
        self, url: str, *, first: list[int], then: list[int], deletable: list[int], began: Callable[[], bool]
    ) -> None:
        self._client = invoiced_client.Client(KEY)
        self._client.api_url = url
        self._first, self._ids, self._deletable, self._began = list(first), then, list(deletable), began
        self._random = random.Random(42)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.edited: set[int] = set()
        self.deleted: set[int] = set()
        self.failure: BaseException | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        if self.failure is not None:
            raise self.failure

    def _run(self) -> None:
        try:
            while not self._began() and not self._stop.is_set():
                time.sleep(0.002)
            for n in range(10_000):
                if self._stop.is_set():
                    return
                self._step(n)
        except BaseException as exc:  # reported to the test by stop()
            self.failure = exc

    def _step(self, n: int) -> None:
        if self._deletable and n % 4 == 3:
            victim = self._deletable.pop(self._random.randrange(len(self._deletable)))
            self._client.Customer.retrieve(victim).delete()
            self.deleted.add(victim)
            return
        if self._first:
            customer_id = self._first.pop(0)
        else:
            customer_id = self._random.choice([i for i in self._ids if i not in self.deleted])
        customer: Any = self._client.Customer.retrieve(customer_id)
        customer.notes = f"edit {n}"
        customer.save()
        self.edited.add(customer_id)
        time.sleep(0.002)
