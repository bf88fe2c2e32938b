"""One run per tenant, enforced by the link store's lease: two real `meltano run sync` of one namespace started
together (two workers, each with its own Meltano files, one link store), and a run after a holder that died mid-run.
PostgreSQL's variant is in test_postgres.py; the lease itself in tests/sync_core/test_lease.py."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.common.meltano import meltano_command
from sandbox.common.process import REPO_ROOT
from tests.conftest import SandboxStarter
from tests.two_way.conftest import TwoWay, two_way

REFUSED = "holds the link store's lease"


@pytest.fixture(scope="module")
def systems(tmp_path_factory: pytest.TempPathFactory, start_sandbox: SandboxStarter,
            meltano_root: Path) -> Iterator[TwoWay]:
    # Slow enough that a run's first direction lasts well past the moment the other run's target starts.
    slow = ("--fault-latency-ms", "30")
    yield from two_way(tmp_path_factory, start_sandbox, meltano_root,
                       crm_seed=("--seed-customers", "25", "--seed", "41", *slow),
                       inv_seed=("--seed-customers", "4", "--seed", "42", *slow))


def second_worker(systems: TwoWay, root: Path, meltano_root: Path) -> TwoWay:
    """Another worker for the same tenant: its own Meltano system database and run files, the same plugins, the
    same link store and namespace, the same sandboxes."""
    sys_dir = root / "meltano"
    sys_dir.mkdir(parents=True)
    for folder in ("extractors", "loaders", "mappers"):
        (sys_dir / folder).symlink_to(meltano_root / folder, target_is_directory=True)
    other = TwoWay(systems.customcrm, systems.invoiced, root, sys_dir)
    other.env["DEV_LINK_STORE_URL"] = systems.env["DEV_LINK_STORE_URL"]
    return other


def _start(systems: TwoWay) -> subprocess.Popen[str]:
    return subprocess.Popen(meltano_command("run", "sync"), cwd=REPO_ROOT, env=systems.env, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_two_runs_of_one_tenant_started_together_one_runs_one_refuses(
        systems: TwoWay, tmp_path: Path, meltano_root: Path) -> None:
    other = second_worker(systems, tmp_path, meltano_root)
    runs = [_start(systems), _start(other)]
    results = [(run.wait(600), run.stderr.read() if run.stderr else "") for run in runs]

    assert sorted(code == 0 for code, _ in results) == [False, True], [log[-3000:] for _, log in results]
    log = next(log for code, log in results if code != 0)
    assert REFUSED in log, log[-4000:]
    assert "Only one run per namespace may write at a time" in log
    assert "pid " in log
    assert "on host " in log
    assert "IntegrityError" not in log
    _only_meltanos_broken_pipe(log)
    # The refused run stopped before any request of its target: the winner alone wrote, and nothing twice.
    systems.sync()
    systems.assert_no_duplicates()
    assert systems.sync().writes == []


def _only_meltanos_broken_pipe(log: str) -> None:
    """The refusing target prints no traceback. Meltano 4.4 prints one of its own (BrokenPipeError, when it closes
    the input of a target that has already exited), as it does for any target that stops before reading."""
    if "Traceback" in log:
        assert "BrokenPipeError" in log, log[-3000:]
        assert "sync_core" not in log.split("Traceback", 1)[1], log[-3000:]


def test_a_run_after_a_holder_that_died_mid_run_takes_the_lease_over_at_once(systems: TwoWay) -> None:
    for number in range(8):
        systems.crm("POST", "/customers", json={"name": f"Lease Co {number}", "org_number": f"LEASE-{number}",
                                                "email": f"lease{number}@lease.example", "currency": "NOK",
                                                "status": "active"})
    # Dies on the spot after its second create, holding the lease: no cleanup runs, as after a SIGKILL. (A SIGKILL
    # sent from outside once two creates were served could land after the target had finished and let go of the
    # lease: it has little else to do here.)
    died = systems.run(expect_ok=False, env={"SYNC_CRASH_AT": "target-invoiced:create-answered@2"})
    assert died.returncode != 0

    after = systems.run()  # at once: its host sees the holder's process gone
    assert "Took over the lease of namespace 'dev'" in after.log
    assert re.search(r"its process \d+ is gone", after.log)
    systems.sync()
    systems.assert_no_duplicates()
    assert systems.sync().writes == []
