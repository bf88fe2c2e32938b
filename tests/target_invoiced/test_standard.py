"""The SDK's standard target tests, where they apply to a target that takes four known streams.

Left out, and why: every file-based standard test (array_data, camelcase, camelcase_complex_schema,
duplicate_records, encoded_string_data, multiple_state_messages, no_primary_keys, optional_attributes,
record_missing_key_property, record_missing_required_property, schema_no_properties, schema_updates, pk_updates,
special_chars_in_attributes, record_missing_fields) sends made-up streams such as `test_array_data` with their own
schemas. target-invoiced takes only the to-invoiced mapping's streams (customers, items, invoices,
sales_reps), whose records carry `_source`, and stops at any other stream, so each of those would test only that
refusal. What they check in spirit (duplicates in a batch, optional fields, state messages, odd characters) is
tested on the real streams in this folder.
"""

from __future__ import annotations

from singer_sdk.testing import get_target_test_class, suites
from singer_sdk.testing.target_tests import TargetCliPrintsTest, TargetInvalidSchemaTest, TargetRecordBeforeSchemaTest
from target_invoiced.target import TargetInvoiced

CONFIG = {"api_key": "sk_standard_tests_1", "api_url": "http://127.0.0.1:9", "link_store_url": "sqlite://"}

STANDARD = suites.SingerTestSuite(
    kind="target",
    tests=[TargetCliPrintsTest, TargetInvalidSchemaTest, TargetRecordBeforeSchemaTest],
)

TestTargetInvoicedStandard = get_target_test_class(
    TargetInvoiced, config=CONFIG, custom_suites=[STANDARD], include_target_tests=False
)
