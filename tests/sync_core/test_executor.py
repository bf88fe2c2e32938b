"""The executor's decisions, without a server: a destination system held in memory, a real link store (SQLite).

Each test runs the executor the way a target does (a batch, then the end-of-input retries) and checks what the
destination system received, what the link store holds and how each record was counted.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sync_core.client import RequestFailed
from sync_core.destination import FanOut
from sync_core.executor import SOURCE, Blocked, DeleteBudget, Executor, MatchRule, Stale, Unprocessable
from sync_core.outcomes import Outcomes
from sync_core.planner import Action, Blocking, FieldRule, Incoming, Live, Plan, Rules
from sync_core.store import LinkState, LinkStore, RetryKind, retries_key
from sync_core.values import INVOICED_MAPS, casefolded

WAIT_AT_MOST = 30  # seconds: a test waits for a condition, and fails rather than hang if it never comes
LOG = logging.getLogger("test_executor")
STREAM, ENTITY, SIDE, SOURCE_SIDE = "customers", "customer", "invoiced", "customcrm"


class Ledger:
    """The destination system: its records by id, the requests made of it, and refusals queued for writes."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.requests: Counter[str] = Counter()
        self.keys: dict[str, str] = {}  # idempotency key -> the id created under it (replayed, as Invoiced does)
        self.keys_sent: list[str | None] = []
        self.refusals: list[Exception] = []  # raised by the next writes, in order
        self.stale_once: set[str] = set()  # ids whose next update is refused as changed since read
        self.gone_when_stale = False  # ... because the record was deleted meanwhile
        self.lose_answer_of_next_create = False
        self.countable = True  # whether a list read can say how many records it holds
        self.list_fails = False  # a full list read fails (after its retries)
        self.rendezvous: threading.Barrier | None = None  # look-ups wait for each other, to race two first links
        self.hold_updates_until: Callable[[], bool] | None = None  # updates wait for this (at most WAIT_AT_MOST)
        self._ids = itertools.count(1)

    def add(self, **values: Any) -> str:
        record_id = str(next(self._ids))
        self.records[record_id] = {"id": record_id, **values}
        return record_id

    def refuse_next(self, failure: Exception) -> None:
        self.refusals.append(failure)

    def write(self, kind: str) -> None:
        self.requests[kind] += 1
        if self.refusals:
            raise self.refusals.pop(0)

    def without(self, name: str) -> list[dict[str, Any]]:
        return [r for r in self.records.values() if not r.get(name)]


def refusal(message: str = "400 Bad Request: email is not valid", *, transient: bool = False) -> RequestFailed:
    return RequestFailed(message, status=None if transient else 400, answer={"message": message},
                         transient=transient)


