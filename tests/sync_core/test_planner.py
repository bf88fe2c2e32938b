"""The planner's rules, one table row each, and the properties that must hold for any three trees.

The three trees: the incoming record (the source's version, mapped), the live record (the destination's version)
and the merge base (the values both last agreed on).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sync_core.planner import Action, FieldRule, Incoming, Live, Plan, Rules, plan
from sync_core.values import canonical, casefolded, is_empty

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
EARLIER, LATER = T0 - timedelta(hours=1), T0 + timedelta(hours=1)
T0_IN_OSLO = T0.astimezone(timezone(timedelta(hours=2)))  # the same instant, written in another zone

RULES = Rules(fields={"email": FieldRule(same=casefolded), "note": FieldRule(source_owned=True)})


def locked_when_paid(live: Live) -> str | None:
    return "invoice 4001 is paid: Invoiced does not allow editing it" if live.record.get("paid") else None


def void_when_deleted(live: Live) -> tuple[Action, str]:
    return Action.VOID, f"invoice {live.id} was deleted in the source: voided"


def skip_drafts(incoming: Incoming) -> str | None:
    return "drafts are not synced" if incoming.values.get("status") == "draft" else None


INVOICE_RULES = Rules(
    recreate_on=frozenset({"currency"}),
    transitions={"voided": {True: Action.VOID}},
    locked=locked_when_paid,
    on_delete=void_when_deleted,
    skip_create=skip_drafts,
)


def delete_unless_paid(live: Live) -> tuple[Action, str]:
    if live.record.get("paid"):
        return Action.CONFLICT, "invoice 4001 is paid: left alone"
    return Action.VOID, "deleted in the source: voided"


ONE_WAY_RULES = Rules(fields={"rep": FieldRule(one_way=True)})
CANCEL_RULES = Rules(cancelled_by={"voided": True}, on_delete=delete_unless_paid)


@dataclass(frozen=True)
class Case:
    """One row: the three trees and the flow's rules in; what the plan must say out."""

    incoming: Mapping[str, Any]
    live: Mapping[str, Any] | None
    base: Mapping[str, Any] | None
    action: Action
    updates: Mapping[str, Any] = field(default_factory=dict)
    clashes: tuple[tuple[str, str], ...] = ()  # (field, winner)
    reason: str = ""  # a part of plan.reason; "" means the plan gives none
    plan_base: Mapping[str, Any] | None = None  # the merge base afterwards, when the row is about it
    rules: Rules = RULES
    incoming_at: datetime | None = T0
    live_at: datetime | None = T0
    deleted: bool = False
    waiting_on: tuple[str, ...] = ()
    paid: bool = False


