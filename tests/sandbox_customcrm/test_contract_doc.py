"""The contract document states the refusals the service and the OpenAPI document are built from."""

from __future__ import annotations

from sandbox.common.process import REPO_ROOT
from sandbox.customcrm.errors import markdown_table

DOC = REPO_ROOT / "docs" / "customcrm-contract.md"


def test_the_error_table_in_the_contract_document_is_the_one_in_errors_py() -> None:
    expected = markdown_table()
    assert expected in DOC.read_text(), (
        f"the error table in {DOC} differs from sandbox/customcrm/errors.py; replace it with:\n{expected}"
    )
