"""The link store on both of its backends: a SQLite file and a real PostgreSQL server (see conftest.py)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sync_core.store import SCHEMA_VERSION, Link, LinkState, LinkStore, RetryKind

NAMESPACE = "acme-crm|acme-invoiced"

OpenStore = Callable[..., LinkStore]

# A merge base as the planner hands it over: exact amounts, nested lines, blanks, free-form metadata.
BODY = "hash-of-the-body"
INVOICED_BASE: dict[str, Any] = {
    "name": "Ærø Fisk AS",
    "balance": Decimal("12.50"),
    "tax_rate": Decimal("0.250"),
    "discount": 0.5,
    "quantity": 3,
    "paid": False,
    "notes": None,
    "items": [{"sku": "A-1", "unit_cost": Decimal("1999.90")}, {"sku": "B-2", "unit_cost": Decimal("0.01")}],
    "metadata.customcrm_id": "cus_1",
}
CUSTOMCRM_BASE: dict[str, Any] = {"company": "Ærø Fisk AS", "credit_limit": Decimal("100.00")}


@pytest.fixture
def open_store(store_url: str) -> Iterator[OpenStore]:
    """Opens stores on this test's database (one per call, like several plugin processes); closes them after."""
    opened: list[LinkStore] = []

    def open_(namespace: str = NAMESPACE, url: str = store_url) -> LinkStore:
        store = LinkStore(url, namespace)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: OpenStore) -> LinkStore:
    return open_store()


def _link(store: LinkStore, customcrm_id: str, invoiced_id: str, **bases: dict[str, Any] | None) -> None:
    store.save("customer", customcrm_id=customcrm_id, invoiced_id=invoiced_id, origin="customcrm",
               state=LinkState.LINKED, bases=bases or None)