CASES = {
    # Field by field against the merge base.
    "only the source changed: its value is written": Case(
        {"name": "Acme AS"}, {"name": "Acme"}, {"name": "Acme"}, Action.UPDATE, {"name": "Acme AS"},
        plan_base={"name": "Acme AS"},
    ),
    "only the destination changed: the field is left alone": Case(
        {"name": "Acme"}, {"name": "Acme Invoicing"}, {"name": "Acme"}, Action.NOOP,
        plan_base={"name": "Acme"},  # still the agreed value, so the destination's edit travels the other way
    ),
    "both changed to the same value: nothing to do, no clash": Case(
        {"name": "Acme AS"}, {"name": "Acme AS"}, {"name": "Acme"}, Action.NOOP, plan_base={"name": "Acme AS"},
    ),
    "both changed, the source later: the source wins, clash reported": Case(
        {"name": "Acme AS"}, {"name": "Acme Inc"}, {"name": "Acme"}, Action.UPDATE, {"name": "Acme AS"},
        clashes=(("name", "source"),), incoming_at=LATER, plan_base={"name": "Acme AS"},
    ),
    "both changed, the destination later: the destination wins, clash reported": Case(
        {"name": "Acme AS"}, {"name": "Acme Inc"}, {"name": "Acme"}, Action.NOOP,
        clashes=(("name", "destination"),), live_at=LATER,
        plan_base={"name": "Acme AS"},  # the losing value is the base now, so the winner flows back to the source
    ),
    "both changed at the same moment: the tie goes to the source": Case(
        {"name": "Acme AS"}, {"name": "Acme Inc"}, {"name": "Acme"}, Action.UPDATE, {"name": "Acme AS"},
        clashes=(("name", "source"),),
    ),
    "both changed at the same instant written in two zones: still a tie": Case(
        {"name": "Acme AS"}, {"name": "Acme Inc"}, {"name": "Acme"}, Action.UPDATE, {"name": "Acme AS"},
        clashes=(("name", "source"),), live_at=T0_IN_OSLO,
    ),
    "both changed, the source's time unknown: the destination wins": Case(
        {"name": "Acme AS"}, {"name": "Acme Inc"}, {"name": "Acme"}, Action.NOOP,
        clashes=(("name", "destination"),), incoming_at=None,
    ),
    "both changed, neither time known: the source wins": Case(
        {"name": "Acme AS"}, {"name": "Acme Inc"}, {"name": "Acme"}, Action.UPDATE, {"name": "Acme AS"},
        clashes=(("name", "source"),), incoming_at=None, live_at=None,
    ),
    "both changed, the destination to a blank: a clash like any other": Case(
        {"name": "Acme AS"}, {"name": None}, {"name": "Acme"}, Action.NOOP,
        clashes=(("name", "destination"),), live_at=LATER,
    ),
    "each field on its own: one written, one left, one clash": Case(
        {"name": "Acme AS", "city": "Oslo", "phone": "+47 1"},
        {"name": "Acme", "city": "Bergen", "phone": "+47 2"},
        {"name": "Acme", "city": "Oslo", "phone": "+47 0"},
        Action.UPDATE, {"name": "Acme AS"}, clashes=(("phone", "destination"),), live_at=LATER,
        plan_base={"name": "Acme AS", "city": "Oslo", "phone": "+47 1"},
    ),
    "a one-way field differing in the destination: a stale copy, overwritten without a clash": Case(
        {"rep": "usr_2"}, {"rep": "usr_1"}, {"rep": "usr_2"}, Action.UPDATE, {"rep": "usr_2"}, live_at=LATER,
        rules=ONE_WAY_RULES, plan_base={"rep": "usr_2"},
    ),
    "a one-way field blank in the source: the destination's value stays": Case(
        {"rep": None}, {"rep": "usr_1"}, {"rep": "usr_1"}, Action.NOOP, rules=ONE_WAY_RULES,
    ),
    "no merge base, the destination's field blank: it is filled": Case(
        {"name": "Acme"}, {"name": None}, None, Action.UPDATE, {"name": "Acme"},
    ),
    "no merge base, the destination's field filled otherwise: a clash": Case(
        {"name": "Acme"}, {"name": "Acme Inc"}, None, Action.NOOP, clashes=(("name", "destination"),),
        live_at=LATER,
    ),
    "a field the base does not know is judged as without a base": Case(
        {"name": "Acme", "city": "Oslo"}, {"name": "Acme"}, {"name": "Acme"}, Action.UPDATE, {"city": "Oslo"},
    ),
    "merge base fields the incoming record does not carry are kept": Case(
        {"name": "Acme AS"}, {"name": "Acme"}, {"name": "Acme", "city": "Oslo"}, Action.UPDATE,
        {"name": "Acme AS"}, plan_base={"name": "Acme AS", "city": "Oslo"},
    ),
    # Blanks.
    "a blank (None) from the source does not erase the destination's value": Case(
        {"name": None}, {"name": "Acme"}, {"name": "Acme"}, Action.NOOP, plan_base={"name": "Acme"},
    ),
    "a blank ('') from the source does not erase the destination's value": Case(
        {"name": ""}, {"name": "Acme"}, {"name": "Acme"}, Action.NOOP,
    ),
    "a blank from the source does not erase a value even without a base, no clash": Case(
        {"name": None}, {"name": "Acme"}, None, Action.NOOP, live_at=EARLIER,
    ),
    "a blank from the source erases a source-owned field (None)": Case(
        {"note": None}, {"note": "call first"}, {"note": "call first"}, Action.UPDATE, {"note": None},
    ),
    "a blank from the source erases a source-owned field ('')": Case(
        {"note": ""}, {"note": "call first"}, {"note": "call first"}, Action.UPDATE, {"note": ""},
    ),
    "a source-owned blank clashes with a later destination edit and loses": Case(
        {"note": None}, {"note": "call after 3"}, {"note": "call first"}, Action.NOOP,
        clashes=(("note", "destination"),), live_at=LATER,
    ),
    "None and '' are the same blank": Case(
        {"name": None, "note": ""}, {"name": "", "note": None}, {"name": "Acme", "note": "x"}, Action.NOOP,
    ),
    # Values that normalise the same.
    "Decimal('1.50') equals 1.5": Case(
        {"amount": Decimal("1.50")}, {"amount": 1.5}, {"amount": Decimal("1.2")}, Action.NOOP,
    ),
    "1.5 equals Decimal('1.5') equals the base's Decimal('1.50')": Case(
        {"amount": 1.5}, {"amount": Decimal("1.5")}, {"amount": Decimal("1.50")}, Action.NOOP,
    ),
    "the base's 1.5 and the destination's Decimal('1.50'): only the source changed": Case(
        {"amount": Decimal("2.00")}, {"amount": Decimal("1.50")}, {"amount": 1.5}, Action.UPDATE,
        {"amount": Decimal("2.00")},
    ),
    "2 equals Decimal('2.00')": Case({"amount": 2}, {"amount": Decimal("2.00")}, None, Action.NOOP),
    "a cent's difference is a change": Case(
        {"amount": Decimal("1.51")}, {"amount": Decimal("1.50")}, {"amount": 1.5}, Action.UPDATE,
        {"amount": Decimal("1.51")},
    ),
    "e-mails that differ only by case are equal (casefolded)": Case(
        {"email": "Ola.Nordmann@Example.NO"}, {"email": "ola.nordmann@example.no"}, None, Action.NOOP,
    ),
    "an e-mail's case changed in the source only is no change (casefolded)": Case(
        {"email": "OLA@EXAMPLE.NO"}, {"email": "ola@example.no"}, {"email": "ola@example.no"}, Action.NOOP,
    ),
    "without the casefolded rule, case does count": Case(
        {"contact": "OLA@EXAMPLE.NO"}, {"contact": "ola@example.no"}, {"contact": "ola@example.no"},
        Action.UPDATE, {"contact": "OLA@EXAMPLE.NO"},
    ),
    # No live record.
    "no live record: create it with the filled fields, identity included": Case(
        {"id": "cus_1", "name": "Acme", "city": None, "note": ""}, None, None, Action.CREATE,
        {"id": "cus_1", "name": "Acme"}, plan_base={"id": "cus_1", "name": "Acme", "city": None, "note": ""},
    ),
    "no live record and the rules skip it: no-op with the reason": Case(
        {"status": "draft"}, None, None, Action.NOOP, reason="drafts are not synced", rules=INVOICE_RULES,
    ),
    "no live record and the rules do not skip it: create": Case(
        {"status": "sent"}, None, None, Action.CREATE, {"status": "sent"}, rules=INVOICE_RULES,
    ),
    "no live record and deleted in the source: no-op with the reason": Case(
        {"name": "Acme"}, None, None, Action.NOOP, reason="deleted in the source before it was ever synced",
        deleted=True,
    ),
    # Deletes.
    "deleted in the source: deleted by default": Case(
        {"name": "Acme"}, {"name": "Acme"}, {"name": "Acme"}, Action.DELETE, reason="deleted in the source",
        deleted=True, plan_base={"name": "Acme"},
    ),
    "deleted in the source: what the rules' on_delete says": Case(
        {"total": 10}, {"total": 10}, {"total": 10}, Action.VOID, reason="invoice 4001 was deleted in the source",
        deleted=True, rules=INVOICE_RULES,
    ),
    # References not linked yet.
    "waiting on a reference: wait, whatever changed": Case(
        {"total": 12}, {"total": 10}, {"total": 10}, Action.WAIT, reason="waiting for customer cus_9 to be linked",
        waiting_on=("customer cus_9",),
    ),
    "waiting on references and no live record: wait, not create": Case(
        {"total": 12}, None, None, Action.WAIT, reason="customer cus_9, item sku_1", waiting_on=(
            "customer cus_9", "item sku_1",
        ),
    ),
    # Records the destination will not edit.
    "locked, with something to write: conflict, nothing written, the base kept": Case(
        {"total": 12}, {"total": 10}, {"total": 10}, Action.CONFLICT, {"total": 12},  # the changes, for the report
        reason="invoice 4001 is paid", rules=INVOICE_RULES, paid=True, plan_base={"total": 10},
    ),
    "locked, with nothing to write: no-op": Case(
        {"total": 10}, {"total": 10}, {"total": 10}, Action.NOOP, rules=INVOICE_RULES, paid=True,
    ),
    "locked, only the destination changed: no-op": Case(
        {"total": 10}, {"total": 11}, {"total": 10}, Action.NOOP, rules=INVOICE_RULES, paid=True,
    ),
    "locked, a clash the destination won: no-op with the clash": Case(
        {"total": 12}, {"total": 11}, {"total": 10}, Action.NOOP, clashes=(("total", "destination"),),
        rules=INVOICE_RULES, paid=True, live_at=LATER,
    ),
    "locked, and voided in the source: conflict": Case(
        {"voided": True}, {"voided": False}, {"voided": False}, Action.CONFLICT, reason="is paid",
        rules=INVOICE_RULES, paid=True,
    ),
    # Changes carried out as another action.
    "a recreate_on field changed: recreate, with all the changes": Case(
        {"currency": "EUR", "total": 12}, {"currency": "NOK", "total": 10}, {"currency": "NOK", "total": 10},
        Action.RECREATE, {"currency": "EUR", "total": 12}, reason="currency cannot change on an existing record",
        rules=INVOICE_RULES, plan_base={"currency": "EUR", "total": 12},
    ),
    "a recreate_on field unchanged, another changed: update": Case(
        {"currency": "NOK", "total": 12}, {"currency": "NOK", "total": 10}, {"currency": "NOK", "total": 10},
        Action.UPDATE, {"total": 12}, rules=INVOICE_RULES,
    ),
    "a recreate_on field changed in the destination only: no-op": Case(
        {"currency": "NOK"}, {"currency": "EUR"}, {"currency": "NOK"}, Action.NOOP, rules=INVOICE_RULES,
    ),
    "a recreate_on field in a clash the destination won: no recreate": Case(
        {"currency": "SEK"}, {"currency": "EUR"}, {"currency": "NOK"}, Action.NOOP,
        clashes=(("currency", "destination"),), rules=INVOICE_RULES, live_at=LATER,
    ),
    "voided in the source: void, the field not written": Case(
        {"voided": True}, {"voided": False}, {"voided": False}, Action.VOID, rules=INVOICE_RULES,
        plan_base={"voided": True},
    ),
    "voided with other changes: void, the other changes kept": Case(
        {"voided": True, "notes": "duplicate"}, {"voided": False, "notes": None}, {"voided": False, "notes": None},
        Action.VOID, {"notes": "duplicate"}, rules=INVOICE_RULES,
    ),
    "a transition field changed to a value with no action: nothing written": Case(
        {"voided": False}, {"voided": True}, {"voided": True}, Action.NOOP, rules=INVOICE_RULES,
        plan_base={"voided": False},
    ),
    "already voided in the destination: no-op": Case(
        {"voided": True}, {"voided": True}, {"voided": False}, Action.NOOP, rules=INVOICE_RULES,
    ),
    "a list field (invoice lines) changed next to a transition field: written whole": Case(
        {"items": [{"name": "a", "quantity": 2}], "voided": False},
        {"items": [{"name": "a", "quantity": 1}], "voided": False},
        {"items": [{"name": "a", "quantity": 1}], "voided": False},
        Action.UPDATE, {"items": [{"name": "a", "quantity": 2}]}, rules=INVOICE_RULES,
    ),
    # A cancellation (cancelled_by) is carried out as a delete would be.
    "cancelled in the source: what on_delete says, the field not written": Case(
        {"voided": True, "notes": "x"}, {"voided": False, "notes": None}, {"voided": False, "notes": None},
        Action.VOID, reason="deleted in the source", rules=CANCEL_RULES,
    ),
    "cancelled in the source, but the destination is paid: a conflict, the base kept": Case(
        {"voided": True}, {"voided": False}, {"voided": False}, Action.CONFLICT, reason="paid",
        plan_base={"voided": False}, rules=CANCEL_RULES, paid=True,
    ),
    # Identity.
    "the id is never compared or written on update": Case(
        {"id": "cus_1", "name": "Acme"}, {"id": "4001", "name": "Acme"}, {"id": "cus_0", "name": "Acme"},
        Action.NOOP,
    ),
    "every identity field is left out of an update": Case(
        {"id": "cus_1", "number": "INV-1", "total": 12}, {"id": "4001", "number": "INV-0009", "total": 10},
        {"total": 10}, Action.UPDATE, {"total": 12}, rules=replace(INVOICE_RULES, identity=frozenset({"id", "number"})),
    ),
}


