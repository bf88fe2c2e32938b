"""An initial sync's writes per second, against the ceiling that latency and concurrency allow, both ways.

    .venv/bin/python bench/bench_target_invoiced.py [--customers 2000 --products 200 --orders 4000]
        [--latency-ms 50] [--concurrency 1 4 8 16 20] [--reverse-customers N] [--json FILE]

Customcrm -> Invoiced: Customcrm is seeded and mapped once into a file (tap-customcrm | customcrm-invoiced-mapper),
so each run measures target-invoiced alone. For each concurrency C, a fresh empty Invoiced sandbox with L ms of
injected latency per request takes the whole initial sync with `max_in_flight: C`. Runs below --full-from in
flight take the dataset scaled by C / --full-from (at least --min-share), so that each lasts about as long.
Invoiced -> Customcrm: an Invoiced sandbox seeded with --reverse-customers customers (by default as many as
--customers, so both ways are measured at one size; and their items and invoices) is mapped once the same way
(tap-invoiced | mapper) and written by target-customcrm into an empty Customcrm with the same latency, at each
concurrency of --reverse-concurrency. A run's start-up (about half a second) weighs on a short run: at 600
customers it is a sixth of the run's time.

No client can write faster than C / L records per second, so every figure is a ratio taken in this run:
- sync / ceiling: writes per second of the target's whole run (start-up and reads included) over C / L, and over
  20 / L, Invoiced's ceiling per API key;
- sync / plain: the same against a plain `requests` client from C threads that replays the same requests (each GET
  as the sync sent it, each write as a create) against a fresh sandbox of the same kind, which shows what the sync
  itself adds over the network's and the client's own cost;
- requests per created record, reads included (and without the writes Invoiced refused: the seed's inactive
  customers' orders, set aside as rejects), and the 429 answers received.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: `sandbox` and `bench` are top-level

from bench.harness import (
    CRM_TOKEN,
    INV_KEY,
    count_records,
    plugin,
    run_pipeline,
    save_figures,
    served,
    served_requests,
    tap_invoiced_catalog,
    write_config,
)
from sandbox.common.process import running_sandbox

CEILING_IN_FLIGHT = 20  # Invoiced's requests in flight per API key


@dataclass(frozen=True)
class Direction:
    """What differs between the two ways: the destination, its target, and how a plain client talks to it."""

    name: str
    destination: str  # the sandbox
    target: str
    sandbox_auth: tuple[str, ...]
    plain_session: Callable[[], requests.Session]
    target_settings: Callable[[str], dict[str, Any]]  # url -> the target's connection settings
    plain_write: tuple[str, Callable[[int], dict[str, Any]]]  # (path, body of the n-th create)


def _invoiced_session() -> requests.Session:
    session = requests.Session()
    session.auth = (INV_KEY, "")
    return session


def _customcrm_session() -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {CRM_TOKEN}"
    return session


TO_INVOICED = Direction(
    "Customcrm -> Invoiced", "invoiced", "target-invoiced", ("--api-key", INV_KEY), _invoiced_session,
    lambda url: {"api_key": INV_KEY, "api_url": url},
    ("/customers", lambda n: {"name": f"Plain {n}", "metadata": {"customcrm_id": f"plain_{n}"}}),
)
TO_CUSTOMCRM = Direction(
    "Invoiced -> Customcrm", "customcrm", "target-customcrm", ("--token", CRM_TOKEN), _customcrm_session,
    lambda url: {"api_token": CRM_TOKEN, "api_url": url},
    ("/v1/customers", lambda n: {"name": f"Plain {n}", "org_number": f"{800_000_001 + n}", "currency": "EUR"}),
)


def map_customcrm(folder: Path, customers: int, products: int, orders: int) -> Path:
    """tap-customcrm | mapper over a seeded Customcrm, into a file of Singer messages for target-invoiced."""
    mapped = folder / f"to-invoiced-{customers}.jsonl"
    seed = ("--seed-customers", str(customers), "--seed-products", str(products), "--seed-orders", str(orders),
            "--seed", "1")
    with running_sandbox("customcrm", "--token", CRM_TOKEN, *seed, timeout=600) as crm, mapped.open("w") as out:
        tap = write_config(folder, "tap-customcrm", {"api_url": crm.url, "api_token": CRM_TOKEN, "page_size": 1000})
        mapper = write_config(folder, "to-invoiced", {"direction": "customcrm_to_invoiced"})
        run_pipeline([plugin("tap-customcrm", "--config", tap),
                      plugin("customcrm-invoiced-mapper", "--config", mapper)], stdout=out)
    return mapped


def map_invoiced(folder: Path, customers: int) -> Path:
    """tap-invoiced (the streams meltano.yml selects) | mapper over a seeded Invoiced, for target-customcrm."""
    mapped = folder / f"to-customcrm-{customers}.jsonl"
    seed = ("--seed-customers", str(customers), "--seed", "1")
    with running_sandbox("invoiced", "--api-key", INV_KEY, *seed, timeout=600) as inv, mapped.open("w") as out:
        tap = write_config(folder, "tap-invoiced", {"api_url": inv.url, "api_key": INV_KEY})
        mapper = write_config(folder, "to-customcrm", {"direction": "invoiced_to_customcrm"})
        run_pipeline([plugin("tap-invoiced", "--config", tap, "--catalog", tap_invoiced_catalog(tap, folder)),
                      plugin("customcrm-invoiced-mapper", "--config", mapper)], stdout=out)
    return mapped


def sync_run(direction: Direction, mapped: Path, folder: Path, concurrency: int,
             latency_ms: float) -> dict[str, Any]:
    """One initial sync into an empty destination: its figures and the requests it made, in order."""
    with running_sandbox(direction.destination, *direction.sandbox_auth, "--verbose", "--fault-latency-ms",
                         str(latency_ms)) as destination:
        summary = folder / f"summary-{direction.target}-{concurrency}.json"
        config = write_config(folder, f"{direction.target}-{concurrency}", {
            **direction.target_settings(destination.url), "max_in_flight": concurrency,
            "link_store_url": f"sqlite:///{folder / f'links-{direction.target}-{concurrency}.db'}",
            "summary_path": str(summary),
        })
        with mapped.open() as feed:
            seconds, (usage,) = run_pipeline([plugin(direction.target, "--config", config)], stdin=feed)
        log = destination.log()
    figures, _ = served(log)
    totals = json.loads(summary.read_text())["total"]
    return {
        "concurrency": concurrency, "records": count_records(mapped),
        "seconds": seconds, "cpu_seconds": usage.cpu_seconds, "reads": figures.reads, "writes": figures.writes,
        "rate_limited": figures.rate_limited, "created": totals.get("created", 0),
        "refused": totals.get("rejected", 0), "requests_made": served_requests(log),
    }


def plain_run(direction: Direction, made: list[tuple[str, str]], concurrency: int, latency_ms: float) -> float:
    """Seconds a plain threaded `requests` client takes to replay the sync's requests (each write as a create)."""
    write_path, write_body = direction.plain_write
    with running_sandbox(direction.destination, *direction.sandbox_auth, "--fault-latency-ms",
                         str(latency_ms)) as destination:
        queue = iter(enumerate(made))
        lock = threading.Lock()

        def worker() -> None:
            session = direction.plain_session()
            while True:
                with lock:
                    n, (method, path) = next(queue, (None, (None, None)))
                if method is None:
                    return
                if method == "GET":
                    answer = session.get(destination.url + path, timeout=30)
                else:
                    answer = session.post(destination.url + write_path, json=write_body(n), timeout=30)
                if answer.status_code >= 500 or (method != "GET" and answer.status_code >= 300):
                    raise SystemExit(f"plain client: {method} {path} answered {answer.status_code}: {answer.text}")

        threads = [threading.Thread(target=worker) for _ in range(concurrency)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter() - started


def measure(direction: Direction, mapped: Path, folder: Path, concurrency: int, latency_ms: float) -> dict[str, Any]:
    run = sync_run(direction, mapped, folder, concurrency, latency_ms)
    made = run.pop("requests_made")
    plain_seconds = plain_run(direction, made, concurrency, latency_ms)
    latency = latency_ms / 1000
    sync_rate, plain_rate = run["writes"] / run["seconds"], run["writes"] / plain_seconds
    return {
        **run, "direction": direction.name, "plain_seconds": plain_seconds,
        "sync_writes_per_s": sync_rate, "plain_writes_per_s": plain_rate,
        "ceiling_writes_per_s": concurrency / latency,
        "sync_over_ceiling": sync_rate * latency / concurrency,
        "sync_over_invoiced_ceiling": sync_rate * latency / CEILING_IN_FLIGHT,
        "plain_over_ceiling": plain_rate * latency / concurrency,
        "sync_over_plain": sync_rate / plain_rate,
        "requests_per_created": (run["reads"] + run["writes"]) / max(run["created"], 1),
        # The seed's inactive customers have orders that Invoiced refuses: one write each that creates nothing.
        "requests_per_created_without_refused":
            (run["reads"] + run["writes"] - run["refused"]) / max(run["created"], 1),
        "cpu_ms_per_write": 1000 * run["cpu_seconds"] / max(run["writes"], 1),
    }


def print_table(title: str, rows: list[dict[str, Any]]) -> None:
    print(title)
    print(f"{'C':>3} {'records':>7} {'writes':>6} {'sync w/s':>8} {'ceiling':>7} {'sync/ceil':>9} {'sync/20÷L':>9} "
          f"{'plain/ceil':>10} {'sync/plain':>10} {'req/created':>11} {'429s':>4} {'CPU ms/write':>12}")
    for r in rows:
        print(f"{r['concurrency']:>3} {r['records']:>7} {r['writes']:>6} {r['sync_writes_per_s']:>8.1f} "
              f"{r['ceiling_writes_per_s']:>7.0f} {r['sync_over_ceiling']:>9.2f} "
              f"{r['sync_over_invoiced_ceiling']:>9.2f} "
              f"{r['plain_over_ceiling']:>10.2f} {r['sync_over_plain']:>10.2f} {r['requests_per_created']:>11.3f} "
              f"{r['rate_limited']:>4} {r['cpu_ms_per_write']:>12.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--orders", type=int, default=4000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8, 16, 20])
    parser.add_argument("--full-from", type=int, default=16, help="in flight from which the whole dataset is used")
    parser.add_argument("--min-share", type=float, default=0.05, help="the smallest share of the dataset used")
    parser.add_argument("--reverse-customers", type=int, help="default: as many as --customers")
    parser.add_argument("--reverse-concurrency", type=int, nargs="+", default=[8, 20])
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    if args.reverse_customers is None:
        args.reverse_customers = args.customers
    forward, backward = [], []
    with tempfile.TemporaryDirectory(prefix="bench-initial-sync-") as tmp:
        folder = Path(tmp)
        mapped: dict[float, Path] = {}
        for concurrency in args.concurrency:
            share = max(args.min_share, min(1.0, concurrency / args.full_from))
            if share not in mapped:
                mapped[share] = map_customcrm(folder, *(max(1, round(share * n)) for n in (
                    args.customers, args.products, args.orders)))
            forward.append({**measure(TO_INVOICED, mapped[share], folder, concurrency, args.latency_ms),
                            "share": share})
        reverse_mapped = map_invoiced(folder, args.reverse_customers)
        backward = [measure(TO_CUSTOMCRM, reverse_mapped, folder, concurrency, args.latency_ms)
                    for concurrency in args.reverse_concurrency]
    print_table(f"Initial sync Customcrm -> Invoiced ({args.customers} customers, {args.products} products, "
                f"{args.orders} orders seeded; below {args.full_from} in flight a share C/{args.full_from} of them), "
                f"{args.latency_ms:g} ms injected latency", forward)
    print_table(f"Initial sync Invoiced -> Customcrm ({args.reverse_customers} Invoiced customers seeded, with their "
                f"items and invoices), {args.latency_ms:g} ms injected latency", backward)
    print(f"(ceiling = C / L writes/s; 20 / L = {CEILING_IN_FLIGHT / (args.latency_ms / 1000):.0f} writes/s is "
          "Invoiced's per API key; sync w/s includes the target's start-up and its reads)")
    save_figures(args.json, {"latency_ms": args.latency_ms, "seeded": {
        "customers": args.customers, "products": args.products, "orders": args.orders, "full_from": args.full_from,
        "reverse_customers": args.reverse_customers}, "to_invoiced": forward, "to_customcrm": backward})
    return 0


if __name__ == "__main__":
    sys.exit(main())