@dataclass
class Customers:
    """A Destination (sync_core.executor.Destination) onto the ledger. A record's `parent` is a reference that
    must be linked first; `paid` locks a live record, as Invoiced locks a paid invoice."""

    ledger: Ledger
    store: LinkStore
    stream: str = STREAM
    entity: str = ENTITY
    side: str = SIDE
    source_side: str = SOURCE_SIDE
    rules: Rules = field(default_factory=lambda: Rules(
        fields={"email": FieldRule(same=casefolded)},
        locked=lambda live: "it is paid" if live.record.get("paid") else None,
    ))
    match_rules: tuple[MatchRule, ...] = (MatchRule("ref"), MatchRule("email", same=casefolded))
    maps = INVOICED_MAPS
    fan_out = False

    def parents(self, records: Iterable[Mapping[str, Any]]) -> dict[str, set[str]]:
        return {"parent": {str(r["parent"]) for r in records if r.get("parent") is not None}}

    def prepare(self, record: Mapping[str, Any], *, final: bool) -> Incoming:
        source = record[SOURCE]
        values = {name: value for name, value in record.items() if not name.startswith("_")}
        values["ref"] = str(source["id"])
        waiting = ()
        parent = values.get("parent")
        if parent is not None and self.store.find("parent", SOURCE_SIDE, parent) is None:
            waiting = (f"parent {parent}",)
        refused_by = values.pop("refused_by", None)  # a parent known to refuse a new record naming it
        blocked = Blocking(("parent", refused_by), f"parent {refused_by} refuses it") if refused_by else None
        return Incoming(str(source["id"]), values, None, source.get("deleted_at") is not None, waiting, blocked)

    def fetch(self, record_id: str) -> Live | None:
        self.ledger.requests["fetch"] += 1
        found = self.ledger.records.get(record_id)
        return None if found is None else self.live(found)

    def lookup(self, rule: MatchRule, value: Any) -> list[Live]:
        self.ledger.requests["lookup"] += 1
        if self.ledger.rendezvous is not None:
            self.ledger.rendezvous.wait(timeout=30)
        return [self.live(r) for r in self.ledger.records.values() if rule.same(r.get(rule.field)) == rule.same(value)]

    def list_all(self) -> Iterable[Live]:
        self.ledger.requests["list"] += 1
        if self.ledger.list_fails:
            raise refusal("503 Service Unavailable, after 5 tries", transient=True)
        return [self.live(r) for r in self.ledger.records.values()]

    def count(self) -> int | None:
        return len(self.ledger.records) if self.ledger.countable else None

    def pick(self, versions: list[Mapping[str, Any]]) -> Mapping[str, Any]:
        return versions[-1]

    def live(self, found: Mapping[str, Any]) -> Live:
        return Live(found["id"], {k: v for k, v in found.items() if k not in ("paid",)}, None, found)

    def carry_out(self, plan: Plan, incoming: Incoming, live: Live | None, idempotency_key: str | None) -> Live | None:
        ledger = self.ledger
        if plan.action is Action.CREATE:
            ledger.keys_sent.append(idempotency_key)
            if idempotency_key in ledger.keys:
                ledger.requests["create"] += 1
                return self.live(ledger.records[ledger.keys[idempotency_key]])
            ledger.write("create")
            record_id = ledger.add(**self.body(incoming.values, None))
            if idempotency_key is not None:
                ledger.keys[idempotency_key] = record_id
            if ledger.lose_answer_of_next_create:
                ledger.lose_answer_of_next_create = False
                raise refusal("no answer: the connection was reset", transient=True)
            return self.live(ledger.records[record_id])
        assert live is not None
        if plan.action is Action.UPDATE:
            _wait_for(ledger.hold_updates_until)
            ledger.write("update")
            if live.id in ledger.stale_once:
                ledger.stale_once.discard(live.id)
                if ledger.gone_when_stale:
                    del ledger.records[live.id]
                raise Stale("412 Precondition Failed")
            ledger.records[live.id].update(self.body(plan.updates, live))
            return self.live(ledger.records[live.id])
        ledger.write(plan.action.value)
        gone = ledger.records.pop(live.id)
        return Live(live.id, live.values, None, {**gone, "deleted": True})

    def body(self, values: Mapping[str, Any], live: Live | None) -> dict[str, Any]:
        return {name: value for name, value in values.items() if name != "id"}

    def peer_base(self, base: Mapping[str, Any], live: Live, incoming: Incoming) -> Mapping[str, Any] | None:
        return {f"peer.{name}": value for name, value in base.items()}


def _wait_for(condition: Callable[[], bool] | None) -> None:
    deadline = time.monotonic() + WAIT_AT_MOST
    while condition is not None and not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


class Harness:
    """One link store and ledger, and as many runs over them as a test needs (each a new executor, as a run is)."""

    def __init__(self, tmp_path: Path) -> None:
        self.ledger = Ledger()
        self.store = LinkStore(f"sqlite:///{tmp_path / 'links.db'}", "test")
        self.destination = Customers(self.ledger, self.store)
        self.tmp_path = tmp_path
        self.runs = 0

    def run(self, *records: Mapping[str, Any], dry_run: bool = False, max_deletes: int = 50,
            max_in_flight: int = 4) -> Outcomes:
        """One run: the batch, then this run's waiting records, then earlier runs' set-aside ones."""
        self.runs += 1
        self.plan = io.StringIO()
        outcomes = Outcomes(run_id=f"run{self.runs}", logger=LOG, rejects_path=self.tmp_path / "rejects.jsonl",
                            plan_out=self.plan)
        executor = Executor(self.store, outcomes, DeleteBudget(max_deletes, LOG), max_in_flight=max_in_flight,
                            dry_run=dry_run, logger=LOG)
        if records:
            executor.run(self.destination, list(records))
        executor.retry_waiting(self.destination)
        executor.retry_earlier(self.destination)
        return outcomes

    def link(self, source_id: str) -> Any:
        return self.store.find(ENTITY, SOURCE_SIDE, source_id)

    def set_aside(self) -> dict[str, tuple[RetryKind, str]]:
        return {r.source_id: (r.kind, r.reason)
                for r in self.store.set_aside_records(retries_key(STREAM, SIDE))}

    def planned(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.plan.getvalue().splitlines() if line.strip()]