def _plan(case: Case) -> Plan:
    incoming = Incoming("cus_1", case.incoming, case.incoming_at, deleted=case.deleted, waiting_on=case.waiting_on)
    live = None if case.live is None else Live("4001", case.live, case.live_at, record={"paid": case.paid})
    return plan(incoming, live, case.base, case.rules)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_plan(case: Case) -> None:
    decided = _plan(case)

    assert decided.action is case.action
    assert decided.updates == case.updates
    for update in decided.updates:  # the exact value, not one that merely compares equal
        assert type(decided.updates[update]) is type(case.updates[update])
    assert [(c.field, c.winner) for c in decided.clashes] == list(case.clashes)
    if case.reason:
        assert case.reason in decided.reason
    else:
        assert decided.reason == ""
    if case.plan_base is not None:
        assert decided.base == case.plan_base


def test_a_change_says_what_the_destination_held() -> None:
    decided = _plan(CASES["only the source changed: its value is written"])
    (change,) = decided.changes
    assert (change.field, change.old, change.new) == ("name", "Acme", "Acme AS")


def test_a_clash_says_both_values_and_why_the_winner_won() -> None:
    decided = _plan(CASES["both changed, the destination later: the destination wins, clash reported"])
    (clash,) = decided.clashes
    assert (clash.field, clash.source, clash.destination, clash.winner) == ("name", "Acme AS", "Acme Inc",
                                                                           "destination")
    assert clash.why == f"the destination's edit is later ({LATER.isoformat()} > {T0.isoformat()})"


