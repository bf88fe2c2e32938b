"""docs/dataflow.rst is generated from the mapping files; it must not drift from them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from customcrm_invoiced_mapper.docs import render
from customcrm_invoiced_mapper.spec import load_flows

from sandbox.common.process import REPO_ROOT
from tests.transforms.test_spec import SPEC_SECTIONS

DATAFLOW = REPO_ROOT / "docs" / "dataflow.rst"
DOCS_COMMAND = Path(sys.executable).parent / "customcrm-invoiced-dataflow-docs"


def test_docs_dataflow_is_current() -> None:
    assert DATAFLOW.read_text("utf-8") == render(load_flows()), (
        "docs/dataflow.rst is stale: run `.venv/bin/customcrm-invoiced-dataflow-docs docs/dataflow.rst`"
    )


def test_the_docs_keep_the_spec_shape() -> None:
    text = DATAFLOW.read_text("utf-8")
    for title in SPEC_SECTIONS:
        crm, inv = title.removeprefix("Customcrm ").split(" to Invoiced ")
        assert f"{title}\n{'-' * len(title)}\nEvery Customcrm {crm} will be synchronized with a Invoiced {inv}." in text
        assert f"   * - Customcrm {crm} Property\n     - Invoiced {inv} Property\n     - Invoiced Data Type\n" in text


def test_the_check_command_fails_on_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "dataflow.rst"
    stale.write_text("old\n")
    check = [str(DOCS_COMMAND), str(stale), "--check"]
    assert subprocess.run(check, capture_output=True, check=False).returncode == 1
    assert subprocess.run([str(DOCS_COMMAND), str(stale)], check=False).returncode == 0
    assert subprocess.run(check, capture_output=True, check=False).returncode == 0


def test_each_flow_states_who_creates_who_wins_a_conflict_and_what_a_delete_does() -> None:
    text = DATAFLOW.read_text("utf-8")
    for flow in load_flows():
        section = text.split(f"{flow.title}\n{'-' * len(flow.title)}\n")[1]
        rules = section.split("The following properties")[0]
        for rule in ("Create", "Conflict", "Delete"):
            assert f"   * - {rule}\n     - {flow.sync[rule.lower()]}\n" in rules, (flow.name, rule)
