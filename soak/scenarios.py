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
from soak.end_state import Seeded, differences, duplicates, end_state, set_aside, store_disagreements, unlinked
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


# Named moments a target can be made to die at (sync_core.crashpoints), each met once per crash soak, among the
# random kills. Each round brings creates both ways, an order that Invoiced refuses and a blocked order set free.
NAMED_CRASHES = ("target-invoiced:create-headers-sent@3", "target-invoiced:create-answered@2",
                 "target-invoiced:create-refused", "target-invoiced:parent-written",
                 "target-invoiced:state-half-written", "target-customcrm:create-headers-sent@2",
                 "target-customcrm:create-answered@2")


@dataclass
class CrashSoak:
    size: Size
    kills: list[str]  # "target-invoiced killed 1.3 s after it started", "... died at create-answered", or why not
    duplicates: list[str]
    missing: list[str]
    store: list[str]  # disagreements between the link store and the systems
    quiet_writes: int
    seconds: float
    stranded: list[str] = field(default_factory=list)  # set aside at the end, but not in a run without crashes
    reference_set_aside: int = 0  # records a run without crashes sets aside too (the seed's own, e.g. inactive)
    log: list[str] = field(default_factory=list)

    @property
    def crashes(self) -> int:
        return sum(" killed " in kill or " died at " in kill for kill in self.kills)


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
            job.wait(patience)  # the rest of the run goes on to its end, not killed with Meltano midway
            return f"{victim} not killed: it ended within {delay:.2f} s"
        job.wait(patience)
        return f"{victim} killed {delay:.2f} s after it started (run exit {job.returncode})"
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()


def crashed_run(systems: TwoWay, where: str) -> str:
    """`meltano run sync` with SYNC_CRASH_AT=`where`: the target dies at that named point, if the run reaches it."""
    plugin, point = where.split(":", 1)
    run = systems.run(expect_ok=False, env={"SYNC_CRASH_AT": where}, force=True)
    if f"crash test: exiting at {point.split('@')[0]}" in run.log:
        return f"{plugin} died at {point} (run exit {run.returncode})"
    return f"{plugin} did not reach {point} (run exit {run.returncode})"


def _new_work(systems: TwoWay, rng: random.Random, round_number: int, count: int, seeded: list[str]) -> None:
    """Records for the next run to write both ways, so that a kill lands among writes: new customers on both sides
    and edits of seeded ones; an order whose lines add up to a negative total (Invoiced refuses it); a new inactive
    customer with an order (set aside as blocked before it is sent); and the previous round's inactive customer made
    active, so the order it blocked is set free."""
    new = []
    for n in range(count):
        serial = f"{round_number}-{n}"
        new.append(systems.crm("POST", "/customers", json={
            "name": f"Crash Round {serial}", "email": f"crash{serial}@crm.example", "org_number": f"CRASH-{serial}",
            "currency": "NOK", "status": "active"})["id"])
        systems.inv("POST", "/customers", json={"name": f"Crash Invoiced {serial}", "type": "company",
                                                "email": f"crash{serial}@inv.example"})
    for customer_id in rng.sample(seeded, min(count, len(seeded))):
        systems.crm("PATCH", f"/customers/{customer_id}", json={"notes": f"crash round {round_number}"})
    earlier = systems.crm_all("customers", org_number=f"DORMANT-{round_number - 1}")
    if earlier:
        systems.crm("PATCH", f"/customers/{earlier[0]['id']}", json={"status": "active"})
    dormant = systems.crm("POST", "/customers", json={
        "name": f"Crash Dormant {round_number}", "email": f"dormant{round_number}@crm.example",
        "org_number": f"DORMANT-{round_number}", "currency": "NOK", "status": "inactive"})
    product = next(p for p in systems.crm_all("products") if p["active"])
    user = systems.crm_all("users")[0]
    for number, customer_id, price in ((f"CRASH-{round_number}", dormant["id"], "10.00"),
                                       (f"CRASH-NEGATIVE-{round_number}", new[0], "-10.00")):
        systems.crm("POST", "/orders", json={
            "order_number": number, "customer_id": customer_id, "owner_user_id": user["id"],
            "order_date": "2026-11-02", "currency": "NOK",
            "lines": [{"product_id": product["id"], "description": "Widget", "quantity": "1", "unit_price": price}]})


def _settle(systems: TwoWay) -> int:
    """Two syncs (the second gives Invoiced the cross-references of what the first created in Customcrm), then the
    writes of a third, which should be none."""
    forced_sync(systems)
    forced_sync(systems)
    return len(forced_sync(systems))


def crash_soak(root: Path, meltano_root: Path, size: Size, seed: int, *, kills: int, new_per_round: int,
               latency_ms: int = 10, named: tuple[str, ...] = NAMED_CRASHES, kill_within: float = 4.0) -> CrashSoak:
    """Runs of `meltano run sync` until `kills` of them crashed: each of the `named` crash points once, the rest a
    SIGKILL of one of its processes at a random moment (within `kill_within` seconds of its start), new work on both
    sides before each. Then runs until quiet,
    and the checks; then the same seed and work without any crash, for what the sync sets aside anyway."""
    started = time.monotonic()
    rng = random.Random(seed)
    slow = ("--fault-latency-ms", str(latency_ms))
    happened: list[str] = []
    to_crash = list(named)
    with sandboxes(root / "crashes", meltano_root, crm_args=(*size.crm_seed(seed), *slow),
                   inv_args=(*size.inv_seed(seed), *slow), env=patient(5)) as systems:
        seeded = sorted(c["id"] for c in systems.crm_customers())
        work = random.Random(seed + 1)  # the new work alone, so the run without crashes can repeat it
        round_number = 0
        while ((sum(" killed " in line or " died at " in line for line in happened) < kills or to_crash)
               and round_number < 3 * (kills + len(named))):
            if round_number:
                _new_work(systems, work, round_number, new_per_round, seeded)
            # Named points go first, every other round; a run that missed its point or its victim tries again later.
            if to_crash and round_number % 2 == 1:
                outcome = crashed_run(systems, to_crash[0])
                if " died at " in outcome:
                    to_crash.pop(0)
            else:
                outcome = killed_run(systems, rng.choice(PROCESSES), rng.uniform(0.0, kill_within))
            happened.append(outcome)
            round_number += 1
        quiet = _settle(systems)
        result = CrashSoak(size, happened, duplicates(systems), unlinked(systems), store_disagreements(systems),
                           quiet, 0.0)
        crashed = set_aside(systems)
    with sandboxes(root / "reference", meltano_root, crm_args=(*size.crm_seed(seed), *slow),
                   inv_args=(*size.inv_seed(seed), *slow), env=patient(5)) as reference:
        # What is set aside at the end depends on the data, not on the runs that got there: all rounds' work, then
        # the syncs that settle it.
        work = random.Random(seed + 1)
        forced_sync(reference)
        for number in range(1, round_number):
            _new_work(reference, work, number, new_per_round, seeded)
        _settle(reference)
        expected = set_aside(reference)
    result.stranded = sorted(f"{stream} {key}: {kind}" for stream, kind, key in crashed - expected)
    result.reference_set_aside = len(expected)
    result.seconds = time.monotonic() - started
    return result


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