def test_waiting_keeps_the_merge_base() -> None:
    decided = _plan(CASES["waiting on a reference: wait, whatever changed"])
    assert decided.base == {"total": 10}


def test_a_blank_from_the_source_against_a_destination_edit_is_reported_as_a_clash() -> None:
    decided = _plan(Case({"name": None}, {"name": "Acme Inc"}, {"name": "Acme"}, Action.NOOP))
    assert decided.action is Action.NOOP  # the blank does not erase the destination's value (this part holds)
    assert [(c.field, c.winner) for c in decided.clashes] == [("name", "destination")]


# Properties: any incoming, live and base values over a few fields, drawn independently.

FIELD_VALUES: dict[str, list[Any]] = {
    "name": [None, "", "Acme", "Acme AS"],
    "email": [None, "", "ola@example.no", "OLA@Example.NO", " ola@example.no ", "kari@example.no"],
    "amount": [None, "", Decimal("1.50"), 1.5, Decimal("1.5"), 2, Decimal("2.00"), Decimal("2.01")],
    "note": [None, "", "call first", "call after 3"],  # source-owned
}
PROPERTY_RULES = Rules(fields={"email": FieldRule(same=casefolded), "note": FieldRule(source_owned=True)},
                       recreate_on=frozenset({"amount"}))
