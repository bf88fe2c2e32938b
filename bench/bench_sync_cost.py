"""What a `sync` costs as the systems grow: requests, wall time and each plugin's peak memory, at two sizes.

    .venv/bin/python bench/bench_sync_cost.py [--sizes 2000 10000] [--change 0.01] [--json FILE]

For each size N, a Customcrm seeded with N customers (10 users, 20 products, one order) and an empty Invoiced are
synced until quiet: Customcrm -> Invoiced, then Invoiced -> Customcrm, twice (the second cycle gives Invoiced the
cross-references of what the way back wrote). Then, as `meltano run sync` would:
- a quiet sync, which must write nothing;
- a changed sync: 1 % of the customers edited in Customcrm and another 1 % in Invoiced, then one sync cycle;
  --repeat times with fresh edits, and the fastest is reported (other work on the machine only ever adds time).
The plugins are the real ones (each package run as `python -m` would: see harness.plugin), piped together with
config files and each tap's state carried between runs (tap-customcrm | customcrm-invoiced-mapper |
target-invoiced, then tap-invoiced | mapper | target-customcrm), as meltano.yml's `sync` job runs them, without
Meltano's own start-up (about 4 s per `meltano run`, the same at any size). Requests are counted from the
sandboxes' --verbose logs; CPU and peak RSS come from each process's rusage.
The goals: a changed sync's requests grow with the changes plus a few pages, its wall time is within 1.3x between
the sizes, a quiet sync writes nothing, and each plugin's peak memory in the first sync is within 1.3x between sizes.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: `sandbox` and `bench` are top-level

from bench.harness import (
    CRM_TOKEN,
    INV_KEY,
    Served,
    Usage,
    last_state,
    plugin,
    run_pipeline,
    save_figures,
    served,
    tap_invoiced_catalog,
    write_config,
)
from sandbox.common.process import RunningSandbox, running_sandbox


@dataclass
class Cycle:
    """One sync: both directions, one after the other."""

    seconds: float
    customcrm: Served  # what each system served during the sync
    invoiced: Served
    usage: list[Usage]  # the six plugin processes

    @property
    def requests(self) -> int:
        return self.customcrm.requests + self.invoiced.requests

    @property
    def writes(self) -> int:
        return self.customcrm.writes + self.invoiced.writes


@dataclass
class TwoSystems:
    customcrm: RunningSandbox
    invoiced: RunningSandbox
    folder: Path
    state: dict[str, dict[str, Any] | None] = field(default_factory=lambda: {"customcrm": None, "invoiced": None})
    _seen: dict[str, int] = field(default_factory=lambda: {"customcrm": 0, "invoiced": 0})

    def __post_init__(self) -> None:
        links = f"sqlite:///{self.folder / 'links.db'}"
        common = {"link_store_url": links, "namespace": "bench", "max_in_flight": 20, "retry_wait_seconds": 0}
        self.configs = {
            "tap-customcrm": write_config(self.folder, "tap-customcrm", {
                "api_url": self.customcrm.url, "api_token": CRM_TOKEN, "page_size": 1000}),
            "tap-invoiced": write_config(self.folder, "tap-invoiced", {"api_url": self.invoiced.url,
                                                                        "api_key": INV_KEY}),
            "to-invoiced": write_config(self.folder, "to-invoiced", {"direction": "customcrm_to_invoiced"}),
            "to-customcrm": write_config(self.folder, "to-customcrm", {"direction": "invoiced_to_customcrm"}),
            "target-invoiced": write_config(self.folder, "target-invoiced", {
                "api_url": self.invoiced.url, "api_key": INV_KEY, **common}),
            "target-customcrm": write_config(self.folder, "target-customcrm", {
                "api_url": self.customcrm.url, "api_token": CRM_TOKEN, **common}),
        }
        self.catalog = tap_invoiced_catalog(self.configs["tap-invoiced"], self.folder)

    def sync(self) -> Cycle:
        self._mark()
        forward_seconds, forward = self._direction("customcrm", "tap-customcrm", "to-invoiced", "target-invoiced")
        back_seconds, back = self._direction("invoiced", "tap-invoiced", "to-customcrm", "target-customcrm")
        return Cycle(forward_seconds + back_seconds, self._served("customcrm"), self._served("invoiced"),
                     forward + back)

    def _direction(self, source: str, tap: str, mapping: str, target: str) -> tuple[float, list[Usage]]:
        tap_command = plugin(tap, "--config", self.configs[tap])
        if tap == "tap-invoiced":
            tap_command += ["--catalog", self.catalog]
        if self.state[source] is not None:
            state_file = write_config(self.folder, f"{tap}-state", self.state[source])
            tap_command += ["--state", state_file]
        out = self.folder / f"{target}-out.jsonl"
        with out.open("w") as stdout:
            seconds, usage = run_pipeline([
                tap_command,
                plugin("customcrm-invoiced-mapper", "--config", self.configs[mapping]),
                plugin(target, "--config", self.configs[target]),
            ], stdout=stdout)
        self.state[source] = last_state(out) or self.state[source]
        return seconds, usage

    def _served(self, system: str) -> Served:
        sandbox = self.customcrm if system == "customcrm" else self.invoiced
        figures, self._seen[system] = served(sandbox.log(), self._seen[system])
        return figures

    def _mark(self) -> None:
        """Count only what is served from now on."""
        self._served("customcrm")
        self._served("invoiced")

    def change(self, share: float, rng: random.Random) -> int:
        """Edit `share` of the customers on each side (different ones); returns how many were edited in all."""
        crm = requests.Session()
        crm.headers["Authorization"] = f"Bearer {CRM_TOKEN}"
        inv = requests.Session()
        inv.auth = (INV_KEY, "")
        customers = _all_crm(crm, self.customcrm.url)
        chosen = rng.sample(customers, 2 * max(1, round(share * len(customers))))
        half = len(chosen) // 2
        for n, customer in enumerate(chosen[:half]):
            crm.patch(f"{self.customcrm.url}/v1/customers/{customer['id']}", json={"phone": f"+47 401 {n:05d}"},
                      timeout=30).raise_for_status()
        for n, customer in enumerate(chosen[half:]):
            invoiced_id = customer["external_ids"]["invoiced"]
            inv.patch(f"{self.invoiced.url}/customers/{invoiced_id}", json={"phone": f"+47 402 {n:05d}"},
                      timeout=30).raise_for_status()
        self._mark()  # the edits are not the sync's requests
        return len(chosen)


def _all_crm(session: requests.Session, url: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 1000}
    while True:
        page = session.get(f"{url}/v1/customers", params=params, timeout=60).json()
        rows += page["data"]
        if not page["next_cursor"]:
            return rows
        params["cursor"] = page["next_cursor"]


def measure_size(customers: int, share: float, repeat: int) -> dict[str, Any]:
    seed = ("--seed-customers", str(customers), "--seed", "1", "--seed-users", "10", "--seed-products", "20",
            "--seed-orders", "1")
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-sync-cost-")))
        crm = stack.enter_context(running_sandbox("customcrm", "--token", CRM_TOKEN, "--verbose", *seed, timeout=600))
        inv = stack.enter_context(running_sandbox("invoiced", "--api-key", INV_KEY, "--verbose"))
        systems = TwoSystems(crm, inv, folder)
        started = time.perf_counter()
        first = systems.sync()
        second = systems.sync()
        settle_seconds = time.perf_counter() - started
        quiet = systems.sync()
        rng = random.Random(customers)
        changed = []
        for _ in range(repeat):  # fresh edits each time; the fastest is kept, as other work only ever adds time
            edited = systems.change(share, rng)
            changed.append(systems.sync())
    fastest = min(changed, key=lambda cycle: cycle.seconds)
    return {
        "customers": customers, "edited": edited, "settle_seconds": settle_seconds,
        "first": _cycle(first), "second": _cycle(second), "quiet": _cycle(quiet), "changed": _cycle(fastest),
        "changed_seconds_all": [cycle.seconds for cycle in changed],
    }


def _cycle(cycle: Cycle) -> dict[str, Any]:
    return {
        "seconds": cycle.seconds, "requests": cycle.requests, "writes": cycle.writes,
        "customcrm": cycle.customcrm, "invoiced": cycle.invoiced,
        "peak_rss_mib": {u.program + ("" if n < 3 else " (back)"): u.peak_rss_mib
                         for n, u in enumerate(cycle.usage)},
        "cpu_seconds": sum(u.cpu_seconds for u in cycle.usage),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[2000, 10000], help="customers in the two runs")
    parser.add_argument("--change", type=float, default=0.01, help="share of customers edited on each side")
    parser.add_argument("--repeat", type=int, default=3, help="changed syncs per size (the fastest is reported)")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    small, large = (measure_size(n, args.change, args.repeat) for n in args.sizes)
    print(f"A sync after {args.change:.0%} of the customers changed on each side; plugin executables piped directly "
          "(no `meltano run` start-up)")
    print(f"{'customers':>9} {'edited':>6} {'settle s':>8} | {'quiet req':>9} {'quiet writes':>12} | "
          f"{'changed req':>11} {'writes':>6} {'req/edit':>8} {'wall s':>6}")
    for size in (small, large):
        quiet, changed = size["quiet"], size["changed"]
        print(f"{size['customers']:>9} {size['edited']:>6} {size['settle_seconds']:>8.1f} | {quiet['requests']:>9} "
              f"{quiet['writes']:>12} | {changed['requests']:>11} {changed['writes']:>6} "
              f"{changed['requests'] / size['edited']:>8.2f} {changed['seconds']:>6.1f}")
    ratios = {
        "changed_requests": large["changed"]["requests"] / small["changed"]["requests"],
        "changed_seconds": large["changed"]["seconds"] / small["changed"]["seconds"],
        "peak_rss": {name: large["first"]["peak_rss_mib"][name] / rss
                     for name, rss in small["first"]["peak_rss_mib"].items()},
    }
    size_ratio = args.sizes[1] / args.sizes[0]
    print(f"large / small ({size_ratio:g}x the customers): changed-sync requests {ratios['changed_requests']:.2f}x, "
          f"wall time {ratios['changed_seconds']:.2f}x (goal <= 1.3)")
    print("peak RSS in the first sync, large / small (goal <= 1.3): "
          + ", ".join(f"{name} {ratio:.2f}x" for name, ratio in ratios["peak_rss"].items()))
    save_figures(args.json, {"sizes": args.sizes, "change": args.change, "runs": [small, large],
                             "large_over_small": ratios})
    return 0


if __name__ == "__main__":
    sys.exit(main())
