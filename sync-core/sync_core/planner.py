"""The planner: pure functions that decide what happens to one incoming record, and return it as a plan.

No I/O happens here. `decide` takes what is known of a record (the incoming record, its link and merge base, and
the live record or the candidates once read) and returns one plan: read first, unchanged, wait, blocked,
vanished, quarantine, reject, create, update these fields, conflict, or delete/void/archive/deactivate. The
executor reads what a READ plan asks for, asks again, and carries the final plan out; the link store keeps the
merge base the plan hands back. `plan` is the field-by-field part, against the base:

- only the source changed: write the source's value;
- only the destination changed: leave it (the value flows back in the other direction);
- both changed, to different values: the later `updated_at` wins, and the clash is reported either way;
- an empty value never overwrites a filled one, unless the rules say the source owns the field;
- values that normalise the same (Decimal amounts, e-mails where case does not count) are equal.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Literal

from sync_core.values import Canonical, canonical, is_empty


class Action(str, Enum):
    CREATE = "create"
    UPDATE = "update"
    RECREATE = "recreate"  # archive and create again with the same id (an item's price, currency or tax flag)
    NOOP = "noop"
    CONFLICT = "conflict"  # nothing is written; the reason says why
    DELETE = "delete"
    VOID = "void"
    ARCHIVE = "archive"
    DEACTIVATE = "deactivate"
    WAIT = "wait"  # a reference is not linked yet
    BLOCK = "block"  # a parent's known state refuses a new record: tried again once the parent's link changes
    QUARANTINE = "quarantine"  # several destination records match and none is linked: for a person to settle
    VANISHED = "vanished"  # linked, but deleted in the destination: the delete travels the other way
    REJECT = "reject"  # the mapping refused the record: set aside with the field and the fix
    READ_LIVE = "read_live"  # the plan needs the linked live record first
    FIND_MATCHES = "find_matches"  # ... the candidates of a first link
    FIND_OWN = "find_own"  # ... the record an unconfirmed create of ours may have made (by the cross-reference)

    @property
    def writes(self) -> bool:
        return self in WRITES

    @property
    def reads(self) -> bool:
        return self in (Action.READ_LIVE, Action.FIND_MATCHES, Action.FIND_OWN)

    @property
    def removes(self) -> bool:
        """Counted against the per-run cap on deletes."""
        return self in (Action.DELETE, Action.VOID, Action.ARCHIVE, Action.DEACTIVATE)


WRITES = frozenset({Action.CREATE, Action.UPDATE, Action.RECREATE, Action.DELETE, Action.VOID, Action.ARCHIVE,
                    Action.DEACTIVATE})


@dataclass(frozen=True)
class Blocking:
    """A parent whose known state refuses a new record naming it (an inactive customer, for a new invoice)."""

    parent: tuple[str, str]  # (entity, source id)
    reason: str


@dataclass(frozen=True)
class Incoming:
    """The source's record, mapped to the destination's shape, its references resolved where they could be."""

    source_id: str
    values: Mapping[str, Any]  # flat field paths (see values.flatten)
    updated_at: datetime | None
    deleted: bool = False
    waiting_on: tuple[str, ...] = ()  # e.g. ("customer cus_9",): references with no link yet
    blocked: Blocking | None = None  # refused if it were created now
    refused: str | None = None  # why the mapping refused it (nothing else is known then)


@dataclass(frozen=True)
class Live:
    """The destination's record as it is now."""

    id: str
    values: Mapping[str, Any]  # projected onto the same flat fields as Incoming.values
    updated_at: datetime | None
    record: Mapping[str, Any] = field(default_factory=dict)  # as the system sent it


@dataclass(frozen=True)
class FieldRule:
    same: Canonical = canonical  # the form two values are compared in
    source_owned: bool = False  # the source may blank the field out
    # Mapped toward the destination only: an edit made there never travels back, so a differing value is not the
    # destination's edit to keep but a stale copy to overwrite (no merge base, no clash).
    one_way: bool = False


