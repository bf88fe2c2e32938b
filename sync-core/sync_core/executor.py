"""The executor: the one create-or-update loop, for every stream of both targets.

For each incoming record it reads what the planner needs (the link, the merge base, the live record only when the
source changed since the base, candidates when there is no link yet), asks the planner for a plan, carries the plan
out through the stream's `Destination`, and records the outcome. The link store is updated after each durable
write, so a crash never loses a link it could not rebuild.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa

from sync_core.client import RequestFailed, RunStopped, Stale
from sync_core.crashpoints import CrashPoints
from sync_core.outcomes import Outcomes
from sync_core.planner import Action, Incoming, Live, Plan, Rules, plan
from sync_core.store import Link, LinkState, LinkStore, Retry, RetryKind, StoreUnavailable, retries_key
from sync_core.values import Canonical, canonical, jsonable

REJECT = "_reject"
SOURCE = "_source"
PAGE_SIZE = 100  # records per page of a full list read
UNCOUNTED_INDEX_THRESHOLD = 20  # unlinked records of a batch worth a full read, where the list has no count


class Unprocessable(Exception):
    """A record the destination cannot take as it is (e.g. a reference that can never resolve): a reject."""


class Blocked(Exception):
    """Refused because of a parent's state (a new invoice for an inactive customer): retried when the parent is
    written again, not before (so a quiet run sends nothing)."""

    def __init__(self, message: str, *, parent: tuple[str, str], answer: Any = None,
                 after_lost_answer: bool = False) -> None:
        super().__init__(message)
        self.parent = parent  # (entity, source id)
        self.answer = answer
        self.after_lost_answer = after_lost_answer  # see RequestFailed


@dataclass(frozen=True)
class MatchRule:
    """One first-link rule: records whose `field` is the same (by `same`) are the same record."""

    field: str
    same: Canonical = canonical


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

    # A fan-out (sync_core.destination.FanOut) has no record of its own: it is written onto its carriers.
    fan_out: bool

    def carriers(self, source_id: str) -> list[Live]:
        """A fan-out's destination records that carry the source record."""
        ...

    def carry_out(self, plan: Plan, incoming: Incoming, live: Live | None, idempotency_key: str | None) -> Live | None:
        ...

    def body(self, values: Mapping[str, Any], live: Live | None) -> Mapping[str, Any]:
        """What a write of these values sends (for a create, `live` is None)."""
        ...

    def peer_base(self, base: Mapping[str, Any], live: Live, incoming: Incoming) -> Mapping[str, Any] | None:
        """The same merge base in the source system's own shape, for the target writing the other way. A
        cross-reference in it is what the source is known to hold (else None), so one it lacks is written."""


def _retries_key(destination: Destination) -> str:
    return retries_key(destination.stream, destination.side)


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


