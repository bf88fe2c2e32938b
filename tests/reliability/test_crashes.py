"""The crash soak, small: runs of `meltano run sync`, each crashed (a target at a named crash point, or one of its
processes SIGKILLed at a random moment), new records on both sides before each; then runs until quiet: nothing
duplicated, nothing missing, nothing set aside that the same rounds without crashes do not set aside, and the link
store agreeing with both systems' cross-references."""

from __future__ import annotations

from pathlib import Path

import pytest

from soak.scenarios import crash_soak
from soak.systems import Size

SMALL = Size(customers=12, products=5, orders=20, invoiced_customers=4)


def test_killed_runs_then_quiet_runs_leave_everything_once_and_the_store_consistent(
        tmp_path_factory: pytest.TempPathFactory, meltano_root: Path) -> None:
    named = ("target-invoiced:create-refused", "target-customcrm:create-answered@2")
    result = crash_soak(tmp_path_factory.mktemp("crash-soak"), meltano_root, SMALL, seed=12, kills=3, new_per_round=3,
                        named=named, kill_within=0.8)  # the processes of a run this small live a second or two
    assert result.crashes >= 3, result.kills
    assert sum(" died at " in kill for kill in result.kills) == len(named), result.kills
    assert result.duplicates == []
    assert result.missing == []
    assert result.stranded == []
    assert result.store == []
    assert result.quiet_writes == 0
