"""The planner: a pure function of (incoming record, live record, merge base, the flow's rules) that returns a plan.

No I/O happens here. The executor fetches what the planner needs, asks for a plan, and carries it out; the link
store keeps the merge base the plan hands back. Field by field, against the base:

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

    @property
    def writes(self) -> bool:
        return self not in (Action.NOOP, Action.CONFLICT, Action.WAIT)

    @property
    def removes(self) -> bool:
        """Counted against the per-run cap on deletes."""
        return self in (Action.DELETE, Action.VOID, Action.ARCHIVE, Action.DEACTIVATE)


@dataclass(frozen=True)
class Incoming:
    """The source's record, mapped to the destination's shape, its references resolved where they could be."""

    source_id: str
    values: Mapping[str, Any]  # flat field paths (see values.flatten)
    updated_at: datetime | None
    deleted: bool = False
    waiting_on: tuple[str, ...] = ()  # e.g. ("customer cus_9",): references with no link yet


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
