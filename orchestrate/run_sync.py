"""The external side of a tenant's Pipes session: `python -m orchestrate.run_sync MELTANO ARGS...` runs Meltano and,
when it succeeds, reports the summaries the two targets wrote as the asset materialization's metadata.

Meltano and the plugins know nothing of Dagster; this wrapper speaks Pipes for them. It needs only dagster-pipes,
not Dagster, and finds the summaries where the orchestrator told the targets to write them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dagster_pipes import PipesContext, open_dagster_pipes

TARGETS = ("target-invoiced", "target-customcrm")
# Names of the worker's variables this run must not pass on to Meltano (other tenants' connections): the orchestrator
# lists them, since Pipes starts this process with the worker's whole environment underneath the run's own.
UNSET_VARIABLE = "ORCHESTRATE_UNSET"


def target_variable(target: str, setting: str) -> str:
    """The target's own variable for a setting (TARGET_INVOICED_SUMMARY_PATH), which Meltano lets override all."""
    return f"{target.upper().replace('-', '_')}_{setting.upper()}"


def summary_path(target: str) -> Path | None:
    value = os.environ.get(target_variable(target, "summary_path"))
    return Path(value) if value else None


def summary_metadata() -> dict[str, Any]:
    """Each target's totals as numbers (plotted run over run in the UI), its per-stream counts and its file."""
    metadata: dict[str, Any] = {}
    for target in TARGETS:
        path = summary_path(target)
        if path is None or not path.exists():
            continue
        summary = json.loads(path.read_text(encoding="utf-8"))
        metadata |= {f"{target} {outcome}": count for outcome, count in summary.get("total", {}).items()}
        # Not only this run's outcomes: what the link store still holds set aside, earlier runs' included.
        still = summary.get("still_set_aside", {}).get("total", {})
        metadata[f"{target} still set aside"] = sum(entry["count"] for entry in still.values())
        metadata |= {f"{target} still {kind}": entry["count"] for kind, entry in still.items()}
        metadata[f"{target} streams"] = {"raw_value": summary.get("streams", {}), "type": "json"}
        metadata[f"{target} summary"] = {"raw_value": str(path), "type": "path"}
    return metadata


def meltano_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without what the orchestrator listed in UNSET_VARIABLE."""
    unset = set(filter(None, environ.get(UNSET_VARIABLE, "").split(","))) | {UNSET_VARIABLE}
    return {name: value for name, value in environ.items() if name not in unset}


def run(command: list[str], pipes: PipesContext) -> int:
    for target in TARGETS:  # a summary left by an earlier run must not pass for this one's
        if path := summary_path(target):
            path.unlink(missing_ok=True)
    meltano = subprocess.Popen(command, env=meltano_environment(os.environ))
    try:
        returncode = meltano.wait()
    except KeyboardInterrupt:  # Dagster stops a run with SIGINT to this process: pass it on, let Meltano finish
        meltano.send_signal(signal.SIGINT)
        meltano.wait()
        raise
    if returncode == 0:
        pipes.report_asset_materialization(metadata=summary_metadata())
    else:
        pipes.log.error(f"meltano exited with {returncode}; its log is in this step's stdout/stderr")
    return returncode


def main() -> None:
    with open_dagster_pipes() as pipes:
        returncode = run(sys.argv[1:], pipes)
    sys.exit(returncode)


if __name__ == "__main__":
    main()