def _schema_version(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as db:
            return int(db.execute(sa.text("SELECT version FROM sync_schema")).scalar_one())
    finally:
        engine.dispose()


def _set_schema_version(url: str, version: int) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as db:
            db.execute(sa.text("UPDATE sync_schema SET version = :v"), {"v": version})
    finally:
        engine.dispose()


# The schema.


def test_a_new_store_creates_its_tables_and_records_its_schema_version(store: LinkStore) -> None:
    tables = set(sa.inspect(store.engine).get_table_names())
    assert {"sync_schema", "sync_links", "sync_retries", "sync_audit"} <= tables
    assert store.version == SCHEMA_VERSION
    with store.engine.connect() as db:
        assert db.execute(sa.text("SELECT id, version FROM sync_schema")).all() == [(1, SCHEMA_VERSION)]


def test_reopening_a_store_keeps_its_links_records_set_aside_and_audit(store_url: str, open_store: OpenStore) -> None:
    first = open_store()
    _link(first, "cus_1", "4001", invoiced=INVOICED_BASE)
    first.set_aside("invoices", "ord_7", RetryKind.WAITING, "waiting for customer cus_9", {"id": "ord_7"})
    first.record_audit([{"run_id": "run-1", "stream": "customers", "action": "create", "customcrm_id": "cus_1"}])
    first.close()

    again = open_store()
    assert again.version == SCHEMA_VERSION
    link = again.find("customer", "invoiced", "4001")
    assert link is not None
    assert (link.customcrm_id, link.state, link.base("invoiced")) == ("cus_1", LinkState.LINKED, INVOICED_BASE)
    assert [r.source_id for r in again.set_aside_records()] == ["ord_7"]
    assert [e["customcrm_id"] for e in again.audit_entries()] == ["cus_1"]
    with again.engine.connect() as db:
        assert db.execute(sa.text("SELECT count(*) FROM sync_schema")).scalar_one() == 1


def test_a_store_with_a_newer_schema_refuses_to_open_and_says_what_to_do(
    store_url: str, open_store: OpenStore
) -> None:
    open_store().close()
    newer = SCHEMA_VERSION + 1
    _set_schema_version(store_url, newer)
    url = sa.make_url(store_url)
    if url.get_backend_name() == "postgresql":
        url = url.set(password="s3cret-pw")  # the server trusts loopback, so any password connects
    with pytest.raises(RuntimeError) as refused:
        open_store(url=url.render_as_string(hide_password=False))
    message = str(refused.value)
    assert f"has schema version {newer}, newer than this plugin's {SCHEMA_VERSION}: upgrade the plugins" in message
    assert url.database in message  # which store it is
    assert "s3cret-pw" not in message
    assert _schema_version(store_url) == newer  # left as it was, not downgraded


def test_two_plugins_opening_a_fresh_postgresql_store_at_the_same_moment_both_open(postgres_url: str) -> None:
    """The first run of both directions at once: the other plugin creates the schema between this one's check for
    the tables and its CREATE TABLE (the interleaving is forced, so the test does not depend on timing). On SQLite
    that cannot happen: creating the schema holds the file's write lock (next test)."""
    opened: list[LinkStore] = []

    def open_store() -> LinkStore:
        opened.append(LinkStore(postgres_url, NAMESPACE))
        return opened[-1]

    other: list[LinkStore] = []
    interleaved = threading.Event()

    def other_plugin_first(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not interleaved.is_set() and statement.lstrip().startswith("CREATE TABLE sync_schema"):
            interleaved.set()  # once: the other plugin's own CREATE TABLE runs undisturbed
            with ThreadPoolExecutor(1) as pool:  # its own thread and connection, as another process would be
                other.append(pool.submit(open_store).result())

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", other_plugin_first)
    try:
        store = open_store()
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", other_plugin_first)
    assert other  # the interleaving happened
    assert store.version == other[0].version == SCHEMA_VERSION
    for each in opened:
        each.close()


OPEN_AT = """
import sys, time
from sync_core.store import LinkStore
start = float(sys.argv[2])
while time.time() < start:
    pass
LinkStore(sys.argv[1], "acme").close()
"""


def test_plugins_opening_a_fresh_sqlite_store_at_the_same_moment_all_open(tmp_path: Path) -> None:
    """Six processes (the plugins of three runs' first syncs) open one new SQLite file at the same instant: each
    waits for the write lock instead of failing halfway through creating the tables."""
    url = f"sqlite:///{tmp_path / 'links.db'}"
    start = str(time.time() + 2)
    openers = [subprocess.Popen([sys.executable, "-c", OPEN_AT, url, start], stderr=subprocess.PIPE, text=True)
               for _ in range(6)]
    failures = [opener.stderr.read() if opener.stderr else "" for opener in openers if opener.wait(120) != 0]
    assert failures == []
    assert _schema_version(url) == SCHEMA_VERSION


# Links.


def test_pending_stores_a_row_with_an_idempotency_key(store: LinkStore) -> None:
    pending = store.pending("customer", "customcrm", "cus_1", origin="customcrm", body_hash=BODY)

    assert pending.state is LinkState.PENDING
    assert (pending.customcrm_id, pending.invoiced_id, pending.origin) == ("cus_1", None, "customcrm")
    assert pending.idempotency_key is not None
    assert len(pending.idempotency_key) == 48
    assert store.find("customer", "customcrm", "cus_1") == pending
    other = store.pending("customer", "customcrm", "cus_2", origin="customcrm", body_hash=BODY)
    assert other.idempotency_key != pending.idempotency_key


def test_pending_after_a_crash_returns_the_same_idempotency_key(open_store: OpenStore) -> None:
    """A create whose answer was lost is retried with the same key, so the destination does not create it twice."""
    before_crash = open_store().pending("invoice", "customcrm", "ord_7", origin="customcrm", body_hash=BODY)
    store = open_store()  # the next run
    again = store.pending("invoice", "customcrm", "ord_7", origin="customcrm", body_hash=BODY)

    assert again.idempotency_key == before_crash.idempotency_key
    assert len(list(store.links_of("invoice"))) == 1


def test_pending_reuses_a_key_only_with_the_body_it_was_first_sent_with(open_store: OpenStore) -> None:
    """A system may replay a key's first answer whatever body comes with it: a record edited since (say, fixed after
    a refusal) must not be answered what its earlier version was."""
    first = open_store().pending("invoice", "customcrm", "ord_7", origin="customcrm", body_hash=BODY)
    store = open_store()  # the next run, after the record changed
    edited = store.pending("invoice", "customcrm", "ord_7", origin="customcrm", body_hash="another body")

    assert edited.idempotency_key != first.idempotency_key
    assert edited.body_hash == "another body"
    assert store.pending("invoice", "customcrm", "ord_7", origin="customcrm",
                         body_hash="another body").idempotency_key == edited.idempotency_key
    assert len(list(store.links_of("invoice"))) == 1
    store.clear_key("invoice", "customcrm", "ord_7")
    cleared = store.find("invoice", "customcrm", "ord_7")
    assert cleared is not None
    assert (cleared.idempotency_key, cleared.body_hash) == (None, None)


def test_pending_on_a_link_without_a_key_gives_it_one_and_adds_no_row(store: LinkStore) -> None:
    _link(store, "cus_1", "4001", invoiced=INVOICED_BASE)

    pending = store.pending("customer", "customcrm", "cus_1", origin="customcrm", body_hash=BODY)

    assert pending.idempotency_key
    assert (pending.invoiced_id, pending.state, pending.base("invoiced")) == ("4001", LinkState.LINKED, INVOICED_BASE)
    assert len(list(store.links_of("customer"))) == 1


def test_save_links_both_ids_and_keeps_each_sides_base_exactly(store: LinkStore) -> None:
    key = store.pending("customer", "customcrm", "cus_1", origin="customcrm", body_hash=BODY).idempotency_key

    _link(store, "cus_1", "4001", invoiced=INVOICED_BASE, customcrm=CUSTOMCRM_BASE)

    link = store.find("customer", "customcrm", "cus_1")
    assert link is not None
    assert link == store.find("customer", "invoiced", "4001")
    assert (link.customcrm_id, link.invoiced_id, link.state) == ("cus_1", "4001", LinkState.LINKED)
    assert link.idempotency_key == key
    assert link.base("invoiced") == INVOICED_BASE
    assert link.base("customcrm") == CUSTOMCRM_BASE
    balance = link.base("invoiced")["balance"]  # type: ignore[index]
    assert isinstance(balance, Decimal)
    assert str(balance) == "12.50"  # the scale too, not only the value
    assert str(link.base("invoiced")["tax_rate"]) == "0.250"  # type: ignore[index]
    assert [str(i["unit_cost"]) for i in link.base("invoiced")["items"]] == ["1999.90", "0.01"]  # type: ignore[index]
    assert isinstance(link.base("invoiced")["discount"], float)  # type: ignore[index]


def test_save_keeps_the_bases_it_is_not_given(store: LinkStore) -> None:
    _link(store, "cus_1", "4001", invoiced=INVOICED_BASE)
    _link(store, "cus_1", "4001", customcrm=CUSTOMCRM_BASE)
    store.save("customer", customcrm_id="cus_1", invoiced_id="4001", origin="customcrm", state=LinkState.TOMBSTONED,
               note="deleted in invoiced")

    link = store.find("customer", "invoiced", "4001")
    assert link is not None
    assert (link.state, link.note) == (LinkState.TOMBSTONED, "deleted in invoiced")
    assert link.bases == {"invoiced": INVOICED_BASE, "customcrm": CUSTOMCRM_BASE}


def test_save_merges_two_half_links_into_one(store: LinkStore) -> None:
    """Both directions created their half in one run: one from Customcrm, one from Invoiced."""
    crm_key = store.pending("customer", "customcrm", "cus_1", origin="customcrm", body_hash=BODY).idempotency_key
    store.pending("customer", "invoiced", "4001", origin="invoiced", body_hash=BODY)
    assert len(list(store.links_of("customer"))) == 2

    _link(store, "cus_1", "4001", invoiced=INVOICED_BASE, customcrm=CUSTOMCRM_BASE)

    (link,) = store.links_of("customer")
    assert (link.customcrm_id, link.invoiced_id, link.state) == ("cus_1", "4001", LinkState.LINKED)
    assert link.origin == "customcrm"  # the first half's
    assert link.idempotency_key == crm_key
    assert link.bases == {"invoiced": INVOICED_BASE, "customcrm": CUSTOMCRM_BASE}
    assert store.find("customer", "invoiced", "4001") == store.find("customer", "customcrm", "cus_1") == link


def test_save_merging_two_half_links_keeps_the_base_each_half_held(store: LinkStore) -> None:
    store.save("customer", customcrm_id="cus_1", invoiced_id=None, origin="customcrm", state=LinkState.PENDING,
               bases={"customcrm": CUSTOMCRM_BASE})
    store.save("customer", customcrm_id=None, invoiced_id="4001", origin="invoiced", state=LinkState.PENDING,
               bases={"invoiced": INVOICED_BASE})

    _link(store, "cus_1", "4001")  # no bases given: both are to be kept

    (link,) = store.links_of("customer")
    assert link.bases == {"customcrm": CUSTOMCRM_BASE, "invoiced": INVOICED_BASE}  # invoiced comes back None


def test_find_by_either_side_and_only_in_its_entity(store: LinkStore) -> None:
    _link(store, "cus_1", "4001")
    store.save("invoice", customcrm_id="ord_1", invoiced_id="4001", origin="customcrm", state=LinkState.LINKED)

    by_crm = store.find("customer", "customcrm", "cus_1")
    by_invoiced = store.find("customer", "invoiced", "4001")
    assert isinstance(by_crm, Link)
    assert by_crm == by_invoiced
    assert by_crm.id_on("invoiced") == "4001"
    assert by_crm.id_on("customcrm") == "cus_1"
    invoice = store.find("invoice", "invoiced", "4001")
    assert invoice is not None
    assert invoice.customcrm_id == "ord_1"
    assert store.find("customer", "customcrm", "4001") is None  # an id of the other side
    assert store.find("customer", "customcrm", "cus_2") is None
    assert store.find("item", "invoiced", "4001") is None


def _queries(store: LinkStore) -> list[str]:
    """The statements `store` sends from now on, as they are sent."""
    sent: list[str] = []
    sa.event.listen(store.engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    return sent


def test_recall_reads_a_batchs_links_in_one_query_and_finds_them_without_another(open_store: OpenStore) -> None:
    writer = open_store()
    _link(writer, "cus_1", "4001", invoiced={"name": "Globex"})
    _link(writer, "cus_2", "4002")
    store = open_store()  # a later run: nothing remembered yet
    sent = _queries(store)

    store.recall("customer", "customcrm", ["cus_1", "cus_2", "cus_new", "cus_1"])

    assert len(sent) == 1
    first = store.find("customer", "customcrm", "cus_1")
    assert first is not None
    assert (first.invoiced_id, first.base("invoiced")) == ("4001", {"name": "Globex"})
    assert store.find("customer", "customcrm", "cus_2") is not None
    assert store.find("customer", "customcrm", "cus_new") is None  # known absent: not read again
    assert len(sent) == 1
    store.recall("customer", "customcrm", ["cus_1", "cus_new"])  # remembered already
    assert len(sent) == 1


def test_a_create_after_recall_is_found_as_written_not_as_recalled(store: LinkStore) -> None:
    store.recall("customer", "customcrm", ["cus_1"])  # absent
    key = store.pending("customer", "customcrm", "cus_1", origin="customcrm", body_hash=BODY).idempotency_key
    again = store.pending("customer", "customcrm", "cus_1", origin="customcrm", body_hash=BODY)
    assert again.idempotency_key == key
    store.save("customer", customcrm_id="cus_1", invoiced_id="4001", origin="customcrm", state=LinkState.LINKED)
    link = store.find("customer", "customcrm", "cus_1")
    assert link is not None
    assert (link.invoiced_id, link.state, link.idempotency_key) == ("4001", LinkState.LINKED, key)


def test_forget_removes_the_link(store: LinkStore) -> None:
    _link(store, "cus_1", "4001")
    _link(store, "cus_2", "4002")

    store.forget("customer", "invoiced", "4001")

    assert store.find("customer", "customcrm", "cus_1") is None
    assert [link.customcrm_id for link in store.links_of("customer")] == ["cus_2"]


def test_namespaces_do_not_see_each_others_rows(open_store: OpenStore) -> None:
    acme, globex = open_store("acme"), open_store("globex")
    _link(acme, "cus_1", "4001", invoiced={"name": "Acme"})
    assert globex.find("customer", "customcrm", "cus_1") is None
    assert globex.find("customer", "invoiced", "4001") is None

    # The same ids in another namespace are another link: saving it neither merges with nor changes acme's.
    globex.save("customer", customcrm_id="cus_1", invoiced_id="4001", origin="invoiced", state=LinkState.CONFLICT,
                bases={"invoiced": {"name": "Globex"}})
    globex_key = globex.pending("customer", "customcrm", "cus_1", origin="invoiced", body_hash=BODY).idempotency_key
    acme.set_aside("customers", "cus_1", RetryKind.REJECTED, "bad e-mail", {"id": "cus_1"})
    acme.record_audit([{"run_id": "run-1", "stream": "customers", "action": "update"}])

    acme_link, globex_link = acme.find("customer", "customcrm", "cus_1"), globex.find("customer", "customcrm", "cus_1")
    assert acme_link is not None
    assert globex_link is not None
    assert (acme_link.state, acme_link.base("invoiced"), acme_link.idempotency_key) == (
        LinkState.LINKED, {"name": "Acme"}, None
    )
    assert (globex_link.state, globex_link.base("invoiced"), globex_link.idempotency_key) == (
        LinkState.CONFLICT, {"name": "Globex"}, globex_key
    )
    assert len(list(acme.links_of("customer"))) == len(list(globex.links_of("customer"))) == 1
    assert globex.set_aside_records() == []
    assert globex.audit_entries() == []
    globex.resolved("customers", "cus_1")
    globex.forget("customer", "customcrm", "cus_1")
    assert [r.source_id for r in acme.set_aside_records()] == ["cus_1"]
    assert acme.find("customer", "customcrm", "cus_1") == acme_link


# Records set aside.


def test_set_aside_counts_attempts_and_keeps_the_latest_reason_and_record(store: LinkStore) -> None:
    record = {"id": "ord_7", "total": Decimal("99.90"), "_source": {"id": "ord_7"}}
    store.set_aside("invoices", "ord_7", RetryKind.WAITING, "waiting for customer cus_9", record)
    (first,) = store.set_aside_records("invoices")
    assert (first.stream, first.source_id, first.kind, first.attempts) == ("invoices", "ord_7", RetryKind.WAITING, 1)
    assert first.record == record
    assert str(first.record["total"]) == "99.90"

    newer = {**record, "total": Decimal("100.00")}
    store.set_aside("invoices", "ord_7", RetryKind.TRANSIENT, "Invoiced answered 503", newer)
    store.set_aside("invoices", "ord_7", RetryKind.REJECTED, "Invoiced answered 400: bad currency", newer)

    (latest,) = store.set_aside_records("invoices")
    assert (latest.kind, latest.reason, latest.attempts) == (
        RetryKind.REJECTED, "Invoiced answered 400: bad currency", 3
    )
    assert latest.record == newer
    assert not latest.kind.retry_can_fix


def test_set_aside_records_by_stream_in_the_order_first_set_aside(store: LinkStore) -> None:
    store.set_aside("invoices", "ord_2", RetryKind.WAITING, "waiting", {"id": "ord_2"})
    store.set_aside("customers", "cus_1", RetryKind.QUARANTINED, "2 invoiced records match", {"id": "cus_1"})
    store.set_aside("invoices", "ord_1", RetryKind.TRANSIENT, "timeout", {"id": "ord_1"})
    store.set_aside("invoices", "ord_2", RetryKind.WAITING, "still waiting", {"id": "ord_2"})

    assert [(r.stream, r.source_id) for r in store.set_aside_records()] == [
        ("invoices", "ord_2"), ("customers", "cus_1"), ("invoices", "ord_1"),
    ]
    assert [(r.source_id, r.attempts) for r in store.set_aside_records("invoices")] == [("ord_2", 2), ("ord_1", 1)]
    assert store.set_aside_records("items") == []


def test_resolved_removes_the_record_and_a_later_set_aside_starts_counting_again(store: LinkStore) -> None:
    store.set_aside("invoices", "ord_1", RetryKind.TRANSIENT, "timeout", {"id": "ord_1"})
    store.set_aside("invoices", "ord_1", RetryKind.TRANSIENT, "timeout", {"id": "ord_1"})
    store.set_aside("customers", "ord_1", RetryKind.WAITING, "waiting", {"id": "ord_1"})

    store.resolved("invoices", "ord_1")
    store.resolved("invoices", "never-set-aside")

    assert [(r.stream, r.source_id) for r in store.set_aside_records()] == [("customers", "ord_1")]
    store.set_aside("invoices", "ord_1", RetryKind.TRANSIENT, "timeout again", {"id": "ord_1"})
    (again,) = store.set_aside_records("invoices")
    assert (again.attempts, again.reason) == (1, "timeout again")


@pytest.mark.parametrize(
    ("kind", "fixable"),
    [(RetryKind.WAITING, True), (RetryKind.TRANSIENT, True), (RetryKind.QUARANTINED, True),
     (RetryKind.REJECTED, False)],
    ids=lambda v: v.value if isinstance(v, RetryKind) else str(v),
)
def test_only_rejected_records_need_a_new_source_version(kind: RetryKind, fixable: bool) -> None:
    assert kind.retry_can_fix is fixable


# The audit trail.


def test_audit_entries_come_back_in_order_with_their_details(store: LinkStore) -> None:
    store.record_audit([])  # nothing to write is not an error
    store.record_audit([
        {"run_id": "run-1", "stream": "customers", "action": "create", "customcrm_id": "cus_1",
         "fields": {"name": {"old": None, "new": "Ærø Fisk AS"}}},
        {"run_id": "run-1", "stream": "invoices", "action": "update", "customcrm_id": "ord_1", "invoiced_id": "4001",
         "fields": {"total": {"old": "1.00", "new": Decimal("12.50")}},
         "conflicts": [{"field": "total", "winner": "source"}]},
    ])
    store.record_audit([{"run_id": "run-2", "stream": "invoices", "action": "void", "invoiced_id": "4001",
                         "reason": "voided in the source"}])

    entries = store.audit_entries()
    assert [(e["run_id"], e["action"]) for e in entries] == [("run-1", "create"), ("run-1", "update"),
                                                             ("run-2", "void")]
    assert entries[0] == {
        "run_id": "run-1", "stream": "customers", "customcrm_id": "cus_1", "invoiced_id": None, "action": "create",
        "fields": {"name": {"old": None, "new": "Ærø Fisk AS"}},
    }
    assert entries[1]["fields"]["total"] == {"old": "1.00", "new": "12.50"}  # a Decimal as its exact text
    assert entries[1]["conflicts"] == [{"field": "total", "winner": "source"}]
    assert store.audit_entries("run-2") == [{
        "run_id": "run-2", "stream": "invoices", "customcrm_id": None, "invoiced_id": "4001", "action": "void",
        "reason": "voided in the source",
    }]
    assert store.audit_entries("run-3") == []


# Concurrency: the executor shares one store between its threads.

THREADS = 8
PER_THREAD = 15


def _work(store: LinkStore, thread: int, start: threading.Barrier, *, retry_of: str) -> None:
    start.wait()
    for n in range(PER_THREAD):
        crm, invoiced = f"cus_{thread}_{n}", f"{thread * 1000 + n}"
        key = store.pending("customer", "customcrm", crm, origin="customcrm", body_hash=BODY).idempotency_key
        store.save("customer", customcrm_id=crm, invoiced_id=invoiced, origin="customcrm", state=LinkState.LINKED,
                   bases={"invoiced": {"balance": Decimal(f"{n}.50")}})
        link = store.find("customer", "invoiced", invoiced)
        assert link is not None
        assert link.idempotency_key == key
        _link(store, "cus_shared", "9999", invoiced={"writer": thread})  # every thread writes this one link
        store.set_aside("customers", retry_of, RetryKind.TRANSIENT, f"thread {thread}", {"n": n})
        store.record_audit([{"run_id": "run-1", "stream": "customers", "action": "update", "customcrm_id": crm}])


def _run_threads(stores: list[LinkStore], retry_of: Callable[[int], str]) -> None:
    _link(stores[0], "cus_shared", "9999")
    start = threading.Barrier(THREADS)
    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(_work, stores[t], t, start, retry_of=retry_of(t)) for t in range(THREADS)]
    for future in futures:
        future.result()  # re-raises e.g. sqlite3.OperationalError: database is locked


def _check_all_written(store: LinkStore) -> None:
    links = {link.customcrm_id: link for link in store.links_of("customer")}
    assert len(links) == THREADS * PER_THREAD + 1
    for thread in range(THREADS):
        for n in range(PER_THREAD):
            link = links[f"cus_{thread}_{n}"]
            assert (link.invoiced_id, link.state) == (f"{thread * 1000 + n}", LinkState.LINKED)
            assert link.base("invoiced") == {"balance": Decimal(f"{n}.50")}
    assert links["cus_shared"].base("invoiced") in [{"writer": thread} for thread in range(THREADS)]
    assert sum(r.attempts for r in store.set_aside_records("customers")) == THREADS * PER_THREAD
    assert len(store.audit_entries("run-1")) == THREADS * PER_THREAD


def test_threads_sharing_one_store_write_concurrently_without_failing(store: LinkStore) -> None:
    _run_threads([store] * THREADS, retry_of=lambda _thread: "cus_shared")  # one retry row, counted by all
    _check_all_written(store)
    (shared,) = store.set_aside_records("customers")
    assert shared.attempts == THREADS * PER_THREAD


def test_stores_of_several_processes_write_one_database_concurrently_without_failing(open_store: OpenStore) -> None:
    """Both targets (and the other direction's retries) may run at once, each with its own store: the store's
    in-process lock does not order their writes, the database has to."""
    open_store().close()  # created once, before the writers start
    stores = [open_store() for _ in range(THREADS)]
    _run_threads(stores, retry_of=lambda thread: f"cus_retry_{thread}")
    _check_all_written(open_store())


def test_a_version_1_store_keeps_its_records_set_aside_for_the_target_that_set_them_aside(
    store_url: str, open_store: OpenStore
) -> None:
    # Version 1 keyed records set aside by stream alone; both targets have a `customers` stream.
    old = open_store()
    to_invoiced = {"_source": {"system": "customcrm", "id": "cus_1"}, "name": "A"}
    to_customcrm = {"_source": {"system": "invoiced", "id": "17"}, "name": "B"}
    old.set_aside("customers", "cus_1", RetryKind.REJECTED, "bad e-mail", to_invoiced)
    old.set_aside("customers", "17", RetryKind.HELD, "over max_deletes", to_customcrm)
    old.set_aside("sales_reps", "usr_1", RetryKind.REJECTED, "no e-mail", {"id": "usr_1"})
    old.close()
    _set_schema_version(store_url, 1)

    store = open_store()
    kept = {(r.stream, r.source_id) for r in store.set_aside_records()}
    assert kept == {("customers@invoiced", "cus_1"), ("customers@customcrm", "17"), ("sales_reps@invoiced", "usr_1")}
    assert store.version == SCHEMA_VERSION == 4
    assert [r.reason for r in store.set_aside_records("customers@customcrm")] == ["over max_deletes"]


def test_a_version_2_store_gains_the_body_hash_of_its_pending_creates(
    store_url: str, open_store: OpenStore
) -> None:
    old = open_store()
    old.pending("invoice", "customcrm", "ord_7", origin="customcrm", body_hash=BODY)
    old.close()
    engine = sa.create_engine(store_url)
    try:
        with engine.begin() as db:
            db.execute(sa.text("ALTER TABLE sync_links DROP COLUMN body_hash"))
    finally:
        engine.dispose()
    _set_schema_version(store_url, 2)

    store = open_store()
    assert store.version == SCHEMA_VERSION
    kept = store.find("invoice", "customcrm", "ord_7")
    assert kept is not None
    assert (kept.state, kept.body_hash) == (LinkState.PENDING, None)
    # A key written before bodies were hashed is not known to belong to this body: the next create gets a new one.
    again = store.pending("invoice", "customcrm", "ord_7", origin="customcrm", body_hash=BODY)
    assert again.idempotency_key != kept.idempotency_key
