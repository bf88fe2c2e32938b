"""The crash soak, small: runs of `meltano run sync`, each with one of its processes (a tap, the mapper or a target)
killed with SIGKILL at a random moment, new records on both sides before each; then runs until quiet: nothing
duplicated, nothing missing, and the link store agreeing with both systems' cross-references."""

from __future__ import annotations

from pathlib import Path

import pytest

from soak.scenarios import crash_soak
from soak.systems import Size

SMALL = Size(customers=20, products=6, orders=30, invoiced_customers=6)


def test_killed_runs_then_quiet_runs_leave_everything_once_and_the_store_consistent(
        tmp_path_factory: pytest.TempPathFactory, meltano_root: Path) -> None:
    result = crash_soak(tmp_path_factory.mktemp("crash-soak"), meltano_root, SMALL, seed=12, kills=3, new_per_round=4)
    assert sum(" killed " in kill for kill in result.kills) == 3, result.kills
    assert result.duplicates == []
    assert result.missing == []
    assert result.store == []
    assert result.quiet_writes == 0
