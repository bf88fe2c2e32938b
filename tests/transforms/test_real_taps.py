"""The mapper on real tap output: each tap executable reads a seeded sandbox and pipes into the mapper executable,
exactly as `meltano run tap-x <mapping> target-y` wires them."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from customcrm_invoiced_mapper.values import ITEM_ID_PATTERN

from tests.transforms.conftest import MAPPER

BIN = Path(sys.executable).parent
CRM_TOKEN = "crm-mapper-token-41d7"
INVOICED_KEY = "sk_test_mapper_9b3e22"


def _pipe(tap: str, tap_config: dict[str, Any], direction: str, tmp: Path) -> tuple[list[dict], list[dict], str]:
    """Run `tap | mapper`; return what the tap wrote, what the mapper wrote, and the mapper's log."""
    (tmp / "tap.json").write_text(json.dumps(tap_config))
    (tmp / "mapper.json").write_text(json.dumps({"direction": direction, "business_timezone": "Europe/Oslo"}))
    tapped = subprocess.run(
        [str(BIN / tap), "--config", str(tmp / "tap.json")], capture_output=True, text=True, timeout=300, check=False
    )
    assert tapped.returncode == 0, tapped.stderr[-3000:]
    mapped = subprocess.run(
        [str(MAPPER), "--config", str(tmp / "mapper.json")], input=tapped.stdout, capture_output=True, text=True,
        timeout=300, check=False,
    )
    assert mapped.returncode == 0, mapped.stderr[-3000:]

    def parse(text: str) -> list[dict]:
        return [json.loads(line, parse_float=Decimal) for line in text.splitlines() if line.startswith("{")]

    return parse(tapped.stdout), parse(mapped.stdout), mapped.stderr


def _check_common(tapped: list[dict], out: list[dict], routes: dict[str, str]) -> dict[str, list[dict]]:
    """What holds for any run: nothing lost, nothing rejected, schemas honoured, STATE unchanged and in place."""
    schemas = {m["stream"]: m["schema"] for m in out if m["type"] == "SCHEMA"}
    records: dict[str, list[dict]] = {}
    for message in out:
        if message["type"] == "RECORD":
            jsonschema.validate(message["record"], schemas[message["stream"]])
            records.setdefault(message["stream"], []).append(message["record"])
    rejects = [r["_reject"] | {"id": r["_source"]["id"]} for rs in records.values() for r in rs if "_reject" in r]
    assert rejects == []
    for source, target in routes.items():
        sent = [m["record"]["id"] for m in tapped if m["type"] == "RECORD" and m["stream"] == source]
        assert sent, f"the tap emitted no {source}: the sandbox seed changed?"
        assert [r["_source"]["id"] for r in records.get(target, [])] == [str(i) for i in sent]
    states_in = [m["value"] for m in tapped if m["type"] == "STATE"]
    assert states_in
    assert [m["value"] for m in out if m["type"] == "STATE"] == states_in
    return records


@pytest.fixture(scope="module")
def crm_url(start_sandbox: Callable[..., Any]) -> Iterator[str]:
    with start_sandbox("customcrm", "--token", CRM_TOKEN, "--seed-customers", "25", "--seed", "3") as sandbox:
        yield sandbox.url


@pytest.fixture(scope="module")
def invoiced_url(start_sandbox: Callable[..., Any]) -> Iterator[str]:
    with start_sandbox("invoiced", "--api-key", INVOICED_KEY, "--seed-customers", "25", "--seed", "3") as sandbox:
        yield sandbox.url


def test_tap_customcrm_output_maps_to_invoiced_shapes(crm_url: str, tmp_path: Path) -> None:
    config = {"api_url": crm_url, "api_token": CRM_TOKEN}
    tapped, out, _ = _pipe("tap-customcrm", config, "customcrm_to_invoiced", tmp_path)
    records = _check_common(
        tapped, out, {"customers": "customers", "products": "items", "orders": "invoices", "users": "sales_reps"}
    )
    crm_orders = {m["record"]["id"]: m["record"] for m in tapped if m["type"] == "RECORD" and m["stream"] == "orders"}
    for invoice in records["invoices"]:
        order = crm_orders[invoice["_source"]["id"]]
        assert invoice["customer"] == {"customcrm_id": order["customer_id"]}
        assert isinstance(invoice["date"], int)
        assert invoice["currency"] == order["currency"].lower()
        assert [line["unit_cost"] for line in invoice["items"]] == [Decimal(x["unit_price"]) for x in order["lines"]]
    assert all(ITEM_ID_PATTERN.match(item["id"]) for item in records["items"])
    live = [c for c in records["customers"] if c["_source"]["deleted_at"] is None]
    assert live
    assert all(c["type"] == "company" for c in live)
    tombstones = [c for c in records["customers"] if c["_source"]["deleted_at"] is not None]
    assert all(set(c) <= {"id", "metadata", "_source"} for c in tombstones)


def test_tap_invoiced_output_maps_to_customcrm_shapes(invoiced_url: str, tmp_path: Path) -> None:
    config = {"api_url": invoiced_url, "api_key": INVOICED_KEY}
    tapped, out, log = _pipe("tap-invoiced", config, "invoiced_to_customcrm", tmp_path)
    persons = {
        m["record"]["id"] for m in tapped
        if m["type"] == "RECORD" and m["stream"] == "customers" and m["record"].get("type") != "company"
    }
    companies = [m for m in out if m["type"] == "RECORD" and m["stream"] == "customers"]
    records = _check_common(
        [m for m in tapped if not (m.get("stream") == "customers" and m.get("record", {}).get("id") in persons)],
        out,
        {"customers": "customers", "items": "products", "invoices": "orders"},
    )
    assert len(companies) == len(records["customers"])
    if persons:
        assert f"customers out of scope: {len(persons)}" in log
    assert "'contacts' has no flow" in log
    for order in records["orders"]:
        assert order["currency"] == order["currency"].upper()
        assert all(line["unit_price"] == f"{Decimal(line['unit_price']):.2f}" for line in order["lines"])
    counts = Counter(m["stream"] for m in out if m["type"] == "RECORD")
    assert set(counts) == {"customers", "products", "orders"}
