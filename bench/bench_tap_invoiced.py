"""CPU and memory of tap-invoiced next to a plain requests + json loop over the same pages, in the same run.

    .venv/bin/python bench/bench_tap_invoiced.py [--customers 1300] [--repeat 3]

Two seeded Invoiced sandboxes are started, one with --customers and one with twice as many (a customer brings about
4.5 records: itself, its contacts, two invoices, and catalog items). On each, the tap (the real tap-invoiced, its module
run as `python -m` would, a first full sync of all four streams) and the baseline (this file with --baseline: the
same list requests, `json.loads` of each page, one JSON line per record to stdout) run as child processes
writing to a file. CPU is the child's user+system time from os.wait4, peak memory its ru_maxrss; the best of
--repeat runs is kept. Figures per 10 000 records are given whole-run (with interpreter start-up and imports)
and marginal (the difference between the two sizes, which cancels start-up). Goal: the median over the repeats of
each repeat's marginal ratio <= 1.3.
Peak memory must not grow with the number of records.
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

KEY = "sk_bench_tap_invoiced"
TAP = [str(part) for part in plugin("tap-invoiced")]  # its module, not the executable: see harness.plugin


@dataclass(frozen=True)
class Measure:
    records: int
    cpu_seconds: float
    peak_rss_mib: float


def baseline(url: str) -> None:
    """The plain loop the tap is compared with: every page of every list, decoded, one line per record."""
    import requests  # noqa: PLC0415 - only the child process needs it

    session = requests.Session()
    session.auth = (KEY, "")
    out = sys.stdout

    def pages(path: str, **params: object) -> list[dict]:
        rows, page = [], 1
        while True:
            response = session.get(url + path, params={**params, "per_page": 100, "page": page}, timeout=60)
            rows.extend(json.loads(response.content))
            if 'rel="next"' not in response.headers.get("Link", ""):
                return rows
            page += 1

    def emit(stream: str, rows: list[dict]) -> None:
        for row in rows:
            out.write(json.dumps({"type": "RECORD", "stream": stream, "record": row}, separators=(",", ":")) + "\n")

    customers = pages("/customers", sort="updated_at asc")
    emit("customers", customers)
    for customer in customers:
        emit("contacts", pages(f"/customers/{customer['id']}/contacts"))
    emit("invoices", pages("/invoices", sort="updated_at asc"))
    emit("items", pages("/items", archived=1) + pages("/items"))


def measure(command: list[str]) -> Measure:
    with tempfile.TemporaryFile("w+") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL, env=clean_environment())
        _, status, usage = os.wait4(process.pid, 0)
        if status != 0:
            msg = f"{command[0]} failed with status {status}"
            raise RuntimeError(msg)
        out.seek(0)
        records = sum(1 for line in out if line.startswith('{"type":"RECORD"'))
    return Measure(records, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def best(runs: list[Measure]) -> Measure:
    return min(runs, key=lambda m: m.cpu_seconds)


def run_size(customers: int, repeat: int) -> tuple[list[Measure], list[Measure]]:
    """Every repeat of the tap and of the baseline, taking turns."""
    args = ("--api-key", KEY, "--seed-customers", str(customers), "--seed", "1")
    with running_sandbox("invoiced", *args, timeout=600) as sandbox, tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp, "config.json")
        config.write_text(json.dumps({"api_key": KEY, "api_url": sandbox.url}))
        runs = [(measure([*TAP, "--config", str(config)]),
                 measure([sys.executable, __file__, "--baseline", sandbox.url])) for _ in range(repeat)]
    return [tap for tap, _ in runs], [plain for _, plain in runs]


def per_10k(seconds: float, records: int) -> float:
    return seconds / records * 10_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    if args.baseline:
        baseline(args.baseline)
        return

    small_taps, small_plains = run_size(args.customers, args.repeat)
    big_taps, big_plains = run_size(args.customers * 2, args.repeat)
    # Each repeat's own marginal ratio (its larger run less its smaller one), and their median: the goal's figure.
    paired = [(bt.cpu_seconds - st.cpu_seconds) / (bp.cpu_seconds - sp.cpu_seconds)
              for st, sp, bt, bp in zip(small_taps, small_plains, big_taps, big_plains, strict=True)
              if bp.cpu_seconds > sp.cpu_seconds]
    median = statistics.median(paired) if paired else 0.0
    small_tap, small_plain, big_tap, big_plain = map(best, (small_taps, small_plains, big_taps, big_plains))
    for name, tap, plain in (("small", small_tap, small_plain), ("large", big_tap, big_plain)):
        if tap.records != plain.records:
            print(f"warning: {name}: tap emitted {tap.records} records, the baseline {plain.records}")

    print(f"tap-invoiced, first full sync of customers, contacts, invoices, items ({args.customers} and "
          f"{args.customers * 2} customers)")
    print(f"{'':24}{'records':>9}{'tap CPU s':>11}{'plain CPU s':>13}{'tap RSS MiB':>13}{'plain RSS MiB':>15}")
    for name, tap, plain in (("small", small_tap, small_plain), ("large", big_tap, big_plain)):
        print(f"{name:24}{tap.records:>9}{tap.cpu_seconds:>11.2f}{plain.cpu_seconds:>13.2f}"
              f"{tap.peak_rss_mib:>13.1f}{plain.peak_rss_mib:>15.1f}")
    whole_tap = per_10k(big_tap.cpu_seconds, big_tap.records)
    whole_plain = per_10k(big_plain.cpu_seconds, big_plain.records)
    extra = big_tap.records - small_tap.records
    marginal_tap = per_10k(big_tap.cpu_seconds - small_tap.cpu_seconds, extra)
    marginal_plain = per_10k(big_plain.cpu_seconds - small_plain.cpu_seconds, extra)
    print(f"CPU s per 10 000 records, whole run: tap {whole_tap:.2f}, plain {whole_plain:.2f}, "
          f"ratio {whole_tap / whole_plain:.2f}")
    print(f"CPU s per 10 000 records, marginal:  tap {marginal_tap:.2f}, plain {marginal_plain:.2f}, "
          f"ratio {marginal_tap / marginal_plain:.2f}; median of the repeats' own ratios {median:.2f} (goal <= 1.3)")
    growth = big_tap.peak_rss_mib - small_tap.peak_rss_mib
    print(f"tap peak memory: {small_tap.peak_rss_mib:.1f} MiB at {small_tap.records} records, "
          f"{big_tap.peak_rss_mib:.1f} MiB at {big_tap.records} ({growth:+.1f} MiB)")
    save_figures(args.json, {
        "tap": "tap-invoiced", "records": [small_tap.records, big_tap.records], "repeat": args.repeat,
        "cpu_s_per_10k_whole": {"tap": whole_tap, "baseline": whole_plain}, "ratio_whole": whole_tap / whole_plain,
        "cpu_s_per_10k_marginal": {"tap": marginal_tap, "baseline": marginal_plain},
        "ratio_marginal": marginal_tap / marginal_plain, "ratio_marginal_median": median,
        "peak_rss_mib": {"tap": [small_tap.peak_rss_mib, big_tap.peak_rss_mib],
                         "baseline": [small_plain.peak_rss_mib, big_plain.peak_rss_mib]},
    })


if __name__ == "__main__":
    main()
