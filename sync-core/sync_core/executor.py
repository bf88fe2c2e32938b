"""The executor: the one loop that carries every record of both targets, for every stream.

For each incoming record: fetch what the planner asks for, decide (sync_core.planner.decide), carry the plan out,
record the outcome. It reads the link and merge base first, the live record only when the source changed since
the base, the candidates only when there is no link yet. Carrying out is for real or a dry run
(sync_core.effects): the decisions are the same. The link store is updated after each durable write, so a crash
never loses a link it could not rebuild.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Protocol

import sqlalchemy as sa

from sync_core.client import RequestFailed, RunStopped, Stale
from sync_core.crashpoints import CrashPoints
from sync_core.effects import Blocked, Case, DryRun, Effects, Found, Unprocessable
from sync_core.matching import MatchIndex, MatchRule
from sync_core.outcomes import Outcomes
from sync_core.planner import UNREAD, Action, Incoming, Known, Live, Plan, Rules, Unread, agrees, decide, plan
from sync_core.store import LinkState, LinkStore, Retry, RetryKind, StoreUnavailable, retries_key
from sync_core.values import jsonable

__all__ = ["REJECT", "SOURCE", "Blocked", "DeleteBudget", "Destination", "Executor", "MatchRule", "Unprocessable"]

REJECT = "_reject"
SOURCE = "_source"
PAGE_SIZE = 100  # records per page of a full list read
UNCOUNTED_INDEX_THRESHOLD = 20  # unlinked records of a batch worth a full read, where the list has no count
CARRIER_INDEX_MAX = 2000  # a fan-out's carriers held whole for one batch at most (more: one look-up per record)
# How each plan that sets the record aside is kept, and how it is counted.
SET_ASIDE = {
    Action.REJECT: (RetryKind.REJECTED, "rejected"),
    Action.WAIT: (RetryKind.WAITING, "waiting"),
    Action.BLOCK: (RetryKind.BLOCKED, "rejected"),
    Action.QUARANTINE: (RetryKind.QUARANTINED, "conflicts"),
}
COUNTED = {Action.CREATE: "created", Action.UPDATE: "updated", Action.RECREATE: "updated",
           Action.CONFLICT: "conflicts"}


class Destination(Protocol):
    """One stream's destination, declared per system: what the executor may ask of it."""

    stream: str  # the incoming stream, e.g. "customers"
    entity: str  # the link store's name for the pair, e.g. "customer"
    side: str  # the destination system, e.g. "invoiced"
    source_side: str
    rules: Rules
    match_rules: Sequence[MatchRule]  # in order; the first one is the cross-reference the sync itself writes

    def prepare(self, record: Mapping[str, Any], *, final: bool) -> Incoming: ...

    def fetch(self, record_id: str) -> Live | None: ...

    def lookup(self, rule: MatchRule, value: Any) -> list[Live]: ...

    def list_all(self) -> Iterable[Live]: ...

    def count(self) -> int | None:
        """How many records a full list read would return, or None when the system cannot say cheaply."""
        ...

    def pick(self, versions: list[Mapping[str, Any]]) -> Mapping[str, Any]:
        """Of one record's versions in one batch, the one that counts."""
        ...

    def parents(self, records: Iterable[Mapping[str, Any]]) -> Mapping[str, Iterable[str]]:
        """Per parent entity, the source ids these records name (their links are read at once, not one by one)."""
        ...

    # A fan-out (sync_core.destination.FanOut) has no record of its own: it is written onto its carriers.
    fan_out: bool

    def carriers(self, source_id: str, index: MatchIndex | None = None) -> list[Live]:
        """A fan-out's destination records that carry the source record: from `index` when given, else looked up."""
        ...

    def index_carriers(self) -> MatchIndex:
        """A fan-out's carriers by the source record each carries, from one full list read (`count` of them)."""
        ...

    def carry_out(self, plan: Plan, incoming: Incoming, live: Live | None, idempotency_key: str | None) -> Live | None:
        ...

    def body(self, values: Mapping[str, Any], live: Live | None) -> Mapping[str, Any]:
        """What a write of these values sends (for a create, `live` is None)."""
        ...

    def peer_base(self, base: Mapping[str, Any], live: Live, incoming: Incoming) -> Mapping[str, Any] | None:
        """The same merge base in the source system's own shape, for the target writing the other way. A
        cross-reference in it is what the source is known to hold (else None), so one it lacks is written."""


