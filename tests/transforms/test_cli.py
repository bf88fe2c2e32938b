"""The mapper as a real executable: Singer messages in on stdin, Singer messages out on stdout."""

from __future__ import annotations

import json
import subprocess
from decimal import Decimal
from typing import Any

import jsonschema

from tests.transforms.conftest import MAPPER, RunMapper

ORDER = {
    "id": "ord_1", "external_ids": {"invoiced": "77"}, "order_number": "SO-1001", "customer_id": "cus_1",
    "owner_user_id": "usr_1", "order_date": "2024-03-31", "due_date": "2024-04-30", "currency": "NOK",
    "status": "confirmed", "purchase_order": "", "notes": "Ærlig talt – ünïcødé",
    "lines": [
        {"id": "lin_1", "product_id": "prd_1", "description": "Widget", "quantity": "2.500", "unit_price": "0.01",
         "amount": "0.03"},
        {"id": "lin_2", "product_id": None, "description": "Discount", "quantity": "1.000", "unit_price": "-5.00",
         "amount": "-5.00"},
    ],
    "total": "-4.97", "version": 4, "created_at": "2024-03-01T08:00:00.000000Z",
    "updated_at": "2024-03-31T23:30:00.123456Z", "deleted_at": None,
}


def _schema(stream: str) -> dict[str, Any]:
    schema = {"type": "object", "properties": {}}
    return {"type": "SCHEMA", "stream": stream, "schema": schema, "key_properties": ["id"]}


def _record(stream: str, record: dict[str, Any]) -> dict[str, Any]:
    return {"type": "RECORD", "stream": stream, "record": record, "time_extracted": "2024-04-01T00:00:00+00:00"}


def _records(out: list[dict[str, Any]], stream: str) -> list[dict[str, Any]]:
    return [m["record"] for m in out if m["type"] == "RECORD" and m["stream"] == stream]


def _validate(out: list[dict[str, Any]]) -> None:
    """Every record matches the SCHEMA the mapper declared for its stream, as the target will check."""
    schemas = {m["stream"]: m["schema"] for m in out if m["type"] == "SCHEMA"}
    for message in out:
        if message["type"] == "RECORD":
            jsonschema.validate(message["record"], schemas[message["stream"]])


def test_an_order_becomes_an_invoice_and_state_passes_through_in_place(run_mapper: RunMapper) -> None:
    state = {"bookmarks": {"orders": {"replication_key": "updated_at", "replication_key_value": "2024-03-31"}}}
    out, _ = run_mapper(
        "customcrm_to_invoiced",
        [_schema("orders"), _record("orders", ORDER), {"type": "STATE", "value": state}],
        timezone="Europe/Oslo",
    )
    assert [m["type"] for m in out] == ["SCHEMA", "RECORD", "STATE"]
    assert out[0]["stream"] == "invoices"
    assert out[0]["key_properties"] == []
    assert out[2]["value"] == state
    invoice = out[1]["record"]
    assert invoice == {
        "metadata": {"customcrm_id": "ord_1", "sales_rep_id": "usr_1"},
        "id": 77,
        "number": "SO-1001",
        "customer": {"customcrm_id": "cus_1"},
        "date": 1_711_879_200,  # 2024-03-31 12:00 in Oslo (summer time since that night)
        "due_date": 1_714_471_200,
        "currency": "nok",
        "draft": False,
        "voided": False,
        "purchase_order": None,
        "notes": "Ærlig talt – ünïcødé",
        "items": [
            {"metadata": {"customcrm_id": "lin_1"}, "catalog_item": {"customcrm_id": "prd_1"}, "name": "Widget",
             "quantity": Decimal("2.500"), "unit_cost": Decimal("0.01")},
            {"metadata": {"customcrm_id": "lin_2"}, "catalog_item": None, "name": "Discount",
             "quantity": Decimal("1.000"), "unit_cost": Decimal("-5.00")},
        ],
        "_source": {"system": "customcrm", "stream": "orders", "id": "ord_1",
                    "updated_at": "2024-03-31T23:30:00.123456Z", "deleted_at": None},
    }
    _validate(out)


