"""CPU and memory of tap-customcrm next to a plain requests + json loop over the same pages, in the same run.

    .venv/bin/python bench/bench_tap_customcrm.py [--customers 3100] [--repeat 3]

Two seeded Customcrm services are started, one with --customers and one with twice as many (each customer brings
about 3.3 records: orders, products, users). On each, the tap (the real `tap-customcrm` executable) and the
baseline (this file with --baseline: the same requests, `json.loads` of each page, one JSON line per record to
stdout) run as child processes writing to /dev/null. CPU is the child's user+system time from os.wait4, peak
memory its ru_maxrss; the best of --repeat runs is kept. Figures per 10 000 records are given both whole-run
(including interpreter start-up and imports) and marginal (the difference between the two sizes, which cancels
start-up). The goal is a marginal ratio <= 1.5; peak memory must not grow with the number of records.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere: `sandbox` is a top-level package of the repo

from sandbox.common.process import running_sandbox  # noqa: E402

TOKEN = "bench-token"
COLLECTIONS = ("customers", "products", "orders", "users")
PAGE_SIZE = 1000
TAP = str(Path(sys.executable).with_name("tap-customcrm"))


@dataclass(frozen=True)
class Measure:
    records: int
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


def run_child(command: list[str]) -> tuple[float, float]:
    """CPU seconds and peak RSS (MiB) of one child process, from its own rusage."""
    with open(os.devnull, "w") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        msg = f"{command[0]} exited with {process.returncode}"
        raise RuntimeError(msg)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def measure(url: str, records: int, repeat: int, config: Path) -> dict[str, Measure]:
    commands = {
        "tap": [TAP, "--config", str(config)],
        "baseline": [sys.executable, __file__, "--baseline", url],
    }
    best: dict[str, Measure] = {}
    for _ in range(repeat):
        for name, command in commands.items():
            cpu, rss = run_child(command)
            if name not in best or cpu < best[name].cpu_seconds:
                best[name] = Measure(records, cpu, max(rss, best[name].peak_rss_mib if name in best else 0))
    return best


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
    parser.add_argument("--repeat", type=int, default=3, help="runs per program and size; the best is kept")
    parser.add_argument("--baseline", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline:
        baseline(args.baseline)
        return

    results: list[dict[str, Measure]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for customers in (args.customers, 2 * args.customers):
            seed = ("--token", TOKEN, "--seed-customers", str(customers), "--seed", "1")
            with running_sandbox("customcrm", *seed, timeout=600) as service:
                records = count_records(service.url)
                config = Path(tmp) / "config.json"
                config.write_text(json.dumps({"api_url": service.url, "api_token": TOKEN, "page_size": PAGE_SIZE}))
                results.append(measure(service.url, records, args.repeat, config))

    small, large = results
    print(f"tap-customcrm bench: page_size {PAGE_SIZE}, best of {args.repeat}, output to /dev/null")
    print(f"{'':28}{'tap':>12}{'baseline':>12}{'ratio':>8}")
    for result in results:
        n = result["tap"].records
        tap, base = (10_000 * result[k].cpu_seconds / n for k in ("tap", "baseline"))
        print(f"whole run, {n:>6} records    {tap:>9.3f} s {base:>9.3f} s {tap / base:>7.2f}  (CPU s per 10 000)")
    extra = large["tap"].records - small["tap"].records
    tap, base = (10_000 * (large[k].cpu_seconds - small[k].cpu_seconds) / extra for k in ("tap", "baseline"))
    print(f"marginal, +{extra:>6} records   {tap:>9.3f} s {base:>9.3f} s {tap / base:>7.2f}  (goal <= 1.5)")
    for name in ("tap", "baseline"):
        sizes = ", ".join(f"{r[name].peak_rss_mib:.1f} MiB at {r[name].records} records" for r in results)
        print(f"peak memory of {name}: {sizes}")


if __name__ == "__main__":
    main()