class DeleteBudget:
    """The per-run cap on deletes, voids, archives and deactivations, across all streams."""

    def __init__(self, limit: int, logger: logging.Logger) -> None:
        self.limit, self.used, self.held = limit, 0, 0
        self.logger = logger
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self.used < self.limit:
                self.used += 1
                return True
            if self.held == 0:
                self.logger.warning(
                    "This run reached max_deletes=%d: further deletes are held back, not carried out (the rest of "
                    "the run goes on). If so many deletes are intended, raise max_deletes for one run to at least "
                    "the number held; if not, check the source system.", self.limit,
                )
            self.held += 1
            return False

    def verdict(self, source: str) -> str | None:
        """At the end of a run that held deletes back: how many, why, and the two ways on. None if none held."""
        if not self.held:
            return None
        return (f"max_deletes={self.limit} stopped a mass change: {source} asked for {self.used + self.held} "
                f"deletes in one run; {self.used} were carried out and {self.held} held back. If {source} lost those "
                "records by mistake (an empty or partial answer, the wrong account or API URL), fix that first: "
                f"nothing held is deleted. If the deletes are intended, run once with max_deletes of at least "
                f"{self.used + self.held}.")

    def room_for(self, count: int) -> bool:
        """Whether this run may still carry out `count` held deletes, all of them (a cap is a stop, not a pace)."""
        with self._lock:
            return self.used + count <= self.limit


