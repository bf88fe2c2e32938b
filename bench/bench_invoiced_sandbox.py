"""Requests per second the Invoiced sandbox serves, with no injected latency.

    .venv/bin/python bench/bench_invoiced_sandbox.py [--clients 4] [--seconds 3] [--seed-customers 1000]

A seeded sandbox is started; --clients worker processes, each with one keep-alive connection, send the
same kind of request back to back for --seconds per phase: a simple GET of one customer, a GET of a
100-customer list page, the look-ups a sync makes before it creates (`metadata[customcrm_id]`, `filter[email]`,
`filter[number]`), and a customer create. Printed per phase: requests, requests per second of wall time, (on Linux)
requests per CPU-second of the sandbox process, which is what the sandbox can do on one core regardless of how
busy the machine is, and the phase's cost relative to a GET by id in the same run. Later benchmarks need the
sandbox far from being their bottleneck: several hundred simple requests per second is the floor, and a look-up
should cost about what a GET by id costs at any size (they are served by indexes; `--seed-customers 50000` shows
it).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere: `sandbox` is a top-level package of the repo

from bench.harness import save_figures  # noqa: E402
from sandbox.common.process import running_sandbox  # noqa: E402

API_KEY = "bench-invoiced-key"
LOOKUPS = {  # each phase's path for the n-th request; the values match nothing, so each costs a seek and a COUNT
    "GET /customers?metadata[customcrm_id]=": lambda n: f"/customers?metadata%5Bcustomcrm_id%5D=cus_x{n}",
    "GET /customers?filter[email]=": lambda n: f"/customers?filter%5Bemail%5D=nobody{n}%40example.com",
    "GET /invoices?filter[number]=": lambda n: f"/invoices?filter%5Bnumber%5D=SO-X{n}",
}
PHASES = ("GET /customers/{id}", "GET /customers?per_page=100", *LOOKUPS, "POST /customers")


def client_loop(url: str, phase: str, seconds: float, customers: int, worker: int) -> int:
    """One keep-alive connection sending `phase` requests until the time is up; returns how many succeeded."""
    split = urlsplit(url)
    connection = http.client.HTTPConnection(split.hostname, split.port, timeout=30)
    headers = {
        "Authorization": "Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode(),
        "Content-Type": "application/json",
    }
    done = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        if phase == PHASES[0]:
            connection.request("GET", f"/customers/{done % customers + 1}", headers=headers)
        elif phase == PHASES[1]:
            connection.request("GET", "/customers?per_page=100", headers=headers)
        elif phase in LOOKUPS:
            connection.request("GET", LOOKUPS[phase](done), headers=headers)
        else:
            body = json.dumps({"name": f"Bench {worker}-{done}", "metadata": {"source": "bench"}})
            connection.request("POST", "/customers", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status >= 300:
            raise SystemExit(f"{phase} answered {response.status}")
        done += 1
    connection.close()
    return done


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process, from /proc (Linux only)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--clients", type=int, default=4, help="concurrent keep-alive clients (processes)")
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each phase")
    parser.add_argument("--seed-customers", type=int, default=1000, help="size of the seeded data")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    phases = []

    started = time.perf_counter()
    with running_sandbox(
        "invoiced", "--api-key", API_KEY, "--seed-customers", str(args.seed_customers), timeout=120
    ) as sandbox:
        print(f"sandbox seeded with {args.seed_customers} customers and listening in "
              f"{time.perf_counter() - started:.1f} s; {args.clients} clients, {args.seconds:g} s per phase, "
              "no injected latency")
        print(f"{'phase':<40} {'requests':>9} {'req/s':>8} {'req per sandbox CPU-s':>22} {'cost / GET by id':>17}")
        by_id = None
        with multiprocessing.Pool(args.clients) as pool:
            for phase in PHASES:
                cpu_before = cpu_seconds(sandbox.process.pid)
                wall_before = time.perf_counter()
                counts = pool.starmap(
                    client_loop,
                    [(sandbox.url, phase, args.seconds, args.seed_customers, w) for w in range(args.clients)],
                )
                wall = time.perf_counter() - wall_before
                cpu_after = cpu_seconds(sandbox.process.pid)
                total = sum(counts)
                per_cpu = (
                    f"{total / (cpu_after - cpu_before):>22.0f}"
                    if cpu_before is not None and cpu_after is not None and cpu_after > cpu_before
                    else f"{'n/a':>22}"
                )
                by_id = by_id or total / wall
                print(f"{phase:<40} {total:>9} {total / wall:>8.0f} {per_cpu} {by_id / (total / wall):>17.2f}")
                phases.append({"phase": phase, "requests": total, "per_second": total / wall,
                               "cost_over_get_by_id": by_id / (total / wall)})
    save_figures(args.json, {"seed_customers": args.seed_customers, "clients": args.clients, "phases": phases})


if __name__ == "__main__":
    main()
