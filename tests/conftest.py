"""Fixtures shared by every test folder: each sandbox as a real process on loopback."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from hypothesis import settings

from sandbox.common.meltano import clean_environment, meltano_command
from sandbox.common.process import REPO_ROOT, RunningSandbox, running_sandbox

# No time limit per example: these machines are shared and noisy, and speed is the benchmarks' business.
settings.register_profile("shared-machine", deadline=None)
settings.load_profile("shared-machine")

SandboxStarter = Callable[..., AbstractContextManager[RunningSandbox]]


@contextmanager
def keeping_signal_handlers() -> Iterator[None]:
    """The SIGINT and SIGTERM handlers as they were before the block. A Singer SDK plugin built in-process installs
    its own, which would turn a SIGTERM sent to the test run (a CI timeout, a wrapper's Ctrl-C) into SystemExit(0)
    inside whichever test is running, and the run would go on with its sandboxes gone."""
    saved = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)


@pytest.fixture(autouse=True)
def _signal_handlers_left_as_they_were() -> Iterator[None]:
    with keeping_signal_handlers():
        yield


@pytest.fixture(scope="session")
def start_sandbox() -> SandboxStarter:
    """`with start_sandbox("invoiced", "--api-key", KEY) as sb:` runs one for the block."""
    return running_sandbox




def install_meltano(root: Path) -> Path:
    """`meltano install` into `root`: the plugins' virtual environments, for the tests and the soak."""
    root.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(meltano_command("install"), cwd=REPO_ROOT, capture_output=True, text=True, timeout=1800,
                            check=False, env=clean_environment({
                                "MELTANO_SYS_DIR_ROOT": str(root),
                                "MELTANO_DATABASE_URI": f"sqlite:///{root / 'install.db'}"}))
    if result.returncode != 0:
        raise RuntimeError(f"meltano install failed:\n{result.stderr[-4000:]}")
    return root


@pytest.fixture(scope="session")
def meltano_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`meltano install` once: the plugins' virtual environments, shared by every module."""
    return install_meltano(tmp_path_factory.mktemp("meltano-sys"))