def test_a_bad_record_is_rejected_in_its_stream_and_the_stream_goes_on(run_mapper: RunMapper) -> None:
    bad = {**ORDER, "id": "ord_2", "order_date": "2024-02-30",
           "lines": [{**ORDER["lines"][0], "quantity": "lots"}]}
    messages = [_schema("orders"), _record("orders", bad), _record("orders", ORDER)]
    out, log = run_mapper("customcrm_to_invoiced", messages)
    rejected, fine = _records(out, "invoices")
    assert rejected["_reject"]["field"] == "order_date"
    assert "not a real calendar date" in rejected["_reject"]["reason"]
    assert rejected["_reject"]["fix"] == "correct order_date in Customcrm"
    assert [(p["field"], p["fix"]) for p in rejected["_reject"]["problems"]] == [
        ("order_date", "correct order_date in Customcrm"),
        ("lines[0].quantity", "correct lines[0].quantity in Customcrm"),
    ]
    # only identity survives, so a half-mapped record can never be written by mistake
    assert rejected == {"metadata": {"customcrm_id": "ord_2"}, "id": 77, "_reject": rejected["_reject"],
                        "_source": rejected["_source"]}
    assert "_reject" not in fine
    assert "Rejected orders record ord_2: order_date" in log
    assert "fix: correct order_date in Customcrm" in log
    _validate(out)


def test_values_outside_the_calendar_reject_the_record_and_the_stream_goes_on(run_mapper: RunMapper) -> None:
    """Out-of-range seconds once raised OverflowError, which ended the mapper and the whole pipeline."""
    invoice = {"id": 5, "customer": 1, "number": "INV-5", "currency": "usd", "status": "draft", "items": [],
               "date": 10**20, "updated_at": 10**20, "deleted_at": None}
    fine = {**invoice, "id": 6, "date": "2024-01-01T00:00:00Z", "updated_at": "2024-01-02T00:00:00Z"}
    odd = {**_record("invoices", invoice), "time_extracted": "yesterday"}
    out, _ = run_mapper("invoiced_to_customcrm", [_schema("invoices"), odd, _record("invoices", fine)])
    rejected, mapped = _records(out, "orders")
    assert rejected["_reject"]["field"] == "date"
    assert rejected["_source"]["updated_at"] == str(10**20)
    assert "_reject" not in mapped
    assert mapped["order_date"] == "2024-01-01"
    _validate(out)


def test_a_tombstone_keeps_its_identity_and_is_marked_deleted(run_mapper: RunMapper) -> None:
    gone = {**ORDER, "deleted_at": "2024-04-02T10:00:00.000000Z", "order_date": "not even a date"}
    out, _ = run_mapper("customcrm_to_invoiced", [_schema("orders"), _record("orders", gone)])
    (tombstone,) = _records(out, "invoices")
    assert tombstone == {
        "metadata": {"customcrm_id": "ord_1"}, "id": 77,
        "_source": {"system": "customcrm", "stream": "orders", "id": "ord_1",
                    "updated_at": "2024-03-31T23:30:00.123456Z", "deleted_at": "2024-04-02T10:00:00.000000Z"},
    }


def test_users_become_sales_reps_and_unknown_streams_are_not_passed_on(run_mapper: RunMapper) -> None:
    user = {"id": "usr_1", "name": "Åse Ødegård", "email": "ase@example.no", "phone": None, "title": "AE",
            "active": True, "external_ids": {}, "version": 1, "created_at": "2024-01-01T00:00:00.000000Z",
            "updated_at": "2024-01-02T00:00:00.000000Z", "deleted_at": None}
    out, log = run_mapper(
        "customcrm_to_invoiced",
        [_schema("users"), _record("users", user), _schema("audit_log"), _record("audit_log", {"id": 1})],
    )
    assert {m.get("stream") for m in out} == {"sales_reps"}
    (rep,) = _records(out, "sales_reps")
    assert rep["metadata"] == {"sales_rep_id": "usr_1", "sales_rep_name": "Åse Ødegård",
                               "sales_rep_email": "ase@example.no"}
    assert "'audit_log' has no flow" in log


