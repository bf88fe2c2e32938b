"""The match index: a destination's records by each first-link rule's key, and the records a run writes into it."""

from __future__ import annotations

from sync_core.matching import MatchIndex, MatchRule
from sync_core.planner import Live
from sync_core.values import casefolded

RULES = (MatchRule("ref"), MatchRule("email", same=casefolded))


def live(record_id: str, **values: object) -> Live:
    return Live(record_id, dict(values), None, {"id": record_id, **values})


def ids(found: list[Live]) -> list[str]:
    return [record.id for record in found]


def test_a_record_read_is_found_whole_by_each_rule_and_its_rule_key() -> None:
    index = MatchIndex(RULES, [live("1", ref="c1", email="Post@Fjord.no", name="Fjord"), live("2", email="x@y.no")])

    [found] = index.get(1, casefolded("post@fjord.NO"))
    assert found.values["name"] == "Fjord"
    assert index.is_whole("1")
    assert ids(index.get(0, "c1")) == ["1"]
    assert index.get(0, None) == []
    assert index.get(0, "c2") == []


def test_a_written_record_is_held_by_its_match_fields_alone() -> None:
    index = MatchIndex(RULES, [])

    index.add(live("7", ref="c7", email="a@b.no", name="Fjord"), whole=False)

    [found] = index.get(1, "a@b.no")
    assert found.values == {"ref": "c7", "email": "a@b.no"}
    assert not index.is_whole("7")


def test_a_record_added_again_moves_to_its_new_keys_and_leaves_the_others_there() -> None:
    index = MatchIndex(RULES, [live("1", ref="c1", email="same@x.no"), live("2", ref="c2", email="same@x.no")])

    index.add(live("1", ref="c1", email="new@x.no"), whole=False)

    assert ids(index.get(1, "same@x.no")) == ["2"]
    assert ids(index.get(1, "new@x.no")) == ["1"]
    assert ids(index.get(0, "c1")) == ["1"]
    index.add(live("1", ref="c1", email="new@x.no", name="read again"))
    assert index.is_whole("1")
    assert index.get(1, "new@x.no")[0].values["name"] == "read again"
    index.add(live("2", ref=None, email=None))
    assert index.get(1, "same@x.no") == []
    assert index.get(0, "c2") == []
