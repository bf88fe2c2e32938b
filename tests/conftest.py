"""Fixtures shared by every test folder: each sandbox as a real process on loopback."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest
from hypothesis import settings

from sandbox.common.process import RunningSandbox, running_sandbox

# No time limit per example: these machines are shared and noisy, and speed is the benchmarks' business.
settings.register_profile("shared-machine", deadline=None)
settings.load_profile("shared-machine")

SandboxStarter = Callable[..., AbstractContextManager[RunningSandbox]]


@pytest.fixture(scope="session")
def start_sandbox() -> SandboxStarter:
    """`with start_sandbox("invoiced", "--api-key", KEY) as sb:` runs one for the block."""
    return running_sandbox