class MatchIndex:
    """Live records of one destination by each match rule's key, built from one full list read."""

    def __init__(self, rules: Sequence[MatchRule], records: Iterable[Live]) -> None:
        self.rules = rules
        self._by_rule: list[dict[Any, dict[str, Live]]] = [{} for _ in rules]
        self._keys: list[dict[str, Any]] = [{} for _ in rules]  # per rule: record id -> its key, to replace it
        self._keys_only: set[str] = set()  # ids held by their match keys alone
        self._lock = threading.Lock()
        for live in records:
            self.add(live)

    def add(self, live: Live, *, whole: bool = True) -> None:
        """Add a record, or replace the version held of it. A record this run wrote is held by its match keys alone
        (`whole=False`): a run may write tens of thousands, and few of them are matched again (`is_whole` says
        which to fetch then), so the index grows by keys, not by whole records."""
        if not whole:
            live = Live(live.id, {rule.field: live.values.get(rule.field) for rule in self.rules}, live.updated_at)
        with self._lock:
            if whole:
                self._keys_only.discard(live.id)
            else:
                self._keys_only.add(live.id)
            for rule, keyed, keys in zip(self.rules, self._by_rule, self._keys, strict=True):
                old = keys.pop(live.id, None)
                if old is not None:
                    keyed[old].pop(live.id, None)
                key = rule.same(live.values.get(rule.field))
                if key is not None:
                    keyed.setdefault(key, {})[live.id] = live
                    keys[live.id] = key

    def get(self, rule_index: int, key: Any) -> list[Live]:
        with self._lock:
            return list(self._by_rule[rule_index].get(key, {}).values())

    def is_whole(self, record_id: str) -> bool:
        with self._lock:
            return record_id not in self._keys_only


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
        self.crashes = crashes or CrashPoints()
        self.outcomes = outcomes
        self.budget = budget
        self.max_in_flight = max_in_flight
        self.dry_run = dry_run
        self.logger = logger
        self._indexes: dict[str, MatchIndex] = {}
        self._index_lock = threading.Lock()
        self._claims: dict[tuple[str, str], str] = {}  # (entity, destination id) -> the source id it was matched to
        self.seen: set[tuple[str, str]] = set()  # (stream, source id) handled in this run
        self._dry_waiting: dict[str, list[Mapping[str, Any]]] = {}  # a dry run stores nothing: its waiting records

    # A batch of one stream.

    def run(self, destination: Destination, records: Sequence[Mapping[str, Any]], *, final: bool = False) -> None:
        latest = _latest_per_source(records, destination.pick)
        for record in latest:
            self.seen.add((destination.stream, _source_id(record)))
        refused = {r.source_id: _plain(r.record) for r in self.store.set_aside_records(_retries_key(destination))
                   if r.kind is RetryKind.REJECTED
                   or (r.kind is RetryKind.BLOCKED and not self._parent_changed_since(destination, r))}
        unchanged_rejects = [r for r in latest if refused.get(_source_id(r)) == _plain(r)]
        if unchanged_rejects:
            # Refused before, exactly as it is now: only a new version of the record (or of the parent that
            # blocked it) can change the answer.
            self.outcomes.count(destination.stream, "rejected", len(unchanged_rejects))
            latest = [r for r in latest if refused.get(_source_id(r)) != _plain(r)]
        if self._worth_an_index(destination, latest):
            self._index(destination)
        if self.max_in_flight <= 1 or len(latest) <= 1:
            for record in latest:
                self._one(destination, record, final=final)
        else:
            with ThreadPoolExecutor(self.max_in_flight, thread_name_prefix=destination.stream) as pool:
                for _ in pool.map(lambda r: self._one(destination, r, final=final), latest):
                    pass
        if not self.dry_run:
            self.store.record_audit(self.outcomes.take_audit())

    def retry_waiting(self, destination: Destination) -> None:
        """At the end of the input: this run's records that waited for a parent the input carried later."""
        if self.dry_run:
            waiting = self._dry_waiting.pop(destination.stream, [])
        else:
            waiting = [r.record for r in self.store.set_aside_records(_retries_key(destination))
                       if r.kind is RetryKind.WAITING and (destination.stream, r.source_id) in self.seen]
        if waiting:
            self.logger.info("Retrying %d %s record(s) that waited for their references", len(waiting),
                             destination.stream)
            for _ in waiting:
                self.outcomes.uncount(destination.stream, "waiting")
            self.run(destination, waiting, final=True)

    def retry_earlier(self, destination: Destination) -> None:
        """Records set aside by earlier runs: those a retry can fix, those whose blocking parent was written in
        this run, and held deletes when this run's cap has room for all of them; never one this run brought anew."""
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
        refuse it is set aside again without a request (see the destination's rules)."""
        entity, _, parent_id = (blocked.blocked_on or "").partition(":")
        parent = self.store.find(entity, destination.source_side, parent_id) if parent_id else None
        saved = parent.updated_at if parent is not None else None
        return saved is not None and blocked.last_seen is not None and saved > blocked.last_seen

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

    def _index(self, destination: Destination) -> MatchIndex:
        with self._index_lock:
            if destination.stream not in self._indexes:
                self.logger.info("Reading every %s in %s once to match records not linked yet",
                                 destination.entity, destination.side)
                self._indexes[destination.stream] = MatchIndex(destination.match_rules, destination.list_all())
            return self._indexes[destination.stream]

    # One record.

    def _one(self, destination: Destination, record: Mapping[str, Any], *, final: bool) -> None:
        stream, source_id = destination.stream, _source_id(record)
        try:
            self._sync(destination, record, final=final)
        except RequestFailed as failure:
            kind = RetryKind.TRANSIENT if failure.transient else RetryKind.REJECTED
            reason = str(failure)
            if not failure.transient:
                reason += f"; fix the record in {destination.source_side} and it is sent again when it changes"
            self._set_aside(destination, record, kind, reason, failure.answer)
        except Blocked as blocked:
            self._set_aside(destination, record, RetryKind.BLOCKED, str(blocked), blocked.answer,
                            blocked_on=":".join(blocked.parent))
        except Unprocessable as failure:
            self._set_aside(destination, record, RetryKind.REJECTED, str(failure))
        except (RunStopped, sa.exc.SQLAlchemyError, StoreUnavailable):
            raise  # no record can succeed without the credentials or the link store: the run stops
        except Exception as failure:  # a bug, most likely: this record is set aside, the run goes on
            self.logger.exception("Unexpected failure on %s record %s", stream, source_id)
            reason = (f"unexpected error {type(failure).__name__}: {failure} -- please report it with the record; "
                      "it is retried when the record changes")
            self._set_aside(destination, record, RetryKind.REJECTED, reason)

    def _sync(self, destination: Destination, record: Mapping[str, Any], *, final: bool) -> None:
        source_id = _source_id(record)
        if REJECT in record:
            reject = record[REJECT]
            reason = f"{reject.get('field')}: {reject.get('reason')}; fix: {reject.get('fix')}"
            self._set_aside(destination, record, RetryKind.REJECTED, reason, count_as="rejected")
            return
        incoming = destination.prepare(record, final=final)
        if destination.fan_out:
            self._spread(destination, record, incoming)
            return
        link = self.store.find(destination.entity, destination.source_side, source_id)
        if link is not None and (link.state is LinkState.PENDING or not link.id_on(destination.side)):
            link = None  # a create that may or may not have happened: found again by the first-link rules
        base = link.base(destination.side) if link is not None else None
        if incoming.deleted and link is None:
            self._delete_unlinked(destination, record, incoming)
        elif incoming.waiting_on:
            reason = "waiting for " + ", ".join(incoming.waiting_on) + " to be linked"
            self._set_aside(destination, record, RetryKind.WAITING, reason, count_as="waiting")
        elif base is not None and not incoming.deleted and _agrees(incoming.values, base, destination.rules):
            self._done(destination, source_id, "unchanged")  # the source did not change: no request at all
        elif link is not None:
            live = destination.fetch(str(link.id_on(destination.side)))
            if live is None or destination.rules.vanished(live, base):
                self._vanished(destination, link, source_id)
            else:
                self._carry_out(destination, record=record, incoming=incoming, live=live, link=link,
                                decided=plan(incoming, live, base, destination.rules))
        else:
            self._first_link(destination, record, incoming)

    def _spread(self, destination: Destination, record: Mapping[str, Any], incoming: Incoming) -> None:
        """A fan-out (sync_core.destination.FanOut): the source record's fields onto every destination record that
        carries it. A delete changes nothing (the carriers keep it as history); an unchanged record sends nothing."""
        source_id = incoming.source_id
        link = self.store.find(destination.entity, destination.source_side, source_id)
        base = link.base(destination.side) if link is not None else None
        if incoming.deleted or (base is not None and _agrees(incoming.values, base, destination.rules)):
            self._done(destination, source_id, "unchanged")
            return
        written, failed = 0, []
        for live in destination.carriers(source_id):
            # Planned against the carrier as it is: each field that differs is written.
            decided = plan(incoming, live, {name: live.values.get(name) for name in incoming.values},
                           destination.rules)
            if not decided.action.writes:
                continue
            if self.dry_run:
                self._show(destination, incoming, live, decided)
                written += 1
                continue
            try:
                after = destination.carry_out(decided, incoming, live, None)
            except (RequestFailed, Stale) as failure:
                self.logger.warning("%s %s: %s record %s not updated: %s", destination.stream, source_id,
                                    destination.side, live.id, failure)
                failed.append(f"{live.id}: {failure}")
                continue
            self._audit(destination, incoming, live, decided, after)
            written += 1
        if failed:
            # Not stored as agreed: tried again next run, with the carriers that missed it.
            reason = (f"{len(failed)} of the {destination.side} records that carry it were not updated (the first: "
                      f"{failed[0]}); it is tried again next run")
            self._set_aside(destination, record, RetryKind.TRANSIENT, reason)
            return
        if not self.dry_run:
            ids = {"customcrm_id": None, "invoiced_id": None, f"{destination.source_side}_id": source_id}
            self.store.save(destination.entity, **ids, origin=destination.source_side, state=LinkState.LINKED,
                            bases={destination.side: dict(incoming.values)})
        if written:
            self.logger.info("%s %s: written on %d %s record(s)", destination.stream, source_id, written,
                             destination.side)
        self._done(destination, source_id, "updated" if written else "unchanged")

    def _delete_unlinked(self, destination: Destination, record: Mapping[str, Any], incoming: Incoming) -> None:
        """Only records the sync created or linked are touched: with no link, only one a create of ours may have
        made before a crash, found by the cross-reference the sync writes, is."""
        pending = self.store.find(destination.entity, destination.source_side, incoming.source_id)
        found = []
        if pending is not None and destination.match_rules:
            rule = destination.match_rules[0]
            found = destination.lookup(rule, incoming.source_id) if rule.same(incoming.source_id) else []
        if len(found) != 1:
            self._done(destination, incoming.source_id, "unchanged")
            return
        self._carry_out(destination, record=record, incoming=incoming, live=found[0], link=pending,
                        decided=plan(incoming, found[0], None, destination.rules))

    def _first_link(self, destination: Destination, record: Mapping[str, Any], incoming: Incoming) -> None:
        """No link yet: exactly one candidate is linked, several are a conflict, none is a create."""
        found = self._candidates(destination, incoming)
        if len(found) > 1:
            ids = ", ".join(sorted(c.id for c in found))
            reason = (f"{len(found)} {destination.side} records match and none is linked yet ({ids}): "
                      f"merge the duplicates in {destination.side} or set the cross-reference on one of them")
            self._set_aside(destination, record, RetryKind.QUARANTINED, reason, count_as="conflicts")
            return
        live = found[0] if found else None
        index = self._indexes.get(destination.stream)
        if live is not None and index is not None and not index.is_whole(live.id):
            live = destination.fetch(live.id)  # written earlier in this run, held by its keys alone; None if gone
        if live is not None and not self._claim(destination, live.id, incoming.source_id):
            reason = (f"{destination.side} record {live.id} matches this record and another one of this run: "
                      f"tell them apart in {destination.source_side} (they share a business key or e-mail)")
            self._set_aside(destination, record, RetryKind.QUARANTINED, reason, count_as="conflicts")
            return
        pending = self.store.find(destination.entity, destination.source_side, incoming.source_id)
        self._carry_out(destination, record=record, incoming=incoming, live=live, link=pending,
                        decided=plan(incoming, live, None, destination.rules))

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

    def _carry_out(
        self,
        destination: Destination,
        *,
        record: Mapping[str, Any],
        incoming: Incoming,
        live: Live | None,
        link: Link | None,
        decided: Plan,
        stale_retry: bool = False,
    ) -> None:
        source_id = incoming.source_id
        if self.dry_run:
            self._show(destination, incoming, live, decided)
            self._count(destination, decided, source_id)
            if decided.action is Action.CREATE:
                # Nothing is created, but its children are planned as if it were (see LinkStore.imagine).
                self.store.imagine(destination.entity, destination.source_side, source_id, destination.side)
            return
        if decided.action is Action.CONFLICT:
            self._conflict(destination, record=record, incoming=incoming, live=live, link=link, decided=decided)
            return
        if decided.action.removes and not self.budget.take():
            reason = (f"held back: this run reached max_deletes ({self.budget.limit}); carried out by a run whose "
                      "max_deletes has room for every delete held")
            self._set_aside(destination, record, RetryKind.HELD, reason, count_as="skipped")
            return
        if decided.action is Action.CREATE:
            created = self._create(destination, incoming, decided)
            if isinstance(created, Found):  # created by an earlier attempt after all: linked, and merged into
                self._carry_out(destination, record=record, incoming=incoming, live=created.live, link=link,
                                decided=plan(incoming, created.live, None, destination.rules))
                return
            self.crashes.reach("create-answered")
            self._written(destination, incoming=incoming, live=live, link=link, decided=decided, after=created)
            return
        try:
            after = destination.carry_out(decided, incoming, live, None) if decided.action.writes else live
        except Stale:
            self._stale(destination, record=record, incoming=incoming, live=live, link=link, again=not stale_retry)
            return
        self._written(destination, incoming=incoming, live=live, link=link, decided=decided, after=after)

    def _create(self, destination: Destination, incoming: Incoming, decided: Plan) -> Live | Found | None:
        """A create, sent with an idempotency key that is kept with the hash of its body (so a crash's retry finds,
        not repeats, the create). A refusal is a verdict on this record only when it answers this very attempt: an
        answer under a key an earlier attempt used, or one that came after a try whose answer was lost, may be
        about what that attempt sent (a system that keeps a key's first answer replays it whatever the body). Then
        the cross-reference says whether the record exists after all; if not, one more try with a fresh key gives
        the verdict, and if even that is unclear the record is retried next run, never set aside as refused."""
        entity, side, source_id = destination.entity, destination.source_side, incoming.source_id
        body_hash = _digest(destination.body(incoming.values, None))
        before = self.store.find(entity, side, source_id)
        pending = self.store.pending(entity, side, source_id, origin=side, body_hash=body_hash)
        inherited = before is not None and before.idempotency_key == pending.idempotency_key
        for fresh in (False, True):
            try:
                return destination.carry_out(decided, incoming, None, pending.idempotency_key)
            except (RequestFailed, Blocked) as failure:
                if getattr(failure, "transient", False):
                    raise
                self.crashes.reach("create-refused")
                doubtful = inherited or failure.after_lost_answer
                # Refused, it made nothing: the next attempt needs a key of its own, or it would only be answered
                # the refusal again (Invoiced replays a key's first answer for 24 h).
                self.store.clear_key(entity, side, source_id)
                if not doubtful:
                    raise
                if fresh:
                    msg = (f"{failure} -- but that answer came after a try whose answer was lost, so it may be about "
                           "what that try sent rather than this record; nothing was created, and it is sent again "
                           "next run")
                    raise RequestFailed(msg, status=None, answer=failure.answer, transient=True) from None
            found = self._created_after_all(destination, source_id)
            if found is not None:
                return found
            self.logger.info("%s %s: a create's refusal may have answered an earlier attempt (its key was used "
                             "before, or a try's answer was lost), and nothing was created: sending it once more with "
                             "a new key", destination.stream, source_id)
            pending = self.store.pending(entity, side, source_id, origin=side, body_hash=body_hash)
            inherited = False
        return None  # not reached: the second try returns or raises

    def _created_after_all(self, destination: Destination, source_id: str) -> Found | None:
        """The record an earlier attempt created, found by the cross-reference the sync writes on it."""
        if not destination.match_rules or destination.match_rules[0].same(source_id) is None:
            return None
        found = destination.lookup(destination.match_rules[0], source_id)
        if len(found) > 1:
            ids = ", ".join(sorted(live.id for live in found))
            msg = (f"{len(found)} {destination.side} records carry this record's cross-reference ({ids}): merge the "
                   f"duplicates in {destination.side}")
            raise Unprocessable(msg)
        return Found(found[0]) if found else None

    def _written(
        self,
        destination: Destination,
        *,
        incoming: Incoming,
        live: Live | None,
        link: Link | None,
        decided: Plan,
        after: Live | None,
    ) -> None:
        """After a durable write (or a no-op): the audit, the link and its merge base, the outcome."""
        stream, source_id = destination.stream, incoming.source_id
        index = self._indexes.get(stream)
        if index is not None and after is not None and after is not live:
            index.add(after, whole=False)
        if decided.action.writes or decided.clashes:
            self._audit(destination, incoming, live if decided.action is not Action.CREATE else None, decided, after)
        state = LinkState.TOMBSTONED if decided.action.removes or incoming.deleted else LinkState.LINKED
        if after is not None:
            # A write always saves the link, with the time of the write (what releases the children it blocked, see
            # _parent_changed_since); a no-op only when something about the link changed.
            unchanged_link = (not decided.action.writes and link is not None and link.state is state
                              and link.id_on(destination.side) == after.id
                              and link.base(destination.side) == decided.base)
            if not unchanged_link:
                self._save_link(destination, incoming, after, state, decided.base)
        self._count(destination, decided, source_id)
        self.store.resolved(_retries_key(destination), source_id)

    def _stale(
        self,
        destination: Destination,
        *,
        record: Mapping[str, Any],
        incoming: Incoming,
        live: Live | None,
        link: Link | None,
        again: bool,
    ) -> None:
        """The record changed between our read and our write: read it again, plan again, and try once more."""
        if not again or live is None:
            reason = (f"the {destination.side} record changed again while it was being written: nothing was "
                      "written; the next run tries again")
            self._set_aside(destination, record, RetryKind.TRANSIENT, reason, count_as="conflicts")
            return
        fresh = destination.fetch(live.id)
        if fresh is None:
            if link is not None:
                self._vanished(destination, link, incoming.source_id)
            return
        base = link.base(destination.side) if link is not None and link.state is not LinkState.PENDING else None
        self._carry_out(destination, record=record, incoming=incoming, live=fresh, link=link,
                        decided=plan(incoming, fresh, base, destination.rules), stale_retry=True)

    def _conflict(
        self,
        destination: Destination,
        *,
        record: Mapping[str, Any],
        incoming: Incoming,
        live: Live | None,
        link: Link | None,
        decided: Plan,
    ) -> None:
        """Nothing is written; the record is set aside with the reason, and linked if it was matched."""
        source_id = incoming.source_id
        self._audit(destination, incoming, live, decided)
        self._set_aside(destination, record, RetryKind.REJECTED, decided.reason, count_as="conflicts")
        if live is not None and (link is None or link.id_on(destination.side) != live.id):
            # Matched, but not to be edited (a paid invoice): still the same record, so it is linked, in
            # conflict, and a later delete of the source finds it.
            ids = {f"{destination.source_side}_id": source_id, f"{destination.side}_id": live.id}
            self.store.save(destination.entity, customcrm_id=ids["customcrm_id"], invoiced_id=ids["invoiced_id"],
                            origin=destination.source_side, state=LinkState.CONFLICT, note=decided.reason)

    def _save_link(self, destination: Destination, incoming: Incoming, live: Live, state: LinkState,
                   base: Mapping[str, Any]) -> None:
        source_id = incoming.source_id
        ids = {f"{destination.source_side}_id": source_id, f"{destination.side}_id": live.id}
        self.store.save(
            destination.entity,
            customcrm_id=ids["customcrm_id"], invoiced_id=ids["invoiced_id"], origin=destination.source_side,
            state=state,
            bases={destination.side: dict(base), destination.source_side: destination.peer_base(base, live, incoming)},
        )

    def _vanished(self, destination: Destination, link: Link, source_id: str) -> None:
        """Linked, but gone from the destination: deleted there. The delete travels the other way, not a re-create."""
        if not self.dry_run and link.state is not LinkState.TOMBSTONED:
            self.store.save(destination.entity, customcrm_id=link.customcrm_id, invoiced_id=link.invoiced_id,
                            origin=link.origin, state=LinkState.TOMBSTONED, note=f"deleted in {destination.side}")
        self.logger.info("%s %s: its %s record %s was deleted there; not re-created", destination.stream,
                         source_id, destination.side, link.id_on(destination.side))
        self._done(destination, source_id, "skipped")

    # Outcomes.

    def _count(self, destination: Destination, decided: Plan, source_id: str) -> None:
        action = decided.action
        outcome = {
            Action.CREATE: "created", Action.UPDATE: "updated", Action.RECREATE: "updated", Action.WAIT: "waiting",
            Action.CONFLICT: "conflicts",
        }.get(action, "deleted" if action.removes else ("skipped" if decided.reason else "unchanged"))
        self.outcomes.count(destination.stream, outcome)
        if outcome == "skipped":
            self.outcomes.skip(destination.stream, source_id, decided.reason)
        if decided.clashes and action is not Action.CONFLICT:
            self.outcomes.count(destination.stream, "conflicts")

    def _done(self, destination: Destination, source_id: str, outcome: str) -> None:
        self.outcomes.count(destination.stream, outcome)
        if not self.dry_run:
            self.store.resolved(_retries_key(destination), source_id)

    def _set_aside(
        self,
        destination: Destination,
        record: Mapping[str, Any],
        kind: RetryKind,
        reason: str,
        answer: Any = None,
        *,
        count_as: str = "rejected",
        blocked_on: str | None = None,
    ) -> None:
        stream, source_id = destination.stream, _source_id(record)
        self.outcomes.count(stream, count_as)
        if count_as == "skipped":
            self.outcomes.skip(stream, source_id, reason)
        if kind is not RetryKind.WAITING:
            self.logger.warning("%s %s set aside (%s): %s", stream, source_id, kind.value, reason)
        if self.dry_run:
            if kind is RetryKind.WAITING:
                self._dry_waiting.setdefault(stream, []).append(record)
            self.outcomes.show_plan({"stream": stream, "source_id": source_id, "action": kind.value, "reason": reason})
            return
        self.store.set_aside(_retries_key(destination), source_id, kind, reason, record, blocked_on=blocked_on)
        if kind is not RetryKind.WAITING:
            self.outcomes.reject(stream, source_id, record, reason, answer)

    def _audit(self, destination: Destination, incoming: Incoming, live: Live | None, decided: Plan,
               after: Live | None = None) -> None:
        ids = {f"{destination.source_side}_id": incoming.source_id,
               f"{destination.side}_id": (after or live).id if (after or live) is not None else None}
        entry: dict[str, Any] = {
            "stream": destination.stream, "action": decided.action.value, **ids,
            "fields": {c.field: {"old": jsonable(c.old), "new": jsonable(c.new)} for c in decided.changes},
        }
        if decided.reason:
            entry["reason"] = decided.reason
        if decided.clashes:
            entry["conflicts"] = [
                {"field": c.field, "source": jsonable(c.source), "destination": jsonable(c.destination),
                 "winner": c.winner, "why": c.why}
                for c in decided.clashes
            ]
        self.outcomes.audit(entry)

    def _show(self, destination: Destination, incoming: Incoming, live: Live | None, decided: Plan) -> None:
        self.outcomes.show_plan({
            "stream": destination.stream, "source_id": incoming.source_id, "action": decided.action.value,
            "destination_id": live.id if live is not None else None,
            "fields": {c.field: {"old": c.old, "new": c.new} for c in decided.changes},
            **({"reason": decided.reason} if decided.reason else {}),
            **({"conflicts": [c.field for c in decided.clashes]} if decided.clashes else {}),
        })


@dataclass(frozen=True)
class Found:
    """A create that an earlier attempt made after all: the live record it made."""

    live: Live


def _digest(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(jsonable(body), sort_keys=True, default=str).encode()).hexdigest()


def _agrees(values: Mapping[str, Any], base: Mapping[str, Any], rules: Rules) -> bool:
    def agrees(name: str, value: Any) -> bool:
        same = rules.rule(name).same
        return name in rules.identity or (name in base and same(value) == same(base[name]))

    return all(agrees(name, value) for name, value in values.items())


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
