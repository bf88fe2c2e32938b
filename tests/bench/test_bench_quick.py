"""`make bench-quick` runs every benchmark at tiny sizes and leaves well-formed results. No timing is checked: the
figures of a smoke run on a busy machine mean nothing, only their shape and the counts that must hold at any size."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from bench.run_all import BENCHMARKS
from sandbox.common.process import REPO_ROOT


def test_bench_quick_writes_results_table_and_charts(tmp_path: Path) -> None:
    make = shutil.which("make") or "make"
    result = subprocess.run([make, "bench-quick", f"BENCH_OUT={tmp_path}"], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]

    results = json.loads((tmp_path / "latest.json").read_text())
    assert results["quick"] is True
    assert results["failed"] == []
    assert set(results["benchmarks"]) == set(BENCHMARKS)
    assert results["machine"]["cores"] >= 1

    initial = results["benchmarks"]["initial_sync"]
    for run in initial["to_invoiced"] + initial["to_customcrm"]:
        assert run["created"] > 0
        assert run["writes"] >= run["created"]
        assert 0 < run["sync_over_ceiling"] <= 1.0 + 1e-9  # no client writes faster than C / L
        assert run["plain_over_ceiling"] > 0
    assert {run["concurrency"] for run in initial["to_invoiced"]} == {4, 20}

    cost = results["benchmarks"]["sync_cost"]
    for run in cost["runs"]:
        assert run["quiet"]["writes"] == 0, run["quiet"]
        assert run["changed"]["writes"] >= run["edited"] > 0
        assert all(rss > 0 for rss in run["first"]["peak_rss_mib"].values())

    for name in ("tap_customcrm", "tap_invoiced"):
        assert results["benchmarks"][name]["records"][1] > results["benchmarks"][name]["records"][0] > 0

    table = (tmp_path / "results.md").read_text()
    assert "| goal | measured | met |" in table
    assert "Customcrm -> Invoiced" in table
    for chart in ("throughput.png", "cost.png"):
        assert (tmp_path / chart).read_bytes().startswith(b"\x89PNG")
