"""A plugin built in a test leaves no signal handler of its own behind in the test run (see tests/conftest.py)."""

from __future__ import annotations

import signal

from target_invoiced.target import TargetInvoiced

from tests.conftest import keeping_signal_handlers


def test_a_target_built_in_process_leaves_sigterm_to_the_test_run() -> None:
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    with keeping_signal_handlers():
        TargetInvoiced(config={"api_key": "sk_signals", "api_url": "http://127.0.0.1:9", "link_store_url": "sqlite://"})
        installed = signal.getsignal(signal.SIGTERM)
        assert installed not in (before[0], signal.SIG_DFL)  # the SDK's own: SIGTERM would become SystemExit(0)
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before
