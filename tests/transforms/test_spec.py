"""The mapping files: they load, they cover both sides' fields, and a broken file fails loudly at start-up."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from customcrm_invoiced_mapper.spec import Flow, MappingFileError, load_flows, parse_flow

from sandbox.common.process import REPO_ROOT

# The section titles of the dataflow spec whose tables the mapping files fill.
SPEC_SECTIONS = [
    "Customcrm Customer to Invoiced Customers company",
    "Customcrm Order to Invoiced Invoices",
    "Customcrm Product to Invoiced Items",
    "Customcrm User to Invoiced Invoices",
]
TAP_SCHEMAS = {
    "customcrm": REPO_ROOT / "tap-customcrm" / "tap_customcrm" / "schemas",
    "invoiced": REPO_ROOT / "tap-invoiced" / "tap_invoiced" / "schemas",
}


def test_one_flow_per_spec_section_in_the_spec_order(flows: dict[str, Flow]) -> None:
    assert [flow.title for flow in load_flows()] == SPEC_SECTIONS
    assert set(flows) == {"customer", "order", "product", "user"}


def _leaves(schema: dict[str, Any], prefix: str = "") -> set[str]:
    """Property paths as the mapping names them: nested objects by dots, list items by []."""
    found: set[str] = set()
    for name, sub in (schema.get("properties") or {}).items():
        path = prefix + name
        found.add(path)
        if "properties" in sub and name not in ("metadata", "external_ids"):
            found |= _leaves(sub, path + ".")
        items = sub.get("items") or {}
        if "properties" in items:
            found |= _leaves(items, path + "[].")
    return found


def _decided(flow: Flow, system: str) -> tuple[set[str], set[str]]:
    """(mapped paths with their parents, unmapped paths): an unmapped object also covers everything inside it."""
    mapped: set[str] = set()
    side = (lambda row: [row.customcrm] if row.customcrm else []) if system == "customcrm" else (lambda r: r.invoiced)
    for row in flow.rows:
        mapped.update(side(row))
    for spec in flow.lists:
        base = spec.customcrm if system == "customcrm" else spec.invoiced
        mapped.add(base)
        for row in spec.rows:
            mapped.update(f"{base}[].{path}" for path in side(row))
    mapped |= {name.rsplit(".", n)[0] for name in mapped for n in range(1, name.count(".") + 1)}
    mapped |= {name.split("[]")[0] for name in mapped}
    unmapped = {
        part.strip().removesuffix(" (other keys)")
        for u in flow.unmapped
        if u.system == system
        for part in u.field.split(",")
    }
    return mapped, unmapped


def _uncovered(paths: set[str], flow: Flow, system: str) -> list[str]:
    mapped, unmapped = _decided(flow, system)
    return sorted(
        p for p in paths
        if p not in mapped | unmapped and not any(p.startswith((u + ".", u + "[].")) for u in unmapped)
    )


@pytest.mark.parametrize("system", ["customcrm", "invoiced"])
def test_every_field_a_tap_emits_is_mapped_or_listed_as_unmapped(system: str, flows: dict[str, Flow]) -> None:
    """The alignment check with the taps: a field added to a tap schema must be decided on in a mapping file."""
    directory = TAP_SCHEMAS[system]
    assert directory.is_dir(), f"the tap's schemas are not at {directory}: point TAP_SCHEMAS at where they moved"
    gaps: dict[str, list[str]] = defaultdict(list)
    for flow in flows.values():
        side = flow.customcrm if system == "customcrm" else flow.invoiced
        schema_file = directory / f"{side.stream}.json"
        if not schema_file.exists():
            continue
        paths = {p for p in _leaves(json.loads(schema_file.read_text())) if p.rsplit(".", 1)[-1] != "object"}
        gaps[flow.name] = _uncovered(paths, flow, system)
    assert not any(gaps.values()), dict(gaps)


def test_invoiced_metadata_stays_within_the_ten_key_budget(flows: dict[str, Flow]) -> None:
    keys: dict[str, set[str]] = defaultdict(set)
    for flow in flows.values():
        obj = "invoices" if flow.name == "user" else flow.invoiced.stream
        for row in flow.rows:
            keys[obj].update(p for p in row.invoiced if p.startswith("metadata."))
        for spec in flow.lists:
            for row in spec.rows:
                keys[f"{obj}.{spec.invoiced}"].update(p for p in row.invoiced if p.startswith("metadata."))
    assert keys["invoices"] == {"metadata.customcrm_id", "metadata.sales_rep_id", "metadata.sales_rep_name",
                                "metadata.sales_rep_email"}
    assert all(len(k) <= 10 for k in keys.values()), keys
    assert all(len(p) - len("metadata.") <= 40 for k in keys.values() for p in k)


def _minimal(**row: Any) -> dict[str, Any]:
    return {
        "flow": "x", "customcrm": {"entity": "X", "stream": "xs"}, "invoiced": {"entity": "Y", "stream": "ys"},
        "rows": [{"customcrm": "a", "invoiced": "b", "converter": "text", **row}],
    }


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"converter": "rot13"}, "unknown converter 'rot13'"),
        ({"converter": "item_id_from_sku"}, "cannot convert to_customcrm"),
        ({"direction": "sideways"}, "direction 'sideways'"),
        ({"colour": "red"}, "unknown key(s) colour"),
        ({"customcrm": None}, "only a constant written to Invoiced"),
    ],
)
def test_a_broken_row_names_the_file_row_and_problem(row: dict[str, Any], message: str) -> None:
    with pytest.raises(MappingFileError, match=r"broken\.yaml rows\[0\]") as caught:
        parse_flow(_minimal(**row), "broken.yaml")
    assert message in str(caught.value)


def test_a_file_that_is_not_yaml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("flow: [unclosed")
    with pytest.raises(MappingFileError, match=r"bad\.yaml: not valid YAML"):
        load_flows(tmp_path)


def test_only_company_customers_flow_to_customcrm(flows: dict[str, Flow]) -> None:
    customer = flows["customer"]
    assert customer.in_scope("to_customcrm", {"id": 1, "type": "company"})
    assert not customer.in_scope("to_customcrm", {"id": 2, "type": "person"})
    assert not customer.in_scope("to_customcrm", {"id": 3, "type": "government"})
    assert customer.in_scope("to_customcrm", {"id": 4})  # a snapshot without type is mapped, not dropped unseen
    assert customer.in_scope("to_invoiced", {"id": "cus_1", "type": "person"})  # no scope that way
