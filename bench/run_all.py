"""`make bench` and `make bench-quick`: run every benchmark, gather their figures into one JSON file, and write the
Markdown table and the charts from it.

    .venv/bin/python bench/run_all.py [--quick] [--out bench/results]

Each benchmark is its own script (its docstring says what it measures), run as a child process with `--json FILE`;
one that fails is named and the others still run. --quick runs each at a tiny size, for a smoke test of the
harness in well under a minute: its figures say nothing about performance.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run as a script: `bench` is a top-level package of the repo

from bench import report  # noqa: E402

# name: (script, arguments for `make bench`, arguments for `make bench-quick`)
BENCHMARKS: dict[str, tuple[str, list[str], list[str]]] = {
    "invoiced_sandbox": ("bench_invoiced_sandbox.py", [], ["--seconds", "0.3", "--seed-customers", "100"]),
    "initial_sync": ("bench_target_invoiced.py", [], [
        "--customers", "40", "--products", "4", "--orders", "60", "--concurrency", "4", "20",
        "--reverse-customers", "15", "--reverse-concurrency", "20"]),
    "sync_cost": ("bench_sync_cost.py", [], ["--sizes", "40", "80", "--repeat", "1"]),
    "tap_customcrm": ("bench_tap_customcrm.py", ["--repeat", "3"], ["--customers", "60", "--repeat", "1"]),
    "tap_invoiced": ("bench_tap_invoiced.py", [], ["--customers", "30", "--repeat", "1"]),
}
SETUP = "setup"  # minutes and PyPI: only with --with-setup
OPTIONAL = {SETUP: ("bench_setup.py", [], [])}


def machine() -> dict[str, object]:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    return {
        "cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "load_average_at_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run of the harness")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="folder for latest.json, results.md, PNGs")
    parser.add_argument("--only", nargs="+", choices=sorted({*BENCHMARKS, *OPTIONAL}), help="run only these")
    parser.add_argument("--with-setup", action="store_true", help="also time make install + make demo in a clone")
    args = parser.parse_args()
    chosen = {**BENCHMARKS, **(OPTIONAL if args.with_setup or (args.only and SETUP in args.only) else {})}
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {
        "quick": args.quick, "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(), "benchmarks": {}, "seconds": {}, "failed": [], "retried": [],
    }
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        for name, (script, full, quick) in chosen.items():
            if args.only and name not in args.only:
                continue
            print(f"\n=== {script} ===", flush=True)
            figures = Path(tmp) / f"{name}.json"
            command = [sys.executable, str(HERE / script), *(quick if args.quick else full), "--json", str(figures)]
            begun = time.perf_counter()
            finished = subprocess.run(command, cwd=HERE.parent, check=False)
            if finished.returncode != 0:
                # On a machine shared with other work a process may be killed from outside: one more try, said.
                print(f"{script} failed ({finished.returncode}); running it once more", flush=True)
                results["retried"].append(name)  # type: ignore[attr-defined]
                finished = subprocess.run(command, cwd=HERE.parent, check=False)
            results["seconds"][name] = time.perf_counter() - begun  # type: ignore[index]
            if finished.returncode != 0 or not figures.exists():
                results["failed"].append(name)  # type: ignore[attr-defined]
                continue
            results["benchmarks"][name] = json.loads(figures.read_text())  # type: ignore[index]
    results["total_seconds"] = time.perf_counter() - started
    (args.out / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    report.write(results, args.out)
    print(f"\n{report.markdown(results)}")
    print(f"results: {args.out / 'latest.json'}, {args.out / 'results.md'} and the charts beside them "
          f"({results['total_seconds']:.0f} s in all)")
    if results["failed"]:
        print(f"failed: {', '.join(results['failed'])}")  # type: ignore[arg-type]
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