MOMENTS = [None, EARLIER, T0, T0_IN_OSLO, LATER]


def _values(*, all_fields: bool) -> st.SearchStrategy[dict[str, Any]]:
    per_field = {name: st.sampled_from(values) for name, values in FIELD_VALUES.items()}
    if all_fields:
        return st.fixed_dictionaries(per_field)
    return st.fixed_dictionaries({}, optional=per_field)


incomings = st.builds(
    Incoming,
    source_id=st.just("cus_1"),
    values=st.builds(lambda v: {"id": "cus_1", **v}, _values(all_fields=True)),
    updated_at=st.sampled_from(MOMENTS),
)
lives = st.builds(
    Live,
    id=st.just("4001"),
    values=st.builds(lambda v, with_id: {"id": "4001", **v} if with_id else v, _values(all_fields=False),
                     st.booleans()),
    updated_at=st.sampled_from(MOMENTS),
)
bases = st.none() | _values(all_fields=False)


def _same(name: str, one: Any, other: Any) -> bool:
    rule = PROPERTY_RULES.rule(name)
    return rule.same(one) == rule.same(other)


def _known(base: Mapping[str, Any] | None, name: str) -> bool:
    return base is not None and name in base


@settings(max_examples=200)
@given(incoming=incomings, live=lives, base=bases)
def test_a_field_only_the_destination_changed_is_never_written(
    incoming: Incoming, live: Live, base: Mapping[str, Any] | None
) -> None:
    decided = plan(incoming, live, base, PROPERTY_RULES)
    assert "id" not in decided.updates
    for name, ours in incoming.values.items():
        if _known(base, name) and _same(name, ours, base[name]) and not _same(name, live.values.get(name), base[name]):
            assert name not in decided.updates