DEFAULT_RULE = FieldRule()


def _never(_live: Live) -> str | None:
    return None


def _remove(_live: Live) -> tuple[Action, str]:
    return Action.DELETE, "deleted in the source"


def _always_create(_incoming: Incoming) -> str | None:
    return None


@dataclass(frozen=True)
class Rules:
    """What one flow's destination allows, declared per system (see target-invoiced's destinations.py)."""

    fields: Mapping[str, FieldRule] = field(default_factory=dict)
    # Fields that name the record: they match it and may be sent on create, but are never compared or updated.
    identity: frozenset[str] = frozenset({"id"})
    recreate_on: frozenset[str] = frozenset()  # a change to one of these is carried out as RECREATE
    # Fields that are not written but acted on: {"voided": {True: Action.VOID}}.
    transitions: Mapping[str, Mapping[Any, Action]] = field(default_factory=dict)
    # Field values that mean the source cancelled the record ({"voided": True}): carried out as `on_delete` says.
    cancelled_by: Mapping[str, Any] = field(default_factory=dict)
    # Fields the destination keeps as they were created: {"customer": "why"}. A change is a conflict.
    fixed: Mapping[str, str] = field(default_factory=dict)
    locked: Callable[[Live], str | None] = _never  # why the live record may not be edited, or None
    # Whether the live record counts as deleted in the destination although it can still be read (an archived
    # item whose base says it was live): the delete travels the other way instead of an edit reviving it.
    vanished: Callable[[Live, Mapping[str, Any] | None], bool] = lambda _live, _base: False
    on_delete: Callable[[Live], tuple[Action, str]] = _remove  # what a source delete does to the live record
    skip_create: Callable[[Incoming], str | None] = _always_create  # why not to create it, or None

    def rule(self, name: str) -> FieldRule:
        return self.fields.get(name, DEFAULT_RULE)


@dataclass(frozen=True)
class Change:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Clash:
    """Both sides changed one field to different values since they last agreed."""

    field: str
    source: Any
    destination: Any
    winner: Literal["source", "destination"]
    why: str


@dataclass(frozen=True)
class Plan:
    action: Action
    changes: tuple[Change, ...] = ()
    clashes: tuple[Clash, ...] = ()
    reason: str = ""
    base: Mapping[str, Any] = field(default_factory=dict)  # the merge base once the plan is carried out

    @property
    def updates(self) -> dict[str, Any]:
        return {change.field: change.new for change in self.changes}


class Unread:
    """A read the executor has not made yet (the live record, the candidates)."""

    def __repr__(self) -> str:
        return "UNREAD"


UNREAD = Unread()


@dataclass(frozen=True)
class Known:
    """What is known of one record when it is planned: the incoming record, its link, and what was read."""

    incoming: Incoming
    side: str  # the destination system, for the reasons
    source_side: str
    linked: str | None = None  # the destination id of its link (None: not linked, or a create not confirmed)
    base: Mapping[str, Any] | None = None  # the merge base of the link
    pending: bool = False  # a create of ours was started and not confirmed: it may have made a record
    live: Live | Unread | None = UNREAD  # the linked record (None: gone)
    candidates: tuple[Live, ...] | Unread = UNREAD  # records that match it, free for a first link
    contested: bool = False  # the one candidate was matched to another record of this run first


def decide(known: Known, rules: Rules) -> Plan:
    """The one plan for a record, or a READ_LIVE / FIND_MATCHES / FIND_OWN plan when it needs a read first."""
    incoming = known.incoming
    if incoming.refused is not None:
        return Plan(Action.REJECT, reason=incoming.refused)
    if incoming.deleted and known.linked is None:
        return _unlinked_delete(known, rules)
    if incoming.waiting_on:
        return plan(incoming, None, known.base, rules)
    if known.linked is not None:
        return _linked(known, rules)
    return _first_link(known, rules)