class Executor:
    def __init__(
        self,
        store: LinkStore,
        outcomes: Outcomes,
        budget: DeleteBudget,
        *,
        max_in_flight: int,
        dry_run: bool,
        logger: logging.Logger,
        crashes: CrashPoints | None = None,
    ) -> None:
        self.store = store
        self.outcomes = outcomes
        self.budget = budget
        self.max_in_flight = max_in_flight
        self.logger = logger
        self.crashes = crashes or CrashPoints()
        self.effects: Effects | DryRun = (DryRun(store, outcomes, logger) if dry_run
                                          else Effects(store, outcomes, logger, self.crashes))
        self._indexes: dict[str, MatchIndex] = {}
        self._carriers: dict[str, MatchIndex] = {}  # a fan-out stream's carriers, for the batch being written
        self._index_lock = threading.Lock()
        self._claims: dict[tuple[str, str], str] = {}  # (entity, destination id) -> the source id it was matched to
        self.seen: set[tuple[str, str]] = set()  # (stream, source id) handled in this run

    # A batch of one stream.

    def run(self, destination: Destination, records: Sequence[Mapping[str, Any]], *, final: bool = False) -> None:
        latest = _latest_per_source(records, destination.pick)
        for record in latest:
            self.seen.add((destination.stream, _source_id(record)))
        refused = {r.source_id: _plain(r.record) for r in self.store.set_aside_records(_retries_key(destination))
                   if r.kind is RetryKind.REJECTED
                   or (r.kind is RetryKind.BLOCKED and not self._parent_changed_since(destination, r))}
        unchanged_rejects = [r for r in latest if _source_id(r) in refused and refused[_source_id(r)] == _plain(r)]
        if unchanged_rejects:
            # Refused before, exactly as it is now: only a new version of the record (or of the parent that
            # blocked it) can change the answer.
            self.outcomes.count(destination.stream, "rejected", len(unchanged_rejects))
            unchanged = {_source_id(r) for r in unchanged_rejects}  # one version per source id in `latest`
            latest = [r for r in latest if _source_id(r) not in unchanged]
        self._recall(destination, latest)
        if destination.fan_out:
            self._index_carriers(destination, latest)
        elif self._worth_an_index(destination, latest):
            self._index(destination)
        try:
            if self.max_in_flight <= 1 or len(latest) <= 1:
                for record in latest:
                    self._one(destination, record, final=final)
            else:
                with ThreadPoolExecutor(self.max_in_flight, thread_name_prefix=destination.stream) as pool:
                    for _ in pool.map(lambda r: self._one(destination, r, final=final), latest):
                        pass
        finally:
            # This batch's only: carriers the run writes later (a fan-out's parent streams drain after it) are
            # looked up by the next batch.
            self._carriers.pop(destination.stream, None)
        self.effects.end_of_batch()

    def retry_waiting(self, destination: Destination) -> None:
        """At the end of the input: this run's records that waited for a parent the input carried later."""
        waiting = self.effects.waiting(destination, self.seen)
        if waiting:
            self.logger.info("Retrying %d %s record(s) that waited for their references", len(waiting),
                             destination.stream)
            for _ in waiting:
                self.outcomes.uncount(destination.stream, "waiting")
            self.run(destination, waiting, final=True)

    def retry_earlier(self, destination: Destination) -> None:
        """Records set aside by earlier runs: those a retry can fix, those whose blocking parent's link changed since,
        and held deletes when this run's cap has room for all of them; never one this run brought anew."""
        earlier = [r for r in self.store.set_aside_records(_retries_key(destination))
                   if (destination.stream, r.source_id) not in self.seen]
        again = [r for r in earlier if r.kind.retry_can_fix
                 or (r.kind is RetryKind.BLOCKED and self._parent_changed_since(destination, r))]
        held = [r for r in earlier if r.kind is RetryKind.HELD]
        if held and self.budget.room_for(len(held)):
            again += held
        elif held:
            self.logger.warning(
                "%d %s delete(s) held back by max_deletes=%d are still held: raise max_deletes to at least %d for "
                "one run to carry them out, or restore the records in the source if they were deleted by mistake",
                len(held), destination.stream, self.budget.limit, len(held) + self.budget.used,
            )
        if again:
            self.logger.info("Retrying %d %s record(s) set aside by earlier runs", len(again), destination.stream)
            self.run(destination, [r.record for r in again], final=True)

    def _parent_changed_since(self, destination: Destination, blocked: Retry) -> bool:
        """Whether the link of the parent a BLOCKED record waits for was saved after the record was set aside (the
        parent written, or its state learnt from the other side). Read from the link store, so it survives a crash
        between the parent's write and the child's retry. A child tried again while its parent is still known to
        refuse it is set aside again without a request."""
        entity, _, parent_id = (blocked.blocked_on or "").partition(":")
        parent = self.store.find(entity, destination.source_side, parent_id) if parent_id else None
        saved = parent.updated_at if parent is not None else None
        return saved is not None and blocked.last_seen is not None and saved > blocked.last_seen

    def _recall(self, destination: Destination, records: Sequence[Mapping[str, Any]]) -> None:
        """The links a batch will look up (its records' own and their parents'), read in a few queries."""
        self.store.recall(destination.entity, destination.source_side, [_source_id(r) for r in records])
        for entity, source_ids in destination.parents(records).items():
            self.store.recall(entity, destination.source_side, source_ids)

    def _worth_an_index(self, destination: Destination, records: Sequence[Mapping[str, Any]]) -> bool:
        if destination.stream in self._indexes or not destination.match_rules:
            return False
        unlinked = 0
        for record in records:
            if REJECT in record or record[SOURCE].get("deleted_at") is not None:
                continue
            link = self.store.find(destination.entity, destination.source_side, _source_id(record))
            if link is None or link.state is LinkState.PENDING:
                unlinked += 1
        if unlinked < 2:
            return False
        # A record not linked yet costs up to one look-up per match rule; the full read, one request per page.
        total = destination.count()
        if total is None:
            return unlinked >= UNCOUNTED_INDEX_THRESHOLD
        pages = -(-total // PAGE_SIZE)
        return pages < unlinked * len(destination.match_rules)

    def _index_carriers(self, destination: Destination, records: Sequence[Mapping[str, Any]]) -> None:
        """A fan-out batch's carriers, read once when that costs fewer requests than one look-up per source record
        that changed (a first sync: every user is new, and its invoices are few or not written yet), and when they
        are few enough to hold whole (CARRIER_INDEX_MAX). A read that fails leaves each record to its look-up."""
        changed = sum(1 for record in records
                      if REJECT not in record and not self._spread_unchanged(
                          destination, destination.prepare(record, final=False)))
        if changed < 2:
            return
        try:
            total = destination.count()
            if total is None or total > CARRIER_INDEX_MAX or -(-total // PAGE_SIZE) >= changed:
                return
            self.logger.info("Reading the %d %s records that may carry %s in one list, for %d changed ones", total,
                             destination.side, destination.stream, changed)
            self._carriers[destination.stream] = destination.index_carriers()
        except RequestFailed as failure:
            self.logger.warning("Reading the %s records that carry %s failed (%s); each is looked up instead",
                                destination.side, destination.stream, failure)

    def _index(self, destination: Destination) -> MatchIndex:
        with self._index_lock:
            if destination.stream not in self._indexes:
                self.logger.info("Reading every %s in %s once to match records not linked yet",
                                 destination.entity, destination.side)
                self._indexes[destination.stream] = MatchIndex(destination.match_rules, destination.list_all())
            return self._indexes[destination.stream]

    # One record: fetch, decide, carry out, record.

    def _one(self, destination: Destination, record: Mapping[str, Any], *, final: bool) -> None:
        case = Case(destination, record, Incoming(_source_id(record), {}, None))
        try:
            case.incoming = self._incoming(destination, record, final=final)
            if destination.fan_out:
                self._spread(case)
            else:
                self._carry_out(case, self._decide(case))
        except RequestFailed as failure:
            kind = RetryKind.TRANSIENT if failure.transient else RetryKind.REJECTED
            reason = str(failure)
            if not failure.transient:
                reason += f"; fix the record in {destination.source_side} and it is sent again when it changes"
            self._set_aside(case, kind, reason, failure.answer)
        except Blocked as blocked:
            self._set_aside(case, RetryKind.BLOCKED, str(blocked), blocked.answer, blocked_on=":".join(blocked.parent))
        except Unprocessable as failure:
            self._set_aside(case, RetryKind.REJECTED, str(failure))
        except (RunStopped, sa.exc.SQLAlchemyError, StoreUnavailable):
            raise  # no record can succeed without the credentials or the link store: the run stops
        except Exception as failure:  # a bug, most likely: this record is set aside, the run goes on
            self.logger.exception("Unexpected failure on %s record %s", destination.stream, case.source_id)
            reason = (f"unexpected error {type(failure).__name__}: {failure} -- please report it with the record; "
                      "it is retried when the record changes")
            self._set_aside(case, RetryKind.REJECTED, reason)

    def _incoming(self, destination: Destination, record: Mapping[str, Any], *, final: bool) -> Incoming:
        if REJECT in record:  # refused by the mapping: nothing more can be read from it
            reject = record[REJECT]
            reason = f"{reject.get('field')}: {reject.get('reason')}; fix: {reject.get('fix')}"
            return Incoming(_source_id(record), {}, None, refused=reason)
        return destination.prepare(record, final=final)

    def _decide(self, case: Case, *, live: Live | Unread | None = UNREAD) -> Plan:
        """Ask the planner, making each read it asks for, until it decides. `live`: the record already read (None:
        read, and gone)."""
        destination, incoming = case.destination, case.incoming
        case.link = self.store.find(destination.entity, destination.source_side, incoming.source_id)
        link = case.link
        usable = link is not None and link.state is not LinkState.PENDING and link.id_on(destination.side)
        # A pending link, or one without this side's id, is a create that may or may not have happened: found
        # again by the first-link rules.
        known = Known(incoming, destination.side, destination.source_side,
                      linked=link.id_on(destination.side) if usable else None,
                      base=link.base(destination.side) if usable else None,
                      pending=link is not None)
        if not isinstance(live, Unread):
            known = _with(known, live=live) if usable else _with(known, candidates=() if live is None else (live,))
        while True:
            decided = decide(known, destination.rules)
            if decided.action is Action.READ_LIVE:
                known = _with(known, live=destination.fetch(str(known.linked)))
            elif decided.action is Action.FIND_OWN:
                rule = destination.match_rules[0] if destination.match_rules else None
                found = destination.lookup(rule, incoming.source_id) if rule and rule.same(incoming.source_id) else []
                known = _with(known, candidates=tuple(found))
            elif decided.action is Action.FIND_MATCHES:
                known = self._find_matches(case, known)
            else:
                case.live = known.live if not isinstance(known.live, Unread) else _only(known.candidates)
                return decided

    def _find_matches(self, case: Case, known: Known) -> Known:
        """The candidates of a first link: by each match rule in turn, the first that finds any; a record written
        earlier in this run (held by its keys alone) read whole; and the one candidate claimed for this record."""
        destination = case.destination
        found = self._candidates(destination, case.incoming)
        index = self._indexes.get(destination.stream)
        if len(found) == 1 and index is not None and not index.is_whole(found[0].id):
            fresh = destination.fetch(found[0].id)  # None if it is gone since
            found = [fresh] if fresh is not None else []
        contested = len(found) == 1 and not self._claim(destination, found[0].id, case.source_id)
        return _with(known, candidates=tuple(found), contested=contested)

    def _candidates(self, destination: Destination, incoming: Incoming) -> list[Live]:
        index = self._indexes.get(destination.stream)
        cross_ref = destination.match_rules[0].field if destination.match_rules else None
        for position, rule in enumerate(destination.match_rules):
            key = rule.same(incoming.values.get(rule.field))
            if key is None:
                continue
            if index is not None:
                hits = index.get(position, key)
            else:
                hits = destination.lookup(rule, incoming.values[rule.field])
            hits = [live for live in hits if self._free_for(destination, live, incoming.source_id, cross_ref)]
            if hits:
                return hits
        return []

    def _claim(self, destination: Destination, dest_id: str, source_id: str) -> bool:
        """One destination record can be the first link of one source record only, even in parallel."""
        with self._index_lock:
            owner = self._claims.setdefault((destination.entity, dest_id), source_id)
        return owner == source_id

    def _free_for(self, destination: Destination, live: Live, source_id: str, cross_ref: str | None) -> bool:
        """A candidate already linked to another source record is not a candidate."""
        if cross_ref is not None and live.values.get(cross_ref) not in (None, "", source_id):
            return False
        link = self.store.find(destination.entity, destination.side, live.id)
        return link is None or link.id_on(destination.source_side) in (None, source_id)

    def _carry_out(self, case: Case, decided: Plan) -> None:  # noqa: PLR0911 -- one branch per kind of plan
        destination, action = case.destination, decided.action
        if action in SET_ASIDE:
            kind, counted = SET_ASIDE[action]
            blocking = case.incoming.blocked if action is Action.BLOCK else None
            self._set_aside(case, kind, decided.reason, count_as=counted,
                            blocked_on=":".join(blocking.parent) if blocking is not None else None)
            return
        if action is Action.VANISHED:
            self.logger.info("%s %s: %s", destination.stream, case.source_id, decided.reason)
            self.effects.vanished(case)
            self.outcomes.count(destination.stream, "skipped")
            return
        if action is Action.CONFLICT:
            self.effects.conflict(case, decided)
            self._set_aside(case, RetryKind.REJECTED, decided.reason, count_as="conflicts")
            return
        if action.removes and not self.budget.take():
            reason = (f"held back: this run reached max_deletes ({self.budget.limit}); carried out by a run whose "
                      "max_deletes has room for every delete held")
            self._set_aside(case, RetryKind.HELD, reason, count_as="skipped")
            return
        if action is Action.NOOP and case.live is None and not decided.reason:
            self.effects.resolved(case)  # unchanged, or a delete of a record never linked: nothing to do
            self.outcomes.count(destination.stream, "unchanged")
            return
        if action is Action.CREATE:
            created = self.effects.create(case, decided)
            if isinstance(created, Found):  # created by an earlier attempt after all: linked, and merged into
                self._carry_out(case, self._decide(case, live=created.live))
                return
            self.crashes.reach("create-answered")
            self._written(case, decided, created)
            return
        try:
            after = self.effects.write(case, decided) if action.writes else case.live
        except Stale:
            self._stale(case)
            return
        self._written(case, decided, after)

    def _written(self, case: Case, decided: Plan, after: Live | None) -> None:
        """After a durable write (or a no-op): the index, the link and its base, the audit, the outcome."""
        index = self._indexes.get(case.destination.stream)
        if index is not None and after is not None and after is not case.live:
            index.add(after, whole=False)
        self.effects.written(case, decided, after)
        self._count(case, decided)

    def _stale(self, case: Case) -> None:
        """The record changed between our read and our write: read it again, plan again, and try once more."""
        destination = case.destination
        if case.retried_stale or case.live is None:
            reason = (f"the {destination.side} record changed again while it was being written: nothing was "
                      "written; the next run tries again")
            self._set_aside(case, RetryKind.TRANSIENT, reason, count_as="conflicts")
            return
        case.retried_stale = True
        # Gone since (None): vanished if it was linked, else no match any more.
        self._carry_out(case, self._decide(case, live=destination.fetch(case.live.id)))

    def _spread(self, case: Case) -> None:
        """A fan-out (sync_core.destination.FanOut): the source record's fields onto every destination record that
        carries it. A delete changes nothing (the carriers keep it as history); an unchanged record sends nothing."""
        destination, incoming = case.destination, case.incoming
        if incoming.refused is not None:
            self._set_aside(case, RetryKind.REJECTED, incoming.refused)
            return
        if self._spread_unchanged(destination, incoming):
            self.effects.resolved(case)
            self.outcomes.count(destination.stream, "unchanged")
            return
        written, failed = 0, []
        for live in destination.carriers(case.source_id, self._carriers.get(destination.stream)):
            # Planned against the carrier as it is: each field that differs is written.
            decided = plan(incoming, live, {name: live.values.get(name) for name in incoming.values},
                           destination.rules)
            if not decided.action.writes:
                continue
            carrier = Case(destination, case.record, incoming, live=live)
            try:
                after = self.effects.write(carrier, decided)
            except (RequestFailed, Stale) as failure:
                self.logger.warning("%s %s: %s record %s not updated: %s", destination.stream, case.source_id,
                                    destination.side, live.id, failure)
                failed.append(f"{live.id}: {failure}")
                continue
            self.effects.audit(carrier, decided, after)
            written += 1
        if failed:
            # Not stored as agreed: tried again next run, with the carriers that missed it.
            reason = (f"{len(failed)} of the {destination.side} records that carry it were not updated (the first: "
                      f"{failed[0]}); it is tried again next run")
            self._set_aside(case, RetryKind.TRANSIENT, reason)
            return
        self.effects.remember(case, incoming.values)
        self.effects.resolved(case)
        if written:
            self.logger.info("%s %s: written on %d %s record(s)", destination.stream, case.source_id, written,
                             destination.side)
        self.outcomes.count(destination.stream, "updated" if written else "unchanged")

    def _spread_unchanged(self, destination: Destination, incoming: Incoming) -> bool:
        """A fan-out's source record that writes nothing: deleted (its carriers keep it as history), or as last
        written."""
        link = self.store.find(destination.entity, destination.source_side, incoming.source_id)
        base = link.base(destination.side) if link is not None else None
        return incoming.deleted or (base is not None and agrees(incoming.values, base, destination.rules))

    # Outcomes.

    def _count(self, case: Case, decided: Plan) -> None:
        stream, action = case.destination.stream, decided.action
        outcome = COUNTED.get(action, "deleted" if action.removes else ("skipped" if decided.reason else "unchanged"))
        self.outcomes.count(stream, outcome)
        if outcome == "skipped":
            self.outcomes.skip(stream, case.source_id, decided.reason)
        if decided.clashes and action is not Action.CONFLICT:
            self.outcomes.count(stream, "conflicts")

    def _set_aside(self, case: Case, kind: RetryKind, reason: str, answer: Any = None, *,
                   count_as: str = "rejected", blocked_on: str | None = None) -> None:
        stream = case.destination.stream
        self.outcomes.count(stream, count_as)
        if count_as == "skipped":
            self.outcomes.skip(stream, case.source_id, reason)
        if kind is not RetryKind.WAITING:
            self.logger.warning("%s %s set aside (%s): %s", stream, case.source_id, kind.value, reason)
        self.effects.set_aside(case, kind, reason, answer, blocked_on=blocked_on)


def _with(known: Known, **read: Any) -> Known:
    return replace(known, **read)


def _only(candidates: tuple[Live, ...] | Any) -> Live | None:
    return candidates[0] if isinstance(candidates, tuple) and len(candidates) == 1 else None


def _retries_key(destination: Destination) -> str:
    return retries_key(destination.stream, destination.side)


def _plain(record: Mapping[str, Any]) -> Any:
    """The record as the link store gives it back (JSON, exact Decimals), for comparing with a stored one."""
    return json.loads(json.dumps(jsonable(record), sort_keys=True))


def _source_id(record: Mapping[str, Any]) -> str:
    return str(record[SOURCE]["id"])


def _latest_per_source(
    records: Iterable[Mapping[str, Any]], pick: Callable[[list[Mapping[str, Any]]], Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """A bookmark tie can send a record twice in one batch: the version the destination picks (the last, or e.g. a
    live item over its archived version), in first-seen order."""
    versions: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        versions.setdefault(_source_id(record), []).append(record)
    return [pick(found) if len(found) > 1 else found[0] for found in versions.values()]
