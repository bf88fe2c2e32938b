"""Record-level rules of the engine: what turns a record into a reject, and what Invoiced would refuse otherwise."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from customcrm_invoiced_mapper.converters import Direction
from customcrm_invoiced_mapper.engine import map_record
from customcrm_invoiced_mapper.spec import Flow

UTC = ZoneInfo("UTC")
CUSTOMER = {"id": "cus_1", "name": "Blåbær AS", "updated_at": "2024-01-01T00:00:00.000000Z", "deleted_at": None}
USER = {"id": "usr_1", "name": "Åse", "email": "ase@example.no", "updated_at": "2024-01-01T00:00:00.000000Z",
        "deleted_at": None}


def _to_invoiced(flow: Flow, record: dict[str, Any]) -> dict[str, Any]:
    return map_record(flow, "to_invoiced", record, UTC)


@pytest.mark.parametrize(
    ("flow_name", "record", "field"),
    [
        ("customer", {**CUSTOMER, "website": "https://example.com/" + "x" * 280}, "website"),
        # 168 characters, 318 bytes: within Customcrm's 255 characters, beyond Invoiced's 255 bytes
        ("customer", {**CUSTOMER, "website": "https://blåbær.no/" + "ø" * 150}, "website"),
        ("user", {**USER, "name": "山田" * 50}, "name"),
        ("product", {"id": "prd_1", "sku": "𝔰" * 70, "name": "x", "unit_price": "1.00", "currency": "NOK"}, "sku"),
    ],
)
def test_a_value_too_long_for_invoiced_metadata_is_a_reject_naming_the_field(
    flow_name: str, record: dict[str, Any], field: str, flows: dict[str, Flow]
) -> None:
    out = _to_invoiced(flows[flow_name], record)
    assert out["_reject"]["field"] == field
    assert "at most 255 bytes" in out["_reject"]["reason"]


def test_a_metadata_value_of_exactly_255_bytes_is_written(flows: dict[str, Flow]) -> None:
    website = "https://example.com/" + "ø" * 117 + "x"  # 20 + 234 + 1 bytes
    out = _to_invoiced(flows["customer"], {**CUSTOMER, "website": website})
    assert "_reject" not in out
    assert out["metadata"]["website"] == website


def test_an_empty_string_is_no_value_for_every_converter(flows: dict[str, Flow]) -> None:
    customer = {"id": 7, "type": "company", "name": "Acme", "country": "", "currency": "", "payment_terms": "",
                "email": "", "active": True, "updated_at": "2024-01-01T00:00:00Z", "deleted_at": None}
    out = map_record(flows["customer"], "to_customcrm", customer, UTC)
    assert "_reject" not in out
    assert out["billing_address"]["country"] is None
    assert (out["currency"], out["payment_terms_days"], out["email"]) == (None, None, None)


@pytest.mark.parametrize("blank", ["", "   ", None])
def test_a_blank_required_text_is_a_reject_naming_the_field(blank: str | None, flows: dict[str, Flow]) -> None:
    customer = {"id": 7, "type": "company", "name": blank, "updated_at": "2024-01-01T00:00:00Z", "deleted_at": None}
    out = map_record(flows["customer"], "to_customcrm", customer, UTC)
    assert out["_reject"]["field"] == "name"
    assert "has no value" in out["_reject"]["reason"]


@pytest.mark.parametrize(
    ("flow_name", "direction", "record", "fix"),
    [
        ("customer", "to_invoiced", {**CUSTOMER, "website": "x" * 300}, "shorten it in Customcrm"),
        ("customer", "to_invoiced", {**CUSTOMER, "name": None}, "fill it in Customcrm"),
        ("customer", "to_invoiced", {**CUSTOMER, "currency": "KRONER"}, "correct currency in Customcrm"),
        ("customer", "to_customcrm", {"id": 1, "name": "A", "payment_terms": "EOM"},
         "use terms like 'NET 30' in Invoiced"),
        ("order", "to_customcrm", {"id": 1, "items": [{"name": "A", "quantity": 1, "unit_cost": Decimal("0.005")}]},
         "round it to 2 decimals in Invoiced, so both systems keep the same amount"),
    ],
)
def test_every_reject_says_what_to_do_and_where(
    flow_name: str, direction: Direction, record: dict[str, Any], fix: str, flows: dict[str, Flow]
) -> None:
    reject = map_record(flows[flow_name], direction, record, UTC)["_reject"]
    assert fix in [problem["fix"] for problem in reject["problems"]]
    assert all(any(where in p["fix"] for where in ("in Customcrm", "in Invoiced", "on the invoice"))
               for p in reject["problems"])
