"""How a plan is carried out: for real (`Effects`: the destination's API and the link store), or as a dry run
(`DryRun`: the plan is shown, nothing is written and nothing remembered). The executor decides alike in both; only
these side effects differ.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sync_core.client import RequestFailed
from sync_core.crashpoints import CrashPoints
from sync_core.outcomes import Outcomes
from sync_core.planner import Action, Incoming, Live, Plan
from sync_core.store import Link, LinkState, LinkStore, RetryKind, deleted_note, retries_key
from sync_core.values import jsonable

AUDIT_CHUNK = 250  # audit entries written at once, as a batch goes

if TYPE_CHECKING:
    from sync_core.executor import Destination


class Unprocessable(Exception):
    """A record the destination cannot take as it is (e.g. a reference that can never resolve): a reject."""


class Blocked(Exception):
    """Refused because of a parent's state (a new invoice for an inactive customer): retried when the parent's link
    changes, not before (so a quiet run sends nothing)."""

    def __init__(self, message: str, *, parent: tuple[str, str], answer: Any = None,
                 after_lost_answer: bool = False) -> None:
        super().__init__(message)
        self.parent = parent  # (entity, source id)
        self.answer = answer
        self.after_lost_answer = after_lost_answer  # see RequestFailed


@dataclass
class Case:
    """One record on its way through the executor: what it is, and what was read for it."""

    destination: Destination
    record: Mapping[str, Any]
    incoming: Incoming
    link: Link | None = None  # its link in the store, whatever its state
    live: Live | None = None  # the destination record the plan is about, once read
    retried_stale: bool = False  # already read again once after a write refused as stale

    @property
    def source_id(self) -> str:
        return self.incoming.source_id

    @property
    def retries_key(self) -> str:
        return retries_key(self.destination.stream, self.destination.side)


@dataclass(frozen=True)
class Found:
    """A create that an earlier attempt made after all: the live record it made."""

    live: Live


@dataclass
class Effects:
    """Carrying plans out for real: writes through the destination, and the link store kept in step."""

    store: LinkStore
    outcomes: Outcomes
    logger: logging.Logger
    crashes: CrashPoints = field(default_factory=CrashPoints)
    dry_run = False

    def write(self, case: Case, decided: Plan) -> Live | None:
        return case.destination.carry_out(decided, case.incoming, case.live, None)

    def create(self, case: Case, decided: Plan) -> Live | Found | None:
        """A create, sent with an idempotency key that is kept with the hash of its body (so a crash's retry finds,
        not repeats, the create). A refusal is a verdict on this record only when it answers this very attempt: an
        answer under a key an earlier attempt used, or one that came after a try whose answer was lost, may be
        about what that attempt sent (a system that keeps a key's first answer replays it whatever the body). Then
        the cross-reference says whether the record exists after all; if not, one more try with a fresh key gives
        the verdict, and if even that is unclear the record is retried next run, never set aside as refused."""
        destination, incoming = case.destination, case.incoming
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
            found = _created_after_all(destination, source_id)
            if found is not None:
                return found
            self.logger.info("%s %s: a create's refusal may have answered an earlier attempt (its key was used "
                             "before, or a try's answer was lost), and nothing was created: sending it once more with "
                             "a new key", destination.stream, source_id)
            pending = self.store.pending(entity, side, source_id, origin=side, body_hash=body_hash)
            inherited = False
        return None  # not reached: the second try returns or raises

    def written(self, case: Case, decided: Plan, after: Live | None) -> None:
        """After a durable write (or a no-op): the audit, the link and its merge base."""
        if decided.action.writes or decided.clashes:
            self.audit(case, decided, after)
        state = LinkState.TOMBSTONED if decided.action.removes or case.incoming.deleted else LinkState.LINKED
        link, side = case.link, case.destination.side
        if after is not None:
            # A write always saves the link (its time releases the children it blocked); a no-op only when
            # something about the link changed.
            unchanged_link = (not decided.action.writes and link is not None and link.state is state
                              and link.id_on(side) == after.id and link.base(side) == decided.base)
            if not unchanged_link:
                self._save_link(case, after, state, decided.base)
        self.resolved(case)

    def audit(self, case: Case, decided: Plan, after: Live | None) -> None:
        self.outcomes.audit(audit_entry(case, decided, after))
        if self.outcomes.audit_held() >= AUDIT_CHUNK:
            # Written by the worker that filled the chunk, while the others' requests go on: written only at the
            # end of a batch, the whole batch's audit held every write back until it was done.
            self.end_of_batch()

    def conflict(self, case: Case, decided: Plan) -> None:
        """Nothing is written; a record matched but not to be edited (a paid invoice) is still the same record,
        so it is linked, in conflict, and a later delete of the source finds it."""
        self.audit(case, decided, None)
        destination, live = case.destination, case.live
        if live is not None and (case.link is None or case.link.id_on(destination.side) != live.id):
            ids = {f"{destination.source_side}_id": case.source_id, f"{destination.side}_id": live.id}
            self.store.save(destination.entity, customcrm_id=ids["customcrm_id"], invoiced_id=ids["invoiced_id"],
                            origin=destination.source_side, state=LinkState.CONFLICT, note=decided.reason)

    def set_aside(self, case: Case, kind: RetryKind, reason: str, answer: Any = None, *,
                  blocked_on: str | None = None) -> None:
        self.store.set_aside(case.retries_key, case.source_id, kind, reason, case.record, blocked_on=blocked_on)
        if kind is not RetryKind.WAITING:
            self.outcomes.reject(case.destination.stream, case.source_id, case.record, reason, answer)

    def resolved(self, case: Case) -> None:
        self.store.resolved(case.retries_key, case.source_id)

    def vanished(self, case: Case) -> None:
        link = case.link
        if link is not None and link.state is not LinkState.TOMBSTONED:
            self.store.save(case.destination.entity, customcrm_id=link.customcrm_id, invoiced_id=link.invoiced_id,
                            origin=link.origin, state=LinkState.TOMBSTONED,
                            note=deleted_note(case.destination.side))
        self.resolved(case)

    def remember(self, case: Case, values: Mapping[str, Any]) -> None:
        """A fan-out's values, as both sides now hold them: the merge base of its link of its own."""
        destination = case.destination
        ids = {"customcrm_id": None, "invoiced_id": None, f"{destination.source_side}_id": case.source_id}
        self.store.save(destination.entity, **ids, origin=destination.source_side, state=LinkState.LINKED,
                        bases={destination.side: dict(values)})

    def waiting(self, destination: Destination, seen: set[tuple[str, str]]) -> list[Mapping[str, Any]]:
        """This run's records that waited for a parent."""
        return [r.record for r in self.store.set_aside_records(retries_key(destination.stream, destination.side))
                if r.kind is RetryKind.WAITING and (destination.stream, r.source_id) in seen]

    def end_of_batch(self) -> None:
        """The audit entries not written yet, to the audit file and the link store."""
        self.store.record_audit(self.outcomes.take_audit())

    def _save_link(self, case: Case, live: Live, state: LinkState, base: Mapping[str, Any]) -> None:
        destination = case.destination
        ids = {f"{destination.source_side}_id": case.source_id, f"{destination.side}_id": live.id}
        peer = destination.peer_base(base, live, case.incoming)
        self.store.save(destination.entity, customcrm_id=ids["customcrm_id"], invoiced_id=ids["invoiced_id"],
                        origin=destination.source_side, state=state,
                        bases={destination.side: dict(base), destination.source_side: peer})


@dataclass
class DryRun:
    """A dry run: every plan is shown (outcomes.show_plan) and counted; nothing is written, nothing remembered.
    A planned create is imagined as linked, in memory, so the records that reference it plan as after a real
    run instead of waiting (LinkStore.imagine)."""

    store: LinkStore
    outcomes: Outcomes
    logger: logging.Logger
    dry_run = True
    _waiting: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)

    def write(self, case: Case, decided: Plan) -> Live | None:
        return case.live

    def create(self, case: Case, decided: Plan) -> Live | Found | None:
        destination = case.destination
        self.store.imagine(destination.entity, destination.source_side, case.source_id, destination.side)
        return None

    def written(self, case: Case, decided: Plan, after: Live | None) -> None:
        self.show(case, decided)

    def audit(self, case: Case, decided: Plan, after: Live | None) -> None:
        self.show(case, decided)

    def conflict(self, case: Case, decided: Plan) -> None:
        pass  # shown as the record set aside, with the conflict's reason

    def set_aside(self, case: Case, kind: RetryKind, reason: str, answer: Any = None, *,
                  blocked_on: str | None = None) -> None:
        if kind is RetryKind.WAITING:
            self._waiting.setdefault(case.destination.stream, []).append(case.record)
        self.outcomes.show_plan({"stream": case.destination.stream, "source_id": case.source_id,
                                 "action": kind.value, "reason": reason})

    def resolved(self, case: Case) -> None:
        pass

    def vanished(self, case: Case) -> None:
        pass

    def remember(self, case: Case, values: Mapping[str, Any]) -> None:
        pass

    def waiting(self, destination: Destination, seen: set[tuple[str, str]]) -> list[Mapping[str, Any]]:
        return self._waiting.pop(destination.stream, [])

    def end_of_batch(self) -> None:
        pass

    def show(self, case: Case, decided: Plan) -> None:
        live = case.live
        self.outcomes.show_plan({
            "stream": case.destination.stream, "source_id": case.source_id, "action": decided.action.value,
            "destination_id": live.id if live is not None else None,
            "fields": {c.field: {"old": c.old, "new": c.new} for c in decided.changes},
            **({"reason": decided.reason} if decided.reason else {}),
            **({"conflicts": [c.field for c in decided.clashes]} if decided.clashes else {}),
        })


def audit_entry(case: Case, decided: Plan, after: Live | None) -> dict[str, Any]:
    """One audit line: the record on both sides, what was done, each field's old and new value, each clash."""
    destination = case.destination
    shown = after or (case.live if decided.action is not Action.CREATE else None)
    entry: dict[str, Any] = {
        "stream": destination.stream, "action": decided.action.value,
        f"{destination.source_side}_id": case.source_id,
        f"{destination.side}_id": shown.id if shown is not None else None,
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
    return entry


def _created_after_all(destination: Destination, source_id: str) -> Found | None:
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


def _digest(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(jsonable(body), sort_keys=True, default=str).encode()).hexdigest()
