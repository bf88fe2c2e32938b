"""Fixtures shared by every test folder: each sandbox as a real process on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest

from sandbox.common.process import RunningSandbox, running_sandbox

SandboxStarter = Callable[..., AbstractContextManager[RunningSandbox]]


@pytest.fixture(scope="session")
def start_sandbox() -> SandboxStarter:
    """`with start_sandbox("invoiced", "--api-key", KEY) as sb:` runs one for the block."""
    return running_sandbox


@pytest.fixture
def sandbox_log_on_failure(request: pytest.FixtureRequest) -> Iterator[list[RunningSandbox]]:
    """Register running sandboxes here to get their logs printed when the test fails."""
    started: list[RunningSandbox] = []
    yield started
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for sandbox in started:
            print(f"--- log of sandbox at {sandbox.url} ---\n{sandbox.log()}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    setattr(item, "rep_" + report.when, report)
    return report
