"""Incremental runs with state: everything once, then only what changed, deletes as tombstones.

The tests of this module share one sandbox and run in order, each continuing from the previous state.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sync_core.times import rfc3339

from tests.tap_invoiced.conftest import STREAMS, InvoicedApi, SyncResult, next_second, sync, tap_config

pytestmark = pytest.mark.usefixtures("invoiced")


@pytest.fixture(scope="module")
def runs(invoiced: InvoicedApi) -> list[SyncResult]:
    """The runs so far, oldest first; each test appends its own."""
    return [sync(tap_config(invoiced.url, per_page=7))]


def resync(invoiced: InvoicedApi, runs: list[SyncResult], **config: Any) -> SyncResult:
    result = sync(tap_config(invoiced.url, per_page=7, **config), state=runs[-1].state)
    runs.append(result)
    return result


def test_first_run_emits_every_record_once(invoiced: InvoicedApi, runs: list[SyncResult]) -> None:
    truth = invoiced.truth()
    for stream in STREAMS:
        emitted = runs[0].ids(stream)
        assert len(emitted) == len(set(emitted)), f"{stream}: a record was emitted twice"
        assert sorted(emitted) == sorted(row["id"] for row in truth[stream]), stream
    invoice = invoiced.all("/invoices")[0]
    record = runs[0].by_id("invoices")[invoice["id"]]
    assert record["deleted_at"] is None
    assert record["_sdc_deleted_at"] is None
    assert record["updated_at"].endswith("+00:00")
    # Amounts are decimal text, exactly as Invoiced sent the number (this test's client reads it as a float).
    assert record["items"][0]["unit_cost"] == str(invoice["items"][0]["unit_cost"])
    assert record["total"] == str(invoice["total"])
    assert all(isinstance(line["amount"], str) for line in record["items"])


def test_second_run_without_changes_emits_nothing(invoiced: InvoicedApi, runs: list[SyncResult]) -> None:
    result = resync(invoiced, runs)
    assert {stream: result.ids(stream) for stream in STREAMS} == {stream: [] for stream in STREAMS}


def test_next_run_emits_only_what_changed(invoiced: InvoicedApi, runs: list[SyncResult]) -> None:
    customer = invoiced.all("/customers")[3]
    invoice = invoiced.all("/invoices")[5]
    contact = invoiced.all(f"/customers/{customer['id']}/contacts")[0]
    item = invoiced.all("/items")[1]
    invoiced.patch(f"/customers/{customer['id']}", {"name": "Renamed Customer Oy"})
    invoiced.patch(f"/invoices/{invoice['id']}", {"purchase_order": "PO-4711"})
    invoiced.patch(f"/customers/{customer['id']}/contacts/{contact['id']}", {"title": "Chief Payer"})
    invoiced.patch(f"/items/{item['id']}", {"description": "Now with more widget"})
    new_customer = invoiced.create("/customers", {"name": "Fresh Start AB"})
    new_contact = invoiced.create(f"/customers/{new_customer['id']}/contacts", {"name": "Ada Fresh"})

    result = resync(invoiced, runs)

    assert sorted(result.ids("customers")) == sorted([customer["id"], new_customer["id"]])
    assert result.by_id("customers")[customer["id"]]["name"] == "Renamed Customer Oy"
    assert result.ids("invoices") == [invoice["id"]]
    assert result.by_id("invoices")[invoice["id"]]["purchase_order"] == "PO-4711"
    assert sorted(result.ids("contacts")) == sorted([contact["id"], new_contact["id"]])
    assert result.by_id("contacts")[contact["id"]]["title"] == "Chief Payer"
    assert result.by_id("contacts")[new_contact["id"]]["customer"] == new_customer["id"]
    assert result.ids("items") == [item["id"]]
    assert resync(invoiced, runs).records == {}


def test_update_in_the_bookmarks_second_is_not_missed(invoiced: InvoicedApi, runs: list[SyncResult]) -> None:
    first, second = invoiced.all("/customers")[:2]
    for _ in range(5):  # the tap run must fit between two edits inside one second; retry if it did not
        next_second()
        edited = invoiced.patch(f"/customers/{first['id']}", {"notes": "edited before the run"})
        before = resync(invoiced, runs)
        late = invoiced.patch(f"/customers/{second['id']}", {"notes": "edited after the run"})
        again = invoiced.patch(f"/customers/{first['id']}", {"notes": "edited again after the run"})
        if edited["updated_at"] == late["updated_at"] == again["updated_at"]:
            break
        resync(invoiced, runs)
    else:
        pytest.fail("could not fit a tap run inside one second")
    assert before.ids("customers") == [first["id"]]

    after = resync(invoiced, runs)

    # Same second as the bookmark: one record new to it, one changed again within it; both come.
    assert sorted(after.ids("customers")) == sorted([first["id"], second["id"]])
    assert after.by_id("customers")[first["id"]]["notes"] == "edited again after the run"
    assert resync(invoiced, runs).ids("customers") == []


def test_deletes_arrive_as_tombstones(invoiced: InvoicedApi, runs: list[SyncResult]) -> None:
    doomed = invoiced.create("/customers", {"name": "Short Lived GmbH"})
    doomed_contact = invoiced.create(f"/customers/{doomed['id']}/contacts", {"name": "Brief Person"})
    owner = invoiced.all("/customers")[0]
    contact = invoiced.all(f"/customers/{owner['id']}/contacts")[0]
    invoice = invoiced.all("/invoices")[0]
    item = invoiced.all("/items")[0]
    resync(invoiced, runs)

    invoiced.delete(f"/customers/{doomed['id']}")  # takes its contact with it
    invoiced.delete(f"/customers/{owner['id']}/contacts/{contact['id']}")
    invoiced.delete(f"/invoices/{invoice['id']}")
    invoiced.delete(f"/items/{item['id']}")
    result = resync(invoiced, runs)

    assert result.ids("customers") == [doomed["id"]]
    tombstone = result.by_id("customers")[doomed["id"]]
    assert tombstone["deleted_at"] is not None
    assert tombstone["name"] == "Short Lived GmbH"
    assert tombstone["updated_at"] == tombstone["deleted_at"]
    assert sorted(result.ids("contacts")) == sorted([doomed_contact["id"], contact["id"]])
    assert all(record["deleted_at"] for record in result.records["contacts"])
    assert result.ids("invoices") == [invoice["id"]]
    assert result.by_id("invoices")[invoice["id"]]["deleted_at"] is not None
    # Loaders see each tombstone under the Singer SDK's name too.
    for record in (tombstone, *result.records["contacts"], result.by_id("invoices")[invoice["id"]]):
        assert record["_sdc_deleted_at"] == record["deleted_at"]
    assert result.ids("items") == [item["id"]]
    assert result.by_id("items")[item["id"]]["archived"] is True
    # Each delete is sent once, not again on every run.
    assert resync(invoiced, runs).records == {}


def test_more_deletes_than_fit_on_a_page_around_a_run_arrive_once(
    invoiced: InvoicedApi, runs: list[SyncResult]
) -> None:
    doomed = [invoiced.create("/customers", {"name": f"Closing Down {n} AB"})["id"] for n in range(12)]
    for customer_id in doomed:
        invoiced.create(f"/customers/{customer_id}/contacts", {"name": "Last Clerk"})
    next_second()  # a run stops at a crowded second still in progress; this one must read all 12
    resync(invoiced, runs)

    # 8 customer and 8 contact delete events, more than a page of 7, most of them in one second...
    for customer_id in doomed[:8]:
        invoiced.delete(f"/customers/{customer_id}")
    during = resync(invoiced, runs)
    # ...then more deletes, usually in the second the previous run's event cursor stopped at.
    for customer_id in doomed[8:]:
        invoiced.delete(f"/customers/{customer_id}")
    after = resync(invoiced, runs)

    assert sorted(during.ids("customers")) == sorted(doomed[:8])
    assert sorted(after.ids("customers")) == sorted(doomed[8:])
    assert len(during.ids("contacts")) == 8
    assert len(after.ids("contacts")) == 4
    assert all(r["deleted_at"] for run in (during, after) for s in STREAMS for r in run.records[s])
    assert resync(invoiced, runs).records == {}


def test_an_archived_item_arrives_once_whether_archiving_moves_updated_at_or_not(
    invoiced: InvoicedApi, runs: list[SyncResult]
) -> None:
    before = resync(invoiced, runs).state
    item = invoiced.all("/items")[2]
    invoiced.delete(f"/items/{item['id']}")
    archived = next(row for row in invoiced.all("/items", archived=1) if row["id"] == item["id"])
    # As if archiving had left updated_at alone (the sandbox stamps it, as Invoiced likely does): the same
    # state, with the items bookmark already past the archived item's updated_at.
    untouched = copy.deepcopy(before)
    bookmark = untouched["bookmarks"]["items"]
    bookmark["replication_key_value"] = rfc3339(archived["updated_at"] + 60)
    bookmark["changed_up_to"] = archived["updated_at"] + 60

    for state in (before, untouched):
        result = sync(tap_config(invoiced.url, per_page=7), state=state)
        assert result.ids("items") == [item["id"]]
        assert result.by_id("items")[item["id"]]["archived"] is True
        assert sync(tap_config(invoiced.url, per_page=7), state=result.state).records == {}


def test_start_date_limits_the_first_run(invoiced: InvoicedApi) -> None:
    invoices = sorted(invoiced.all("/invoices"), key=lambda row: row["updated_at"])
    cutoff = invoices[len(invoices) // 2]["updated_at"]
    result = sync(tap_config(invoiced.url, start_date=rfc3339(cutoff)))
    live = [record["id"] for record in result.records["invoices"] if record["deleted_at"] is None]
    assert sorted(live) == sorted(row["id"] for row in invoices if row["updated_at"] >= cutoff)
    # The invoice deleted by an earlier test was deleted after the start date: its tombstone comes too.
    assert [record["id"] for record in result.records["invoices"] if record["deleted_at"]] == [1]