@settings(max_examples=200)
@given(incoming=incomings, live=lives, base=bases)
def test_a_field_only_the_source_changed_is_written_unless_it_is_a_blank_the_source_does_not_own(
    incoming: Incoming, live: Live, base: Mapping[str, Any] | None
) -> None:
    decided = plan(incoming, live, base, PROPERTY_RULES)
    for name, ours in incoming.values.items():
        if name == "id" or not _known(base, name):
            continue
        only_source = not _same(name, ours, base[name]) and _same(name, live.values.get(name), base[name])
        if not only_source:
            continue
        if is_empty(ours) and not PROPERTY_RULES.rule(name).source_owned:
            assert name not in decided.updates
        else:
            assert decided.action in (Action.UPDATE, Action.RECREATE)
            assert name in decided.updates
            assert decided.updates[name] is ours


def _winner(incoming: Incoming, live: Live) -> str:
    if live.updated_at is None:
        return "source"
    if incoming.updated_at is None:
        return "destination"
    return "destination" if live.updated_at > incoming.updated_at else "source"


@settings(max_examples=200)
@given(incoming=incomings, live=lives, base=bases)
def test_both_sides_changing_a_field_is_a_clash_the_later_edit_wins(
    incoming: Incoming, live: Live, base: Mapping[str, Any] | None
) -> None:
    decided = plan(incoming, live, base, PROPERTY_RULES)
    clashes = {clash.field: clash for clash in decided.clashes}
    for name, ours in incoming.values.items():
        theirs = live.values.get(name)
        if name == "id" or not _known(base, name) or _same(name, ours, theirs):
            continue
        both = not _same(name, ours, base[name]) and not _same(name, theirs, base[name])
        blank_kept_out = is_empty(ours) and not is_empty(theirs) and not PROPERTY_RULES.rule(name).source_owned
        if both and blank_kept_out:  # a clash, but a blank never erases: the destination keeps its value
            assert clashes[name].winner == "destination"
            assert name not in decided.updates
        elif both:
            assert clashes[name].winner == _winner(incoming, live)
            assert (name in decided.updates) is (clashes[name].winner == "source")
        else:
            assert name not in clashes


def _carried_out(decided: Plan, live: Live | None, at: datetime | None) -> Live:
    """The destination after the plan: its values updated with the plan's, its time the write's."""
    if live is None:
        return Live("4002", dict(decided.updates), at)
    return Live(live.id, {**live.values, **decided.updates}, at)


@settings(max_examples=200)
@given(incoming=incomings, live=st.none() | lives, base=bases, written_at=st.sampled_from(MOMENTS))
def test_planning_again_after_the_plan_is_carried_out_writes_nothing(
    incoming: Incoming, live: Live | None, base: Mapping[str, Any] | None, written_at: datetime | None
) -> None:
    first = plan(incoming, live, base if live is not None else None, PROPERTY_RULES)
    assert first.action in (Action.CREATE, Action.UPDATE, Action.RECREATE, Action.NOOP)
    after = _carried_out(first, live, written_at) if first.action.writes else live
    assert after is not None

    again = plan(incoming, after, first.base, PROPERTY_RULES)

    assert again.action is Action.NOOP
    assert again.changes == ()
    assert again.clashes == ()  # a clash is reported once, not on every run after
    assert again.base == first.base


@pytest.mark.parametrize(
    ("one", "other"),
    [(Decimal("1.50"), 1.5), (1.5, Decimal("1.5")), (Decimal("1.50"), Decimal("1.5")), (2, Decimal("2.00")),
     (None, ""), ({"a": 1, "b": None}, {"a": Decimal("1.0")}), ([1.5, "x"], (Decimal("1.50"), "x"))],
    ids=["Decimal 1.50 ~ 1.5", "1.5 ~ Decimal 1.5", "Decimal 1.50 ~ 1.5", "2 ~ Decimal 2.00", "None ~ ''",
         "map without blanks", "list ~ tuple"],
)
def test_values_that_mean_the_same_have_one_canonical_form(one: Any, other: Any) -> None:
    assert canonical(one) == canonical(other)