def test_invoiced_records_map_to_customcrm_shapes(run_mapper: RunMapper) -> None:
    invoice = {
        "id": 46225, "object": "invoice", "customer": 15444, "number": "INV-0016", "currency": "usd",
        "draft": False, "closed": True, "paid": True, "voided": False, "status": "paid",
        "date": "2024-03-31T22:30:00Z", "due_date": None, "purchase_order": None, "notes": None,
        "items": [{"id": 8, "object": "line_item", "catalog_item": "delivery", "name": "Delivery", "description": None,
                   "quantity": 1, "unit_cost": 10.5, "amount": 10.5, "metadata": {}}],
        "metadata": {"customcrm_id": "ord_9", "sales_rep_email": "new.rep@example.com"},
        "created_at": "2024-03-01T00:00:00Z", "updated_at": "2024-04-01T00:00:00Z", "deleted_at": None,
    }
    person = {"id": 1, "type": "person", "name": "Pat", "updated_at": "2024-04-01T00:00:00Z"}
    item = {"id": "delivery", "name": "Delivery", "unit_cost": 10.5, "currency": "usd", "taxable": True,
            "archived": True, "metadata": {}, "updated_at": "2024-04-01T00:00:00Z", "deleted_at": None}
    out, log = run_mapper(
        "invoiced_to_customcrm",
        [_schema("invoices"), _record("invoices", invoice), _schema("customers"), _record("customers", person),
         _schema("items"), _record("items", item), _schema("contacts")],
        timezone="America/New_York",
    )
    (order,) = _records(out, "orders")
    assert order["id"] == "ord_9"
    assert order["external_ids"] == {"invoiced": "46225"}
    assert order["customer_id"] == {"invoiced_id": "15444"}
    assert order["owner_user_id"] == {"email": "new.rep@example.com"}
    assert order["order_date"] == "2024-03-31"  # 18:30 in New York
    assert order["currency"] == "USD"
    assert order["status"] == "paid"
    assert order["lines"] == [{"product_id": {"invoiced_id": "delivery"}, "description": "Delivery",
                               "quantity": "1.000", "unit_price": "10.50"}]
    assert _records(out, "customers") == []  # a person is out of scope, and says so in the log
    assert "customers out of scope: 1" in log
    (product,) = _records(out, "products")
    assert product["sku"] == "delivery"
    assert product["active"] is False
    assert product["unit_price"] == "10.50"
    _validate(out)


def test_a_bad_time_zone_is_a_clear_configuration_error(tmp_path: Any) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"direction": "customcrm_to_invoiced", "business_timezone": "Mars/Olympus"}))
    done = subprocess.run([str(MAPPER), "--config", str(config)], input="", capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode != 0
    assert "business_timezone 'Mars/Olympus' is not an IANA time zone" in done.stderr


def test_a_missing_direction_is_a_clear_configuration_error(tmp_path: Any) -> None:
    config = tmp_path / "config.json"
    config.write_text("{}")
    done = subprocess.run([str(MAPPER), "--config", str(config)], input="", capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode != 0
    assert "direction" in done.stderr


def test_input_from_the_system_this_direction_writes_to_stops_the_mapper(run_mapper: RunMapper) -> None:
    invoiced_customer = {"id": 15, "object": "customer", "name": "Acme", "type": "company", "updated_at": 1_700_000_000}
    schema = {"type": "SCHEMA", "stream": "customers", "key_properties": ["id"],
              "schema": {"type": "object", "properties": {"id": {}, "object": {}, "name": {}}}}
    out, log = run_mapper("customcrm_to_invoiced", [schema, _record("customers", invoiced_customer)], check=False)
    assert [m for m in out if m["type"] == "RECORD"] == []
    assert "wired the wrong way round" in log
    assert "meltano run tap-customcrm to-invoiced target-invoiced" in log

    customcrm_order = {**ORDER}
    out, log = run_mapper("invoiced_to_customcrm", [_record("invoices", customcrm_order)], check=False)
    assert [m for m in out if m["type"] == "RECORD"] == []
    assert "meltano run tap-invoiced to-customcrm target-customcrm" in log
