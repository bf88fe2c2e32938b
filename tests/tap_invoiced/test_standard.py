"""The SDK's standard tap tests, run against a seeded Invoiced sandbox."""

from __future__ import annotations

import pytest
from singer_sdk.testing import SuiteConfig, TapTestRunner, get_tap_test_class
from tap_invoiced.tap import TapInvoiced

from tests.tap_invoiced.conftest import KEY, InvoicedApi, tap_config

SUITE = SuiteConfig(max_records_limit=80)

# The factory builds its parameters from the catalog (no network); the sandbox's URL is only known once it
# runs, so the `runner` fixture below replaces the factory's placeholder runner.
_StandardTests = get_tap_test_class(
    TapInvoiced, config={"api_url": "http://127.0.0.1:9", "api_key": KEY}, suite_config=SUITE
)


class TestTapInvoicedStandard(_StandardTests):  # type: ignore[misc,valid-type]
    @pytest.fixture(scope="class")
    @classmethod
    def runner(cls, seeded: InvoicedApi) -> TapTestRunner:
        runner = TapTestRunner(TapInvoiced, config=tap_config(seeded.url, per_page=20), suite_config=SUITE)
        runner.sync_all()
        return runner
