"""The reliability scenarios, parameterised by size: `make soak` runs them at the issue's sizes, and
tests/reliability runs small ones. Each returns what it measured; the caller asserts and reports."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.common.meltano import meltano_command
from sandbox.common.process import REPO_ROOT, pid_below
from soak.end_state import Seeded, differences, duplicates, end_state, store_disagreements, unlinked
from soak.systems import ISSUE_FAULTS, Size, fault_flags, faults_met, patient, retries_made, sandboxes
from tests.two_way.conftest import TARGETS, SyncRun, TwoWay, _writes

FAULTY_SYNCS = 2  # the first sync and the one that completes it, both under faults
MAX_RETRIES = 10  # per request; a 429 is waited out apart from these


@dataclass
class FaultSoak:
    size: Size
    faults: Counter[str]  # injected by the sandboxes, by kind
    retries: Counter[str]  # logged by the plugins
    differences: list[str]  # against the fault-free run from the same seed
    duplicates: list[str]
    new_rejects: list[str]  # rejects the fault-free run did not have
    quiet_writes: int  # writes of a further sync after the last one
    seconds: float
    rejects_both: int = 0  # rejects both runs had (the seed's own bad data, e.g. orders of inactive customers)
    failed_runs: list[str] = field(default_factory=list)  # runs that exited non-zero, with where their log is


def _rejects(systems: TwoWay) -> set[tuple[str, str]]:
    return {(row.get("stream", ""), str(row.get("source_id", ""))) for row in systems.rejects()}


def _sync(systems: TwoWay, failed: list[str], name: str) -> SyncRun:
    """One `meltano run sync`; a failed one is kept (its whole log beside the databases) and the soak goes on."""
    run = systems.run(expect_ok=False)
    if run.returncode != 0:
        log = systems.root / f"{name}-failed.log"
        log.write_text(run.log)
        failed.append(f"{name}: exit {run.returncode}, log {log}")
    return run


def fault_soak(work: Path, meltano_root: Path, size: Size, seed: int) -> FaultSoak:
    """Sync `size` both ways while both sandboxes inject the issue's faults, then once more without faults, and
    compare the end state with a fault-free run from the same seed."""
    started = time.monotonic()
    env = patient(MAX_RETRIES)
    reference_root, faulty_root = work / "reference", work / "faults"
    failed: list[str] = []
    with sandboxes(reference_root, meltano_root, crm_args=size.crm_seed(seed), inv_args=size.inv_seed(seed),
                   env=env) as reference:
        seeded = Seeded.read(reference)
        for number in range(FAULTY_SYNCS + 1):
            _sync(reference, failed, f"reference-{number}")
        expected = end_state(reference, seeded)
        expected_rejects = _rejects(reference)

    retries: Counter[str] = Counter()
    with sandboxes(faulty_root, meltano_root, env=env,
                   crm_args=(*size.crm_seed(seed), *fault_flags(seed, ISSUE_FAULTS)),
                   inv_args=(*size.inv_seed(seed), *fault_flags(seed + 7, ISSUE_FAULTS))) as faulty:
        for number in range(FAULTY_SYNCS):
            retries += retries_made(_sync(faulty, failed, f"faults-{number}").log)
        faults = faults_met(faulty)
    with sandboxes(faulty_root, meltano_root, env=env) as calm:  # the same databases, no faults
        retries += retries_made(_sync(calm, failed, "after-faults").log)
        actual = end_state(calm, seeded)
        found_rejects = _rejects(calm)
        found_duplicates = duplicates(calm)
        quiet = _sync(calm, failed, "quiet")
    return FaultSoak(size, faults, retries, differences(expected, actual), found_duplicates,
                     sorted(f"{stream} {source}" for stream, source in found_rejects - expected_rejects),
                     len(quiet.writes), time.monotonic() - started, len(found_rejects & expected_rejects), failed)


# What a crash may hit: each process of `meltano run sync`.
PROCESSES = ("tap-customcrm", "customcrm-invoiced-mapper", "target-invoiced", "tap-invoiced", "target-customcrm")


@dataclass
class CrashSoak:
    size: Size
    kills: list[str]  # "target-invoiced after 1.3 s", or why a round's victim was not running
    duplicates: list[str]
    missing: list[str]
    store: list[str]  # disagreements between the link store and the systems
    quiet_writes: int
    seconds: float
    log: list[str] = field(default_factory=list)


# Meltano may leave a run whose plugin was killed marked as running, and refuses the next run of the job for five
# minutes (its stale-run guard); a worker on a 15-minute schedule is past that, the soak is not.
FORCE = ("--force",)


def forced_sync(systems: TwoWay) -> list[tuple[str, str]]:
    """`meltano run --force sync` (see FORCE); the writes both systems served meanwhile."""
    crm_before, inv_before = len(systems.customcrm.log().splitlines()), len(systems.invoiced.log().splitlines())
    systems.meltano("run", *FORCE, "sync")
    return (_writes(systems.customcrm.log().splitlines()[crm_before:])
            + _writes(systems.invoiced.log().splitlines()[inv_before:]))


def killed_run(systems: TwoWay, victim: str, delay: float, *, patience: float = 300) -> str:
    """`meltano run sync` with `victim` killed by SIGKILL `delay` seconds after it starts; what happened."""
    job = subprocess.Popen(meltano_command("run", *FORCE, "sync"), cwd=REPO_ROOT, env=systems.env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + patience
        while (pid := pid_below(victim, job.pid)) is None:
            if job.poll() is not None:
                return f"{victim} not killed: the run ended (exit {job.returncode}) before it started"
            if time.monotonic() > deadline:
                return f"{victim} not killed: it did not start within {patience:.0f} s"
            time.sleep(0.02)
        time.sleep(delay)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return f"{victim} not killed: it ended within {delay:.2f} s"
        job.wait(patience)
        return f"{victim} killed {delay:.2f} s after it started (run exit {job.returncode})"
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()


def _new_work(systems: TwoWay, rng: random.Random, round_number: int, count: int) -> None:
    """Records for the next run to write both ways, so that a kill lands among writes."""
    for n in range(count):
        serial = f"{round_number}-{n}"
        systems.crm("POST", "/customers", json={"name": f"Crash Round {serial}", "email": f"crash{serial}@crm.example",
                                                "org_number": f"CRASH-{serial}", "currency": "NOK",
                                                "status": "active"})
        systems.inv("POST", "/customers", json={"name": f"Crash Invoiced {serial}", "type": "company",
                                                "email": f"crash{serial}@inv.example"})
    customers = systems.crm_customers()
    for customer in rng.sample(customers, min(count, len(customers))):
        systems.crm("PATCH", f"/customers/{customer['id']}", json={"notes": f"crash round {round_number}"})


def crash_soak(root: Path, meltano_root: Path, size: Size, seed: int, *, kills: int, new_per_round: int,
               latency_ms: int = 10) -> CrashSoak:
    """`kills` runs of `meltano run sync`, each with one of its processes killed at a random moment, new work
    on both sides before each; then runs until quiet, and the checks."""
    started = time.monotonic()
    rng = random.Random(seed)
    slow = ("--fault-latency-ms", str(latency_ms))
    happened = []
    with sandboxes(root, meltano_root, crm_args=(*size.crm_seed(seed), *slow), inv_args=(*size.inv_seed(seed), *slow),
                   env=patient(5)) as systems:
        round_number = 0
        while sum(" killed " in line for line in happened) < kills and round_number < 3 * kills:
            if round_number:
                _new_work(systems, rng, round_number, new_per_round)
            # A victim that ended before its moment came is a round without a kill: the next round tries again.
            happened.append(killed_run(systems, rng.choice(PROCESSES), rng.uniform(0.0, 4.0)))
            round_number += 1
        forced_sync(systems)
        forced_sync(systems)
        return CrashSoak(size, happened, duplicates(systems), unlinked(systems), store_disagreements(systems),
                         len(forced_sync(systems)), time.monotonic() - started)


@dataclass
class MassChange:
    deleted: int  # records the source lost
    max_deletes: int
    carried_out: int  # deletes written in the destination by the capped run
    carried_out_next: int  # by a second run with the same cap
    message: str  # what the capped run said
    carried_out_raised: int = 0  # by a run whose max_deletes has room for every held delete


def _deletes(run: Any, target: str, stream: str) -> int:
    return int(run.count(target, stream, "deleted"))


def mass_delete_in_invoiced(systems: TwoWay, *, lose: int, max_deletes: int) -> MassChange:
    """Invoiced loses `lose` linked companies at once: Customcrm must not soft delete more than `max_deletes`."""
    with_invoices = {i["customer"] for i in systems.inv_all("/invoices")}
    free = [c for c in systems.companies() if c["id"] not in with_invoices and c["metadata"].get("customcrm_id")]
    assert len(free) >= lose, f"only {len(free)} companies without invoices to lose"
    for company in free[:lose]:
        systems.inv("DELETE", f"/customers/{company['id']}")
    return _capped_runs(systems, "target-customcrm", "customers", lose, max_deletes)


def mass_delete_in_customcrm(systems: TwoWay, *, lose: int, max_deletes: int) -> MassChange:
    """Customcrm loses `lose` linked customers at once: Invoiced must not deactivate more than `max_deletes`."""
    customers = [c for c in systems.crm_customers() if (c.get("external_ids") or {}).get("invoiced")
                 and c["status"] == "active"]  # an inactive one's company is inactive already: no delete to make
    for customer in customers[:lose]:
        systems.crm("DELETE", f"/customers/{customer['id']}")
    return _capped_runs(systems, "target-invoiced", "customers", lose, max_deletes)


def _capped_runs(systems: TwoWay, target: str, stream: str, lose: int, max_deletes: int) -> MassChange:
    cap = {f"{t.upper().replace('-', '_')}_MAX_DELETES": str(max_deletes) for t in TARGETS}
    capped = systems.run(env=cap)
    message = next((line for line in capped.log.splitlines() if "stopped a mass change" in line), "")
    again = systems.run(env=cap)
    raised = systems.run(env={key: str(lose + max_deletes) for key in cap})
    return MassChange(lose, max_deletes, _deletes(capped, target, stream), _deletes(again, target, stream), message,
                      _deletes(raised, target, stream))


def empty_customcrm(systems: TwoWay, empty_url: str) -> list[tuple[str, str]]:
    """The Customcrm -> Invoiced way, incremental and then in full, against a Customcrm that answers every list
    with nothing: the writes Invoiced served (none may be a delete, a void, an archive or a deactivation)."""
    env = {"DEV_CUSTOMCRM_API_URL": empty_url}
    before = len(systems.invoiced.log().splitlines())
    systems.meltano("run", "customcrm-to-invoiced", env=env)
    systems.meltano("run", "--full-refresh", "customcrm-to-invoiced", env=env)
    return _writes(systems.invoiced.log().splitlines()[before:])