@pytest.fixture
def sync(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(tmp_path)
    yield harness
    harness.store.close()


def customer(source_id: str, deleted: bool = False, **values: Any) -> dict[str, Any]:
    return {SOURCE: {"id": source_id, "system": SOURCE_SIDE, "deleted_at": "2026-12-01T00:00:00Z" if deleted
                     else None}, **values}


def counted(outcomes: Outcomes) -> dict[str, int]:
    return {name: n for name, n in outcomes.counts.get(STREAM, Counter()).items() if n}


# Creating, and finding again what was created.

def test_a_new_record_is_created_once_with_a_key_and_linked(sync: Harness) -> None:
    outcomes = sync.run(customer("c1", name="Fjord AS", email="post@fjord.no"))

    assert counted(outcomes) == {"created": 1}
    [made] = sync.ledger.records.values()
    assert made["name"] == "Fjord AS"
    assert made["ref"] == "c1"
    link = sync.link("c1")
    assert link.state is LinkState.LINKED
    assert link.invoiced_id == made["id"]
    assert link.base(SIDE)["email"] == "post@fjord.no"
    assert link.base(SOURCE_SIDE) == {f"peer.{k}": v for k, v in link.base(SIDE).items()}  # from peer_base
    assert sync.ledger.keys_sent[0] is not None


def test_the_same_record_again_costs_no_request(sync: Harness) -> None:
    sync.run(customer("c1", name="Fjord AS", email="post@fjord.no"))
    before = sync.ledger.requests.copy()

    outcomes = sync.run(customer("c1", name="Fjord AS", email="POST@fjord.no"))  # e-mails compare case-blind

    assert counted(outcomes) == {"unchanged": 1}
    assert sync.ledger.requests == before


def test_a_changed_field_is_updated_alone(sync: Harness) -> None:
    sync.run(customer("c1", name="Fjord AS", email="post@fjord.no"))
    made = next(iter(sync.ledger.records))
    sync.ledger.records[made]["phone"] = "+47 22 00 00 00"  # edited in the destination only

    outcomes = sync.run(customer("c1", name="Fjord Fisk AS", email="post@fjord.no"))

    assert counted(outcomes) == {"updated": 1}
    assert sync.ledger.records[made]["name"] == "Fjord Fisk AS"
    assert sync.ledger.records[made]["phone"] == "+47 22 00 00 00"
    assert sync.link("c1").base(SIDE)["name"] == "Fjord Fisk AS"
    *_, audited = sync.store.audit_entries()
    assert audited["action"] == "update"
    assert (audited["customcrm_id"], audited["invoiced_id"]) == ("c1", made)
    assert audited["fields"] == {"name": {"old": "Fjord AS", "new": "Fjord Fisk AS"}}


# First link.

def test_one_match_is_linked_and_merged_not_created(sync: Harness) -> None:
    existing = sync.ledger.add(name="Fjord AS", email="POST@FJORD.NO")

    outcomes = sync.run(customer("c1", name="Fjord AS", email="post@fjord.no"))

    assert counted(outcomes) == {"updated": 1}
    assert list(sync.ledger.records) == [existing]
    assert sync.ledger.records[existing]["ref"] == "c1"  # the cross-reference is written on it
    assert sync.link("c1").invoiced_id == existing


def test_a_first_link_that_differs_is_a_clash_the_source_wins(sync: Harness) -> None:
    existing = sync.ledger.add(name="Fjord", email="post@fjord.no")

    outcomes = sync.run(customer("c1", name="Fjord AS", email="post@fjord.no"))

    assert counted(outcomes) == {"updated": 1, "conflicts": 1}
    assert sync.ledger.records[existing]["name"] == "Fjord AS"
    assert sync.set_aside() == {}


def test_two_matches_are_quarantined_and_nothing_is_written(sync: Harness) -> None:
    first, second = sync.ledger.add(email="post@fjord.no"), sync.ledger.add(email="Post@Fjord.no")

    outcomes = sync.run(customer("c1", name="Fjord AS", email="post@fjord.no"))

    assert counted(outcomes) == {"conflicts": 1}
    kind, reason = sync.set_aside()["c1"]
    assert kind is RetryKind.QUARANTINED
    assert f"({first}, {second})" in reason
    assert "merge the duplicates" in reason
    assert sync.ledger.requests["create"] == sync.ledger.requests["update"] == 0


def test_a_match_linked_to_another_record_is_no_candidate(sync: Harness) -> None:
    existing = sync.ledger.add(email="post@fjord.no")

    outcomes = sync.run(customer("c1", email="post@fjord.no"), customer("c2", email="post@fjord.no"),
                        max_in_flight=1)

    assert counted(outcomes) == {"updated": 1, "created": 1}
    assert sync.link("c1").invoiced_id == existing
    assert sync.link("c2").invoiced_id not in (None, existing)


def test_two_records_racing_for_one_match_never_both_take_it(sync: Harness) -> None:
    existing = sync.ledger.add(email="post@fjord.no")
    sync.ledger.countable = False  # no full read for two records: each looks its match up
    sync.ledger.rendezvous = threading.Barrier(2)  # both have found the match before either writes
    sync.ledger.hold_updates_until = lambda: bool(sync.set_aside())  # and the one that lost it is set aside first

    outcomes = sync.run(customer("c1", email="post@fjord.no"), customer("c2", email="post@fjord.no"),
                        max_in_flight=2)

    assert counted(outcomes) == {"updated": 1, "conflicts": 1}
    [winner] = [source for source in ("c1", "c2") if sync.link(source) is not None]
    assert sync.link(winner).invoiced_id == existing
    [(loser, (kind, reason))] = sync.set_aside().items()
    assert loser != winner
    assert kind is RetryKind.QUARANTINED
    assert "another one of this run" in reason


def test_many_unlinked_records_are_matched_from_one_full_read(sync: Harness) -> None:
    for n in range(30):
        sync.ledger.add(email=f"c{n}@example.com")

    outcomes = sync.run(*(customer(f"c{n}", email=f"c{n}@example.com") for n in range(30)))

    assert counted(outcomes) == {"updated": 30}
    assert sync.ledger.requests["list"] == 1
    assert sync.ledger.requests["lookup"] == 0


# Waiting, blocked, refused.

def test_a_record_waits_for_its_parent_and_is_written_once_the_parent_is_linked(sync: Harness) -> None:
    outcomes = sync.run(customer("c1", name="Fjord AS", parent="p1"))

    assert counted(outcomes) == {"waiting": 1}
    assert sync.set_aside()["c1"] == (RetryKind.WAITING, "waiting for parent p1 to be linked")
    assert not sync.ledger.records

    sync.store.save("parent", customcrm_id="p1", invoiced_id="900", origin=SOURCE_SIDE, state=LinkState.LINKED)
    outcomes = sync.run()

    assert counted(outcomes) == {"created": 1}
    assert sync.set_aside() == {}


def test_a_blocked_record_waits_for_its_parent_to_change_not_for_every_run(sync: Harness) -> None:
    sync.store.save("parent", customcrm_id="p1", invoiced_id="900", origin=SOURCE_SIDE, state=LinkState.LINKED)
    sync.ledger.refuse_next(Blocked("parent p1 is inactive", parent=("parent", "p1")))
    record = customer("c1", name="Fjord AS", parent="p1")

    assert counted(sync.run(record)) == {"rejected": 1}
    assert sync.set_aside()["c1"][0] is RetryKind.BLOCKED

    # Neither a run without it nor one that brings it unchanged sends anything while the parent stays as it was.
    assert counted(sync.run()) == {}
    assert counted(sync.run(record)) == {"rejected": 1}
    assert sync.ledger.requests["create"] == 1

    sync.store.save("parent", customcrm_id="p1", invoiced_id="900", origin=SOURCE_SIDE, state=LinkState.LINKED,
                    bases={SIDE: {"active": True}})
    assert counted(sync.run()) == {"created": 1}
    assert sync.set_aside() == {}


def test_a_refused_record_is_rejected_with_the_fix_and_sent_again_only_when_it_changes(sync: Harness) -> None:
    sync.ledger.refuse_next(refusal())

    outcomes = sync.run(customer("c1", email="not an e-mail"))

    assert counted(outcomes) == {"rejected": 1}
    kind, reason = sync.set_aside()["c1"]
    assert kind is RetryKind.REJECTED
    assert reason == "400 Bad Request: email is not valid; fix the record in customcrm and it is sent again when it " \
                     "changes"
    [line] = (tmp := (sync.tmp_path / "rejects.jsonl").read_text().splitlines())
    assert json.loads(line)["source_id"] == "c1", tmp

    assert counted(sync.run(customer("c1", email="not an e-mail"))) == {"rejected": 1}
    assert counted(sync.run()) == {}
    assert sync.ledger.requests["create"] == 1

    assert counted(sync.run(customer("c1", email="post@fjord.no"))) == {"created": 1}
    first_key, second_key = sync.ledger.keys_sent
    assert first_key != second_key  # the refused key is never reused: it would be answered the refusal again
    assert sync.set_aside() == {}


def test_a_transient_failure_is_retried_by_the_next_run_without_the_record(sync: Harness) -> None:
    sync.ledger.refuse_next(refusal("503 Service Unavailable, after 5 tries", transient=True))

    assert counted(sync.run(customer("c1", name="Fjord AS"))) == {"rejected": 1}
    assert sync.set_aside()["c1"][0] is RetryKind.TRANSIENT

    assert counted(sync.run()) == {"created": 1}
    assert len(sync.ledger.records) == 1


def test_a_create_whose_answer_was_lost_is_found_again_not_repeated(sync: Harness) -> None:
    sync.ledger.lose_answer_of_next_create = True
    sync.run(customer("c1", name="Fjord AS"))
    assert sync.link("c1").state is LinkState.PENDING

    outcomes = sync.run()  # found by the cross-reference it carries, before any create

    assert counted(outcomes) == {"unchanged": 1}
    assert len(sync.ledger.records) == 1
    assert len(sync.ledger.keys_sent) == 1
    assert sync.link("c1").state is LinkState.LINKED


def test_a_refusal_under_an_inherited_key_looks_for_the_record_before_believing_it(sync: Harness) -> None:
    sync.ledger.lose_answer_of_next_create = True
    sync.run(customer("c1", name="Fjord AS"))
    [made] = sync.ledger.records
    # The next attempt, under the same key, is refused (a replayed answer that is about another attempt's body).
    sync.ledger.keys.clear()
    sync.ledger.refuse_next(refusal("400 Bad Request: name is required"))

    outcomes = sync.run()

    assert counted(outcomes) == {"unchanged": 1}
    assert list(sync.ledger.records) == [made]
    assert sync.link("c1").invoiced_id == made
    assert sync.set_aside() == {}


def test_a_doubtful_refusal_with_nothing_created_is_sent_once_more_with_a_new_key(sync: Harness) -> None:
    sync.ledger.refuse_next(refusal("no answer: the connection was reset", transient=True))
    sync.run(customer("c1", name="Fjord AS"))
    sync.ledger.refuse_next(refusal("400 Bad Request: name is required"))  # replayed under the inherited key

    outcomes = sync.run()

    assert counted(outcomes) == {"created": 1}
    assert len(sync.ledger.records) == 1
    inherited, replayed, fresh = sync.ledger.keys_sent
    assert inherited == replayed != fresh


def test_a_doubtful_refusal_that_stays_doubtful_is_transient_never_rejected(sync: Harness) -> None:
    sync.ledger.refuse_next(refusal("no answer", transient=True))
    sync.run(customer("c1", name="Fjord AS"))
    sync.ledger.refuse_next(refusal("400 Bad Request: name is required"))
    failure = refusal("400 Bad Request: name is required")
    failure.after_lost_answer = True
    sync.ledger.refuse_next(failure)

    assert counted(sync.run()) == {"rejected": 1}
    kind, reason = sync.set_aside()["c1"]
    assert kind is RetryKind.TRANSIENT
    assert "sent again next run" in reason


# Edits that cannot be carried out as planned.

def test_a_record_changed_between_read_and_write_is_read_again_and_written_once(sync: Harness) -> None:
    sync.run(customer("c1", name="Fjord AS"))
    made = next(iter(sync.ledger.records))
    sync.ledger.stale_once.add(made)

    outcomes = sync.run(customer("c1", name="Fjord Fisk AS"))

    assert counted(outcomes) == {"updated": 1}
    assert sync.ledger.requests["update"] == 2
    assert sync.ledger.records[made]["name"] == "Fjord Fisk AS"


def test_a_record_deleted_between_read_and_write_is_not_created_again(sync: Harness) -> None:
    sync.run(customer("c1", name="Fjord AS"))
    made = next(iter(sync.ledger.records))
    sync.ledger.stale_once.add(made)
    sync.ledger.gone_when_stale = True

    outcomes = sync.run(customer("c1", name="Fjord Fisk AS"))

    assert counted(outcomes) == {"skipped": 1}
    assert sync.ledger.requests["fetch"] == 2  # the read before the write, and the one after its refusal
    assert not sync.ledger.records
    assert sync.link("c1").state is LinkState.TOMBSTONED


def test_a_locked_record_is_a_conflict_nothing_is_written(sync: Harness) -> None:
    sync.run(customer("c1", name="Fjord AS"))
    made = next(iter(sync.ledger.records))
    sync.ledger.records[made]["paid"] = True

    outcomes = sync.run(customer("c1", name="Fjord Fisk AS"))

    assert counted(outcomes) == {"conflicts": 1}
    assert sync.ledger.records[made]["name"] == "Fjord AS"
    kind, reason = sync.set_aside()["c1"]
    assert (kind, reason) == (RetryKind.REJECTED, "it is paid")


def test_a_record_deleted_in_the_destination_is_not_created_again(sync: Harness) -> None:
    sync.run(customer("c1", name="Fjord AS"))
    sync.ledger.records.clear()

    outcomes = sync.run(customer("c1", name="Fjord Fisk AS"))

    assert counted(outcomes) == {"skipped": 1}
    assert not sync.ledger.records
    assert sync.link("c1").state is LinkState.TOMBSTONED


def test_deletes_over_the_cap_are_held_until_a_run_has_room_for_all(sync: Harness) -> None:
    sync.run(*(customer(f"c{n}", name=f"Firm {n}") for n in range(3)))

    outcomes = sync.run(*(customer(f"c{n}", deleted=True) for n in range(3)), max_deletes=1)

    assert counted(outcomes) == {"deleted": 1, "skipped": 2}
    assert len(sync.ledger.records) == 2
    assert {kind for kind, _ in sync.set_aside().values()} == {RetryKind.HELD}

    assert counted(sync.run(max_deletes=1)) == {}  # room for one of two: none of them
    assert len(sync.ledger.records) == 2

    assert counted(sync.run(max_deletes=2)) == {"deleted": 2}
    assert not sync.ledger.records
    assert sync.set_aside() == {}


def test_a_delete_of_a_record_never_linked_touches_nothing(sync: Harness) -> None:
    sync.ledger.add(email="post@fjord.no", ref="c1")

    outcomes = sync.run(customer("c1", deleted=True, email="post@fjord.no"))

    assert counted(outcomes) == {"unchanged": 1}
    assert len(sync.ledger.records) == 1


def test_a_record_the_mapping_refused_is_set_aside_with_its_field_and_fix(sync: Harness) -> None:
    record = {**customer("c1"), "_reject": {"field": "currency", "reason": "'XBT' is no currency",
                                            "fix": "set an ISO 4217 code"}}

    assert counted(sync.run(record)) == {"rejected": 1}
    assert sync.set_aside()["c1"] == (RetryKind.REJECTED, "currency: 'XBT' is no currency; fix: set an ISO 4217 code")
    assert not sync.ledger.requests


def test_an_unexpected_error_sets_the_record_aside_and_the_run_goes_on(sync: Harness) -> None:
    sync.ledger.refuse_next(KeyError("name"))

    outcomes = sync.run(customer("c1", name="Fjord AS"), customer("c2", name="Nord AS"), max_in_flight=1)

    assert counted(outcomes) == {"rejected": 1, "created": 1}
    kind, reason = sync.set_aside()["c1"]
    assert kind is RetryKind.REJECTED
    assert reason.startswith("unexpected error KeyError: 'name' -- please report it")


def test_an_unprocessable_record_is_rejected_with_the_destinations_reason(sync: Harness) -> None:
    sync.ledger.refuse_next(Unprocessable("customer cus_9 was deleted in Invoiced: restore it"))

    assert counted(sync.run(customer("c1", name="Fjord AS"))) == {"rejected": 1}
    assert sync.set_aside()["c1"] == (RetryKind.REJECTED, "customer cus_9 was deleted in Invoiced: restore it")


# A dry run.

def test_a_dry_run_plans_and_counts_but_writes_nothing(sync: Harness) -> None:
    existing = sync.ledger.add(email="nord@example.com", name="Nord AS")

    outcomes = sync.run(customer("c1", name="Fjord AS", email="post@fjord.no"),
                        customer("c2", name="Nord AS", email="nord@example.com"),
                        customer("c3", name="Sør AS", parent="p1"), dry_run=True)

    assert counted(outcomes) == {"created": 1, "updated": 1, "waiting": 1}
    assert sync.ledger.records == {existing: {"id": existing, "email": "nord@example.com", "name": "Nord AS"}}
    assert sync.ledger.requests["create"] == sync.ledger.requests["update"] == 0
    stored = LinkStore(f"sqlite:///{sync.tmp_path / 'links.db'}", "test")  # past the run's imagined links
    assert stored.find(ENTITY, SOURCE_SIDE, "c1") is None
    assert stored.find(ENTITY, SOURCE_SIDE, "c2") is None
    stored.close()
    assert sync.set_aside() == {}
    planned = {entry["source_id"]: entry for entry in sync.planned()}
    assert planned["c1"]["action"] == "create"
    assert planned["c2"]["action"] == "update"
    assert planned["c2"]["fields"] == {"ref": {"old": None, "new": "c2"}}
    assert planned["c3"]["action"] == "waiting"


def test_a_create_its_parent_refuses_is_blocked_without_being_sent_and_so_is_its_dry_run(sync: Harness) -> None:
    outcomes = sync.run(customer("c9", name="Sør AS", refused_by="p9"), dry_run=True)

    assert counted(outcomes) == {"rejected": 1}
    assert [entry["action"] for entry in sync.planned()] == ["blocked"]
    assert sync.set_aside() == {}

    assert counted(sync.run(customer("c9", name="Sør AS", refused_by="p9"))) == {"rejected": 1}
    assert sync.set_aside()["c9"] == (RetryKind.BLOCKED, "parent p9 refuses it")
    assert sync.ledger.requests["create"] == 0  # looked for (a match would be linked), never sent
    assert sync.store.set_aside_records(retries_key(STREAM, SIDE))[0].blocked_on == "parent:p9"


def test_a_dry_run_holds_deletes_over_the_cap_as_a_real_run_would(sync: Harness) -> None:
    sync.run(*(customer(f"c{n}", name=f"Firm {n}") for n in range(3)))

    outcomes = sync.run(*(customer(f"c{n}", deleted=True) for n in range(3)), max_deletes=1, dry_run=True)

    assert counted(outcomes) == {"deleted": 1, "skipped": 2}
    assert len(sync.ledger.records) == 3
    assert sync.set_aside() == {}
    assert sorted(entry["action"] for entry in sync.planned()) == ["delete", "held", "held"]


# A fan-out: one source record written onto every destination record that carries it.

class Reps(FanOut):
    stream = "sales_reps"
    entity = "user"
    fields = ("rep_name", "rep_email")
    carried_by = MatchRule("rep")
    rules = Rules(fields={"rep_email": FieldRule(same=casefolded)})


def rep(user_id: str, deleted: bool = False, **values: Any) -> dict[str, Any]:
    return customer(user_id, deleted, **values)


def test_a_fan_out_writes_each_carrier_once_and_then_nothing(sync: Harness) -> None:
    reps = Reps(sync.destination)
    carriers = [sync.ledger.add(rep="u1", rep_name="Kari") for _ in range(2)]
    paid = sync.ledger.add(rep="u1", rep_name="Kari", paid=True)
    other = sync.ledger.add(rep="u2", rep_name="Ola")
    sync.destination = reps

    outcomes = sync.run(rep("u1", rep_name="Kari Nordmann", rep_email="kari@example.com"))

    assert outcomes.counts["sales_reps"]["updated"] == 1
    for carrier in carriers:
        assert sync.ledger.records[carrier]["rep_name"] == "Kari Nordmann"
        assert sync.ledger.records[carrier]["rep_email"] == "kari@example.com"
    assert sync.ledger.records[paid]["rep_name"] == "Kari"  # a locked carrier keeps what it was issued with
    assert sync.ledger.records[other]["rep_name"] == "Ola"
    assert sync.store.find("user", SOURCE_SIDE, "u1").base(SIDE) == {"rep_name": "Kari Nordmann",
                                                                    "rep_email": "kari@example.com"}
    assert [e["invoiced_id"] for e in sync.store.audit_entries()] == carriers
    before = sync.ledger.requests.copy()

    outcomes = sync.run(rep("u1", rep_name="Kari Nordmann", rep_email="KARI@example.com"),
                        rep("u2", deleted=True, rep_name="Ola"))

    assert outcomes.counts["sales_reps"]["unchanged"] == 2
    assert sync.ledger.requests == before
    assert sync.ledger.records[other]["rep_name"] == "Ola"  # a deleted user stays on its carriers, as history


@pytest.mark.parametrize("countable", [True, False])
def test_a_fan_out_of_many_changed_records_reads_the_carriers_once_when_that_is_fewer_requests(
        sync: Harness, countable: bool) -> None:
    reps = Reps(sync.destination)
    carriers = {user: [sync.ledger.add(rep=user, rep_name="old") for _ in range(2)] for user in ("u1", "u2", "u3")}
    paid = sync.ledger.add(rep="u1", rep_name="old", paid=True)
    sync.ledger.countable = countable  # without a count, a full read's cost is unknown: one look-up each
    sync.destination = reps

    outcomes = sync.run(*(rep(user, rep_name=f"name of {user}") for user in ("u1", "u2", "u3", "u4")))

    reads = {kind: n for kind, n in sync.ledger.requests.items() if kind in ("list", "lookup")}
    assert reads == ({"list": 1} if countable else {"lookup": 4})
    assert outcomes.counts["sales_reps"]["updated"] == 3
    assert outcomes.counts["sales_reps"]["unchanged"] == 1  # u4: no invoice carries it yet
    for user, ids in carriers.items():
        assert [sync.ledger.records[i]["rep_name"] for i in ids] == [f"name of {user}"] * 2
    assert sync.ledger.records[paid]["rep_name"] == "old"  # found in the full read too, and still locked
    assert sync.ledger.requests["update"] == 6



def test_a_fan_out_read_of_the_carriers_serves_its_own_batch_only(sync: Harness) -> None:
    sync.ledger.add(rep="u1", rep_name="old")
    sync.destination = reps = Reps(sync.destination)
    executor = Executor(sync.store, Outcomes(run_id="run", logger=LOG), DeleteBudget(50, LOG), max_in_flight=4,
                        dry_run=False, logger=LOG)
    executor.run(reps, [rep(user, rep_name=f"name of {user}") for user in ("u1", "u2", "u3")])
    assert sync.ledger.requests["list"] == 1

    later = sync.ledger.add(rep="u2", rep_name="old")  # written after that read, within the same run
    executor.run(reps, [rep("u2", rep_name="new name of u2")])  # one record: looked up, not worth a read

    assert sync.ledger.records[later]["rep_name"] == "new name of u2"
    assert sync.ledger.requests["lookup"] == 1


def test_a_fan_out_whose_carrier_read_fails_looks_each_record_up(sync: Harness) -> None:
    carrier = sync.ledger.add(rep="u1", rep_name="old")
    sync.destination = Reps(sync.destination)
    sync.ledger.list_fails = True

    outcomes = sync.run(*(rep(user, rep_name=f"name of {user}") for user in ("u1", "u2")))

    assert sync.ledger.requests["lookup"] == 2
    assert outcomes.counts["sales_reps"]["updated"] == 1
    assert sync.ledger.records[carrier]["rep_name"] == "name of u1"


def test_a_fan_out_with_more_carriers_than_it_holds_looks_each_record_up(
        sync: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sync_core.executor.CARRIER_INDEX_MAX", 2)
    for user in ("u1", "u2", "u3"):
        sync.ledger.add(rep=user, rep_name="old")
    sync.destination = Reps(sync.destination)

    sync.run(*(rep(user, rep_name=f"name of {user}") for user in ("u1", "u2", "u3")))

    assert sync.ledger.requests["lookup"] == 3
    assert sync.ledger.requests["list"] == 0


def test_a_fan_out_a_carrier_refused_is_retried_next_run(sync: Harness) -> None:
    reps = Reps(sync.destination)
    carrier = sync.ledger.add(rep="u1", rep_name="Kari")
    sync.destination = reps
    sync.ledger.refuse_next(refusal("503 Service Unavailable, after 5 tries", transient=True))

    outcomes = sync.run(rep("u1", rep_name="Kari Nordmann"))

    assert outcomes.counts["sales_reps"]["rejected"] == 1
    [retry] = sync.store.set_aside_records(retries_key("sales_reps", SIDE))
    assert retry.kind is RetryKind.TRANSIENT
    assert f"{carrier}: 503 Service Unavailable" in retry.reason
    assert sync.store.find("user", SOURCE_SIDE, "u1") is None  # not agreed yet: nothing remembered

    outcomes = sync.run()

    assert outcomes.counts["sales_reps"]["updated"] == 1
    assert sync.ledger.records[carrier]["rep_name"] == "Kari Nordmann"
    assert sync.store.set_aside_records(retries_key("sales_reps", SIDE)) == []
