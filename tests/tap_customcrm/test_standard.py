"""The SDK's standard tap tests, run against a seeded Customcrm service."""

from __future__ import annotations

import pytest
from singer_sdk.testing import SuiteConfig, TapTestRunner, get_tap_test_class
from tap_customcrm.tap import TapCustomcrm

from tests.tap_customcrm.conftest import TOKEN, CrmApi, tap_config

SUITE = SuiteConfig(max_records_limit=60)

# The factory builds its parameters from the catalog (no network); the service's URL is only known once the
# module's service runs, so the `runner` fixture below replaces the factory's placeholder runner.
_StandardTests = get_tap_test_class(
    TapCustomcrm, config={"api_url": "http://127.0.0.1:9", "api_token": TOKEN}, suite_config=SUITE
)


class TestTapCustomcrmStandard(_StandardTests):  # type: ignore[misc,valid-type]
    @pytest.fixture(scope="class")
    @classmethod
    def runner(cls, crm: CrmApi) -> TapTestRunner:
        runner = TapTestRunner(TapCustomcrm, config=tap_config(crm.url, page_size=25), suite_config=SUITE)
        runner.sync_all()
        return runner
