"""An initial sync's creates per second into Invoiced, against the ceiling that latency and concurrency allow.

    .venv/bin/python bench/bench_target_invoiced.py [--seed-customers 100] [--latency-ms 50] [--concurrency 1 4 8 16 20]

Customcrm is seeded once and mapped once into a file (tap-customcrm | customcrm-invoiced-mapper), so each run
measures target-invoiced alone. For each concurrency C, a fresh empty Invoiced sandbox with L ms of injected
latency per request takes the whole initial sync with `max_in_flight: C`. No client can write faster than C / L
records per second, so every figure is a ratio taken in this run:
- sync / ceiling: writes per second of the target's whole run (start-up included) over C / L;
- sync / plain client: the same against a plain `requests` client sending the same number of POSTs from C threads
  to the same kind of sandbox, which shows what the sync itself adds over the network's own cost;
- requests per created record (reads included: the first link's list reads and the access check).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere: `sandbox` is a top-level package of the repo

from sandbox.common.process import running_sandbox  # noqa: E402

BIN = Path(sys.executable).parent
TOKEN = "bench-customcrm-token"
KEY = "bench-invoiced-key"
WRITE = re.compile(r'"(POST|PATCH|DELETE) ')


def map_once(seed_customers: int, folder: Path) -> Path:
    mapped = folder / "mapped.jsonl"
    with running_sandbox("customcrm", "--token", TOKEN, "--seed-customers", str(seed_customers), "--seed", "1") as crm:
        tap_config = folder / "tap.json"
        tap_config.write_text(json.dumps({"api_url": crm.url, "api_token": TOKEN}))
        mapper_config = folder / "mapper.json"
        mapper_config.write_text(json.dumps({"direction": "customcrm_to_invoiced"}))
        with mapped.open("w") as out:
            tap = subprocess.Popen([BIN / "tap-customcrm", "--config", tap_config], stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL)
            subprocess.run([BIN / "customcrm-invoiced-mapper", "--config", mapper_config], stdin=tap.stdout,
                           stdout=out, stderr=subprocess.DEVNULL, check=True)
            tap.wait()
    return mapped


def sync_run(mapped: Path, folder: Path, concurrency: int, latency_ms: float) -> tuple[float, int, int, int]:
    """(seconds, writes, requests, created) of one initial sync into an empty sandbox."""
    with running_sandbox("invoiced", "--api-key", KEY, "--verbose", "--fault-latency-ms", str(latency_ms)) as inv:
        config = folder / f"target-{concurrency}.json"
        store = folder / f"links-{concurrency}.db"
        summary = folder / f"summary-{concurrency}.json"
        config.write_text(json.dumps({
            "api_key": KEY, "api_url": inv.url, "link_store_url": f"sqlite:///{store}",
            "max_in_flight": concurrency, "summary_path": str(summary),
        }))
        with mapped.open() as feed:
            started = time.perf_counter()
            subprocess.run([BIN / "target-invoiced", "--config", config], stdin=feed, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=True)
            seconds = time.perf_counter() - started
        served = inv.log().splitlines()
        writes = sum(1 for line in served if WRITE.search(line))
        totals = json.loads(summary.read_text())["total"]
        return seconds, writes, len(served), totals["created"]


def plain_run(writes: int, concurrency: int, latency_ms: float) -> float:
    """Seconds a plain threaded client takes for the same number of POSTs."""
    with running_sandbox("invoiced", "--api-key", KEY, "--fault-latency-ms", str(latency_ms)) as inv:
        counter = iter(range(writes))
        lock = threading.Lock()

        def worker() -> None:
            session = requests.Session()
            session.auth = (KEY, "")
            while True:
                with lock:
                    n = next(counter, None)
                if n is None:
                    return
                session.post(f"{inv.url}/customers", json={"name": f"Plain {n}", "metadata": {"customcrm_id": str(n)}},
                             timeout=30).raise_for_status()

        threads = [threading.Thread(target=worker) for _ in range(concurrency)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed-customers", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8, 16, 20])
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    with tempfile.TemporaryDirectory(prefix="bench-target-invoiced-") as tmp:
        folder = Path(tmp)
        mapped = map_once(args.seed_customers, folder)
        records = sum(1 for line in mapped.open() if json.loads(line).get("type") == "RECORD")
        print(f"Initial sync of {records} mapped records ({args.seed_customers} seeded Customcrm customers) into an "
              f"empty Invoiced sandbox, {args.latency_ms:.0f} ms injected latency per request")
        print(f"{'C':>3} {'writes':>7} {'sync w/s':>9} {'ceiling':>8} {'sync/ceil':>9} {'plain w/s':>9} "
              f"{'plain/ceil':>10} {'sync/plain':>10} {'req/created':>11}")
        for concurrency in args.concurrency:
            seconds, writes, served, created = sync_run(mapped, folder, concurrency, args.latency_ms)
            plain_seconds = plain_run(writes, concurrency, args.latency_ms)
            ceiling = concurrency / latency
            sync_rate, plain_rate = writes / seconds, writes / plain_seconds
            print(f"{concurrency:>3} {writes:>7} {sync_rate:>9.1f} {ceiling:>8.1f} {sync_rate / ceiling:>9.2f} "
                  f"{plain_rate:>9.1f} {plain_rate / ceiling:>10.2f} {sync_rate / plain_rate:>10.2f} "
                  f"{served / max(created, 1):>11.2f}")
        print(f"(20 / L = {20 / latency:.0f} writes/s is Invoiced's ceiling per API key; sync w/s includes the "
              "target's start-up and its reads)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
