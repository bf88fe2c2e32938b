"""The bad-input catalogue (bad_input.py), synced among good records through `meltano run sync`: each case ends in
the rejects file with a reason that names its field and the fix, everything else is linked, and the catalogue in
docs/bad-input.md is current; no key or token is in any file the runs leave, rejects included."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from soak.end_state import duplicates, unlinked
from tests.conftest import SandboxStarter
from tests.reliability.bad_input import CARRIED, CASES, DOC, TO_INVOICED, Case, document
from tests.target_invoiced.conftest import CUSTOMCRM_TOKEN, INVOICED_KEY
from tests.two_way.conftest import TwoWay, two_way

# A reason says what to do: "fix: ...", "change it in ...", "give the product a SKU", "e.g. when it is made active".
FIX_WORDS = ("fix", "change", "give", "use ", "set ", "e.g.", "shorten", "void")


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory, start_sandbox: SandboxStarter,
           meltano_root: Path) -> Iterator[tuple[TwoWay, Made]]:
    """Good seeded records and every bad case, after the syncs that carry everything that can go."""
    for systems in two_way(tmp_path_factory, start_sandbox, meltano_root,
                           crm_seed=("--seed-customers", "8", "--seed-orders", "60", "--seed", "31"),
                           inv_seed=("--seed-customers", "4", "--seed", "32")):
        made: Made = {}
        _make(systems, [case for case in CASES + CARRIED if not case.after_sync], made)
        systems.sync()
        # Invoiced's times are whole seconds: an edit there in the second of the sync's last write to Customcrm
        # would tie with it, and a tie is the other side's (README, limitations). Edit a second later, as a person.
        time.sleep(1.1)
        _make(systems, [case for case in CASES + CARRIED if case.after_sync], made)
        systems.sync()
        systems.sync()
        yield systems, made


Made = dict[str, tuple[str, str]]  # case name -> (stream, source id), or ("not made", why)


def _make(systems: TwoWay, cases: list[Case], made: Made) -> None:
    for case in cases:
        try:
            made[case.name] = case.make(systems, len(made) + 1)
        except AssertionError as refused:  # its own system refused it: the catalogue is wrong
            made[case.name] = ("not made", str(refused))


def _reject_of(systems: TwoWay, case: Case, made: Made) -> dict[str, Any] | None:
    target = "target-invoiced" if case.direction == TO_INVOICED else "target-customcrm"
    stream, source_id = made[case.name]
    return next((row for row in reversed(systems.rejects(target)) if str(row.get("source_id")) == source_id
                 and row.get("stream") == stream), None)


def test_each_bad_record_is_rejected_naming_the_field_and_the_fix(synced: tuple[TwoWay, Made]) -> None:
    systems, made = synced
    problems = []
    for case in CASES:
        if made[case.name][0] == "not made":
            problems.append(f"{case.name}: {made[case.name][1]}")
            continue
        row = _reject_of(systems, case, made)
        if row is None:
            near = [r["reason"][:200] for r in systems.rejects() if str(r.get("source_id")) == made[case.name][1]]
            problems.append(f"{case.name}: not in the rejects of {case.direction} {made[case.name]} {near}")
            continue
        reason = row["reason"]
        if case.field not in reason or case.says not in reason or not any(word in reason for word in FIX_WORDS):
            problems.append(f"{case.name}: {reason}")
    assert problems == [], "\n".join(problems)


def test_odd_but_valid_records_are_carried_not_rejected(synced: tuple[TwoWay, Made]) -> None:
    systems, made = synced
    for case in CARRIED:
        assert made[case.name][0] != "not made", made[case.name]
        assert _reject_of(systems, case, made) is None, case.name


def test_everything_else_syncs(synced: tuple[TwoWay, Made]) -> None:
    systems, made = synced
    bad = {source_id for _, source_id in made.values()}
    assert duplicates(systems) == []
    assert [line for line in unlinked(systems) if not any(f" {source} " in f"{line} " for source in bad)] == []


def test_the_catalogue_in_the_docs_is_current() -> None:
    assert DOC.read_text() == document(), "run: python -m tests.reliability.bad_input"


def test_no_secret_in_the_rejects_summaries_audit_state_or_link_store(synced: tuple[TwoWay, Made]) -> None:
    systems, _ = synced
    files = [path for path in systems.root.rglob("*") if path.is_file()]
    assert {"target-invoiced-rejects.jsonl", "target-customcrm-rejects.jsonl", "links.db", "meltano.db"} <= {
        path.name for path in files}
    for path in files:
        for secret in (INVOICED_KEY, CUSTOMCRM_TOKEN):
            assert secret.encode() not in path.read_bytes(), f"{secret[:6]}… is in {path}"
