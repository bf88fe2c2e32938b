"""`decide`, one row per kind of plan: what the planner makes of a record from what is known of it, and which read
it asks for first. Pure data in, a plan out: no server, no store."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sync_core.planner import UNREAD, Action, Blocking, Incoming, Known, Live, Rules, decide

RULES = Rules(
    locked=lambda live: "it is paid" if live.record.get("paid") else None,
    vanished=lambda live, base: bool(live.record.get("archived")) and not (base or {}).get("archived"),
    skip_create=lambda incoming: "drafts are not synced" if incoming.values.get("draft") else None,
)
NEW = Incoming("c1", {"name": "Fjord AS"}, None)
DELETED = Incoming("c1", {"name": "Fjord AS"}, None, deleted=True)
BASE = {"name": "Fjord AS"}
LIVE = Live("7", {"name": "Fjord AS"}, None)
OTHER = Live("8", {"name": "Fjord"}, None)
BLOCKING = Blocking(("customer", "cus_1"), "customer cus_1 is inactive")


@dataclass(frozen=True)
class Row:
    incoming: Incoming
    action: Action
    known: dict[str, Any] = field(default_factory=dict)
    reason: str = ""  # a part of the plan's reason


ROWS = {
    "the mapping refused it": Row(replace(NEW, refused="currency: 'XBT'; fix: an ISO code"), Action.REJECT,
                                  reason="currency: 'XBT'"),
    "unchanged since the base: no read at all": Row(NEW, Action.NOOP, {"linked": "7", "base": BASE}),
    "changed since the base: read the live record": Row(replace(NEW, values={"name": "Fjord Fisk AS"}),
                                                        Action.READ_LIVE, {"linked": "7", "base": BASE}),
    "linked and changed: an update": Row(replace(NEW, values={"name": "Fjord Fisk AS"}), Action.UPDATE,
                                         {"linked": "7", "base": BASE, "live": LIVE}),
    "linked but gone": Row(replace(NEW, values={"name": "Fjord Fisk AS"}), Action.VANISHED,
                           {"linked": "7", "base": BASE, "live": None}, reason="record 7 was deleted there"),
    "linked but archived there since": Row(replace(NEW, values={"name": "x"}), Action.VANISHED,
                                           {"linked": "7", "base": BASE,
                                            "live": replace(LIVE, record={"archived": True})}),
    "linked but locked": Row(replace(NEW, values={"name": "Fjord Fisk AS"}), Action.CONFLICT,
                             {"linked": "7", "base": BASE, "live": replace(LIVE, record={"paid": True})},
                             reason="it is paid"),
    "a reference not linked yet": Row(replace(NEW, waiting_on=("customer cus_9",)), Action.WAIT,
                                      reason="waiting for customer cus_9 to be linked"),
    "a reference not linked yet, linked record": Row(replace(NEW, waiting_on=("customer cus_9",)), Action.WAIT,
                                                     {"linked": "7", "base": BASE}),
    "not linked: look for matches": Row(NEW, Action.FIND_MATCHES),
    "no match: a create": Row(NEW, Action.CREATE, {"candidates": ()}),
    "no match, but skipped": Row(replace(NEW, values={"draft": True}), Action.NOOP, {"candidates": ()},
                                 reason="drafts are not synced"),
    "no match, but its parent refuses it": Row(replace(NEW, blocked=BLOCKING), Action.BLOCK, {"candidates": ()},
                                               reason="customer cus_1 is inactive"),
    "one match: linked, nothing to write": Row(NEW, Action.NOOP, {"candidates": (LIVE,)}),
    "one match that differs: linked and merged": Row(NEW, Action.UPDATE, {"candidates": (OTHER,)}),
    "one match, its parent refusing: not a create, so not blocked": Row(replace(NEW, blocked=BLOCKING),
                                                                         Action.NOOP, {"candidates": (LIVE,)}),
    "two matches": Row(NEW, Action.QUARANTINE, {"candidates": (LIVE, OTHER)}, reason="(7, 8)"),
    "one match another record of the run took": Row(NEW, Action.QUARANTINE, {"candidates": (LIVE,),
                                                                             "contested": True},
                                                    reason="another one of this run"),
    "a delete, never linked": Row(DELETED, Action.NOOP),
    "a delete after an unconfirmed create: look it up": Row(DELETED, Action.FIND_OWN, {"pending": True}),
    "a delete after an unconfirmed create that made nothing": Row(DELETED, Action.NOOP,
                                                                  {"pending": True, "candidates": ()}),
    "a delete after an unconfirmed create that made it": Row(DELETED, Action.DELETE,
                                                             {"pending": True, "candidates": (LIVE,)}),
    "a delete, linked: read it first": Row(DELETED, Action.READ_LIVE, {"linked": "7", "base": BASE}),
    "a delete, linked": Row(DELETED, Action.DELETE, {"linked": "7", "base": BASE, "live": LIVE}),
}


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
def test_decide(row: Row) -> None:
    decided = decide(Known(row.incoming, "invoiced", "customcrm", **row.known), RULES)
    assert decided.action is row.action
    assert row.reason in decided.reason


names = st.sampled_from(["Fjord AS", "Nord AS", ""])
incomings = st.builds(lambda name, deleted: Incoming("c1", {"name": name}, None, deleted=deleted), names,
                      st.booleans())
lives = st.builds(lambda name, paid: Live("7", {"name": name}, None, {"paid": paid}), names, st.booleans())


@settings(max_examples=300)
@given(incoming=incomings, live=st.none() | lives, base=st.none() | st.fixed_dictionaries({"name": names}),
       linked=st.booleans(), pending=st.booleans())
def test_every_read_is_asked_for_once_and_then_a_decision_comes(
    incoming: Incoming, live: Live | None, base: dict[str, Any] | None, linked: bool, pending: bool
) -> None:
    known = Known(incoming, "invoiced", "customcrm", linked="7" if linked else None, base=base if linked else None,
                  pending=pending)
    asked = []
    for _ in range(3):
        decided = decide(known, RULES)
        if not decided.action.reads:
            break
        asked.append(decided.action)
        if decided.action is Action.READ_LIVE:
            known = replace(known, live=live)
        else:
            known = replace(known, candidates=(live,) if live is not None else ())
    assert not decided.action.reads
    assert len(asked) == len(set(asked)) <= 1
    if linked and base is not None and not incoming.deleted and incoming.values == base:
        assert asked == []  # unchanged since the base: not even a read
    assert known.live is UNREAD or linked
