"""CPU and memory of tap-customcrm next to a plain requests + json loop over the same pages, in the same run.

    .venv/bin/python bench/bench_tap_customcrm.py [--customers 3100] [--repeat 3]

Two seeded Customcrm services are started, one with --customers and one with twice as many (each customer brings
about 3.3 records: orders, products, users). On each, the tap (the real tap-customcrm, its module run as `python -m`
would, a first full sync) and the baseline (this file with --baseline: the same requests with the same page size,
`json.loads` of each page, one JSON RECORD line per record to stdout) run as child processes, alternately, writing
to a file.
Both outputs are checked to hold every record of the service. CPU is the child's user+system time from os.wait4,
peak memory its ru_maxrss. Figures per 10 000 records are given whole-run (including interpreter start-up and
imports) and marginal (the difference between the two sizes, which cancels start-up), for the best of --repeat
runs and as the range over the repeats (other work on the machine only ever adds time). The goal is a marginal
ratio <= 1.5; peak memory must not grow with the number of records.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere: `sandbox` is a top-level package of the repo

from bench.harness import plugin, save_figures  # noqa: E402
from sandbox.common.meltano import clean_environment  # noqa: E402
from sandbox.common.process import running_sandbox  # noqa: E402

TOKEN = "bench-token"
COLLECTIONS = ("customers", "products", "orders", "users")
PAGE_SIZE = 1000
TAP = [str(part) for part in plugin("tap-customcrm")]  # its module, not the executable: see harness.plugin
PROGRAMS = ("tap", "baseline")


@dataclass(frozen=True)
class Run:
    cpu_seconds: float
    peak_rss_mib: float


def baseline(url: str) -> None:
    """The plain loop the tap is compared with: fetch every page, decode it, write each record as a line."""
    import requests  # noqa: PLC0415 - only the child process needs it

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    out = sys.stdout
    for collection in COLLECTIONS:
        params = {"limit": PAGE_SIZE, "include_deleted": "true"}
        while True:
            page = json.loads(session.get(f"{url}/v1/{collection}", params=params, timeout=60).content)
            for record in page["data"]:
                out.write(json.dumps({"type": "RECORD", "stream": collection, "record": record}) + "\n")
            if not page["next_cursor"]:
                break
            params["cursor"] = page["next_cursor"]


def run_child(command: list[str], expected_records: int) -> Run:
    """CPU seconds and peak RSS (MiB) of one child process, from its own rusage; its output is checked."""
    with tempfile.TemporaryFile("w+") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL, env=clean_environment())
        _, status, usage = os.wait4(process.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            msg = f"{command[0]} exited with {os.waitstatus_to_exitcode(status)}"
            raise RuntimeError(msg)
        out.seek(0)
        records = sum(1 for line in out if json.loads(line)["type"] == "RECORD")
    if records != expected_records:
        msg = f"{command[0]} wrote {records} records, the service holds {expected_records}"
        raise RuntimeError(msg)
    return Run(usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def measure(url: str, records: int, repeat: int, config: Path) -> dict[str, list[Run]]:
    commands = {
        "tap": [*TAP, "--config", str(config)],
        "baseline": [sys.executable, __file__, "--baseline", url],
    }
    runs: dict[str, list[Run]] = {name: [] for name in PROGRAMS}
    for _ in range(repeat):
        for name in PROGRAMS:
            runs[name].append(run_child(commands[name], records))
    return runs


def count_records(url: str) -> int:
    import requests  # noqa: PLC0415

    total = 0
    for collection in COLLECTIONS:
        params = {"limit": 1000, "include_deleted": "true"}
        while True:
            page = requests.get(
                f"{url}/v1/{collection}", params=params, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
            ).json()
            total += len(page["data"])
            if not page["next_cursor"]:
                break
            params["cursor"] = page["next_cursor"]
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=3100, help="customers in the smaller service")
    parser.add_argument("--repeat", type=int, default=3, help="runs per program and size")
    parser.add_argument("--baseline", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    if args.baseline:
        baseline(args.baseline)
        return

    sizes: list[int] = []
    results: list[dict[str, list[Run]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for customers in (args.customers, 2 * args.customers):
            seed = ("--token", TOKEN, "--seed-customers", str(customers), "--seed", "1")
            with running_sandbox("customcrm", *seed, timeout=600) as service:
                sizes.append(count_records(service.url))
                config = Path(tmp) / "config.json"
                config.write_text(json.dumps({"api_url": service.url, "api_token": TOKEN, "page_size": PAGE_SIZE}))
                results.append(measure(service.url, sizes[-1], args.repeat, config))

    print(f"tap-customcrm bench: page_size {PAGE_SIZE}, {args.repeat} runs each; CPU s per 10 000 records")
    print(f"{'':30}{'tap':>9}{'baseline':>10}{'ratio':>7}   ratio range over runs")
    for n, runs in zip(sizes, results, strict=True):
        cpu = {name: [r.cpu_seconds for r in runs[name]] for name in PROGRAMS}
        print(f"whole run, {n:>6} records  " + _row(n, {name: min(cpu[name]) for name in PROGRAMS}, cpu))
    extra = sizes[1] - sizes[0]
    small, large = ({name: [r.cpu_seconds for r in runs[name]] for name in PROGRAMS} for runs in results)
    best = {name: min(large[name]) - min(small[name]) for name in PROGRAMS}
    paired = {name: [b - s for s, b in zip(small[name], large[name], strict=True)] for name in PROGRAMS}
    print(f"marginal, +{extra:>6} records  " + _row(extra, best, paired) + "   (goal: median <= 1.3)")
    peaks = {name: [max(r.peak_rss_mib for r in runs[name]) for runs in results] for name in PROGRAMS}
    for name in PROGRAMS:
        print(f"peak memory of {name}: "
              + ", ".join(f"{p:.1f} MiB at {n}" for p, n in zip(peaks[name], sizes, strict=True)))
    whole = {name: 10_000 * min(large[name]) / sizes[1] for name in PROGRAMS}
    # Each repeat's own marginal ratio (its larger run less its smaller one), and their median: the goal's figure.
    # At tiny sizes (bench-quick) the baseline's margin can vanish in the noise: then no ratio, 0.0 as tap-invoiced's.
    ratios = [t / b for t, b in zip(paired["tap"], paired["baseline"], strict=True) if b > 0]
    medians = statistics.median(ratios) if ratios else 0.0
    save_figures(args.json, {
        "tap": "tap-customcrm", "records": sizes, "repeat": args.repeat,
        "cpu_s_per_10k_whole": whole, "ratio_whole": whole["tap"] / whole["baseline"],
        "cpu_s_per_10k_marginal": {name: 10_000 * best[name] / extra for name in PROGRAMS},
        "ratio_marginal": best["tap"] / best["baseline"], "ratio_marginal_median": medians, "peak_rss_mib": peaks,
    })


def _row(records: int, best: dict[str, float], runs: dict[str, list[float]]) -> str:
    """Best CPU per 10 000 records and its ratio, then the ratio's range over the runs (paired in run order)."""
    tap, base = (10_000 * best[name] / records for name in PROGRAMS)
    ratios = [t / b for t, b in zip(runs["tap"], runs["baseline"], strict=True) if b > 0] or [0.0]
    return f"{tap:>8.3f} s {base:>7.3f} s {tap / base if base > 0 else 0.0:>6.2f}   {min(ratios):.2f}-{max(ratios):.2f}"


if __name__ == "__main__":
    main()