def _unlinked_delete(known: Known, rules: Rules) -> Plan:
    """Only records the sync created or linked are touched: with no link, only one that a create of ours may have
    made before a crash (found by the cross-reference the sync writes on what it creates)."""
    if not known.pending:
        return Plan(Action.NOOP)
    if isinstance(known.candidates, Unread):
        return Plan(Action.FIND_OWN)
    if len(known.candidates) != 1:
        return Plan(Action.NOOP)
    return plan(known.incoming, known.candidates[0], None, rules)


def _linked(known: Known, rules: Rules) -> Plan:
    incoming = known.incoming
    if known.base is not None and not incoming.deleted and agrees(incoming.values, known.base, rules):
        return Plan(Action.NOOP, base=dict(known.base))  # the source did not change: no request at all
    if isinstance(known.live, Unread):
        return Plan(Action.READ_LIVE)
    if known.live is None or rules.vanished(known.live, known.base):
        return Plan(Action.VANISHED, reason=f"its {known.side} record {known.linked} was deleted there; not re-created")
    return plan(incoming, known.live, known.base, rules)


def _first_link(known: Known, rules: Rules) -> Plan:
    """No link yet: exactly one candidate is linked (and merged), several are for a person to settle, none is a
    create."""
    side = known.side
    if isinstance(known.candidates, Unread):
        return Plan(Action.FIND_MATCHES)
    if len(known.candidates) > 1:
        ids = ", ".join(sorted(c.id for c in known.candidates))
        return Plan(Action.QUARANTINE, reason=(
            f"{len(known.candidates)} {side} records match and none is linked yet ({ids}): merge the duplicates in "
            f"{side} or set the cross-reference on one of them"))
    live = known.candidates[0] if known.candidates else None
    if live is not None and known.contested:
        return Plan(Action.QUARANTINE, reason=(
            f"{side} record {live.id} matches this record and another one of this run: tell them apart in "
            f"{known.source_side} (they share a business key or e-mail)"))
    decided = plan(known.incoming, live, None, rules)
    if decided.action is Action.CREATE and known.incoming.blocked is not None:
        return Plan(Action.BLOCK, reason=known.incoming.blocked.reason)
    return decided


def agrees(values: Mapping[str, Any], base: Mapping[str, Any], rules: Rules) -> bool:
    """Whether every incoming value is the one both sides last agreed on (so nothing needs reading)."""
    def same(name: str, value: Any) -> bool:
        compare = rules.rule(name).same
        return name in rules.identity or (name in base and compare(value) == compare(base[name]))

    return all(same(name, value) for name, value in values.items())


def plan(  # noqa: PLR0911 -- one return per kind of plan: the function reads as the decision table it is
    incoming: Incoming, live: Live | None, base: Mapping[str, Any] | None, rules: Rules
) -> Plan:
    if incoming.waiting_on:
        reason = "waiting for " + ", ".join(incoming.waiting_on) + " to be linked"
        return Plan(Action.WAIT, reason=reason, base=dict(base or {}))
    if live is None:
        return _plan_create(incoming, rules)
    if incoming.deleted:
        action, reason = rules.on_delete(live)
        return Plan(action, reason=reason, base=dict(base or {}))
    changes, clashes, merged = merge(incoming, live, base, rules)
    transition = _transition(changes, rules)
    cancelled = any(c.field in rules.cancelled_by and rules.cancelled_by[c.field] == c.new for c in changes)
    changes = tuple(c for c in changes if c.field not in rules.transitions and c.field not in rules.cancelled_by)
    if cancelled:
        action, reason = rules.on_delete(live)
        kept = merged if action.writes else dict(base or {})  # refused: the base stays as it was
        return Plan(action, (), clashes, reason=reason, base=kept)
    if transition is None and not changes:
        return Plan(Action.NOOP, clashes=clashes, base=merged)
    locked = rules.locked(live) or _fixed(changes, rules)
    if locked is not None:
        return Plan(Action.CONFLICT, changes, clashes, reason=locked, base=dict(base or {}))
    if transition is not None:
        return Plan(transition, changes, clashes, base=merged)
    recreate = sorted(rules.recreate_on & {c.field for c in changes})
    if recreate:
        reason = f"{', '.join(recreate)} cannot change on an existing record: archive it and create it again"
        return Plan(Action.RECREATE, changes, clashes, reason=reason, base=merged)
    return Plan(Action.UPDATE, changes, clashes, base=merged)


def _plan_create(incoming: Incoming, rules: Rules) -> Plan:
    if incoming.deleted:
        return Plan(Action.NOOP, reason="deleted in the source before it was ever synced")
    reason = rules.skip_create(incoming)
    if reason is not None:
        return Plan(Action.NOOP, reason=reason)
    changes = tuple(Change(name, None, value) for name, value in incoming.values.items() if not is_empty(value))
    return Plan(Action.CREATE, changes, base=dict(incoming.values))


def merge(
    incoming: Incoming, live: Live, base: Mapping[str, Any] | None, rules: Rules
) -> tuple[tuple[Change, ...], tuple[Clash, ...], dict[str, Any]]:
    """Field by field: what to write, which clashes to report, and the merge base afterwards."""
    changes: list[Change] = []
    clashes: list[Clash] = []
    merged = dict(base or {})
    for name, ours in incoming.values.items():
        if name in rules.identity:
            continue
        rule = rules.rule(name)
        theirs = live.values.get(name)
        if rule.same(ours) == rule.same(theirs):
            merged[name] = ours
            continue
        if rule.one_way and not is_empty(ours):
            changes.append(Change(name, theirs, ours))
            merged[name] = ours
            continue
        known = base is not None and name in base
        agreed = base.get(name) if base is not None else None
        source_changed = not known or rule.same(ours) != rule.same(agreed)
        # Without a base, a blank destination field has not been edited by anyone: it is simply filled.
        destination_changed = rule.same(theirs) != rule.same(agreed) if known else not is_empty(theirs)
        if not source_changed:
            continue  # only the destination changed: its value travels the other way
        if is_empty(ours) and not is_empty(theirs) and not rule.source_owned:
            # A blank never erases a value the destination holds. When the destination changed the field too,
            # that is a clash all the same, and the destination's value is the one that then travels back.
            if destination_changed and known:
                why = "the source's value is blank, and a blank never erases a value unless the source owns the field"
                clashes.append(Clash(name, ours, theirs, "destination", why))
                merged[name] = ours
            continue
        if destination_changed:
            clash = _clash(name, ours, theirs, incoming.updated_at, live.updated_at)
            clashes.append(clash)
            if clash.winner == "destination":
                # The source's value lost: it becomes the base, so the destination's value now flows back.
                merged[name] = ours
                continue
        changes.append(Change(name, theirs, ours))
        merged[name] = ours
    return tuple(changes), tuple(clashes), merged


def _clash(name: str, ours: Any, theirs: Any, ours_at: datetime | None, theirs_at: datetime | None) -> Clash:
    if theirs_at is not None and (ours_at is None or theirs_at > ours_at):
        why = f"the destination's edit is later ({_when(theirs_at)} > {_when(ours_at)})"
        return Clash(name, ours, theirs, "destination", why)
    why = f"the source's edit is later or as late ({_when(ours_at)} >= {_when(theirs_at)})"
    return Clash(name, ours, theirs, "source", why)


def _when(moment: datetime | None) -> str:
    return "unknown" if moment is None else moment.isoformat()


def _fixed(changes: tuple[Change, ...], rules: Rules) -> str | None:
    reasons = [f"{c.field}: {rules.fixed[c.field]}" for c in changes if c.field in rules.fixed]
    return "; ".join(reasons) if reasons else None


def _transition(changes: tuple[Change, ...], rules: Rules) -> Action | None:
    for change in changes:
        if change.field in rules.transitions and isinstance(change.new, Hashable):
            action = rules.transitions[change.field].get(change.new)
            if action is not None:
                return action
    return None
