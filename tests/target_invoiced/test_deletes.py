"""Deletes toward Invoiced (decisions.md): a draft invoice is deleted, an issued one voided, a customer set
inactive, an item archived; only linked records are touched, and max_deletes caps a run."""

from __future__ import annotations

from typing import Any

import pytest

from tests.target_invoiced.conftest import Systems


@pytest.fixture(scope="module", autouse=True)
def first_sync(systems: Systems) -> None:
    systems.sync()


def _order_with_invoice(systems: Systems, *, draft: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    for order in systems.crm_all("orders"):
        invoices = systems.linked("/invoices", order["id"])
        if invoices and invoices[0]["draft"] is draft and invoices[0]["status"] not in ("paid", "voided"):
            return order, invoices[0]
    raise AssertionError("the seed has no such order")


def test_a_deleted_order_deletes_a_draft_invoice_and_voids_an_issued_one(systems: Systems) -> None:
    draft_order, draft = _order_with_invoice(systems, draft=True)
    issued_order, issued = _order_with_invoice(systems, draft=False)
    systems.crm("DELETE", f"/orders/{draft_order['id']}")
    systems.crm("DELETE", f"/orders/{issued_order['id']}")

    run = systems.sync()

    assert systems.linked("/invoices", draft_order["id"]) == []
    assert systems.inv("GET", f"/invoices/{issued['id']}")["status"] == "voided"
    assert sorted(run.writes) == sorted([("DELETE", f"/invoices/{draft['id']}"),
                                         ("POST", f"/invoices/{issued['id']}/void")])
    assert run.count("invoices", "deleted") == 2
    assert systems.sync().writes == []


def test_a_cancelled_order_voids_its_invoice(systems: Systems) -> None:
    order, invoice = _order_with_invoice(systems, draft=False)
    systems.crm("PATCH", f"/orders/{order['id']}", json={"status": "cancelled"})
    run = systems.sync()
    assert systems.inv("GET", f"/invoices/{invoice['id']}")["status"] == "voided"
    assert run.writes == [("POST", f"/invoices/{invoice['id']}/void")]


def test_a_deleted_customer_is_set_inactive_and_a_deleted_product_archived(systems: Systems) -> None:
    customer = systems.crm("POST", "/customers", json={"name": "Short Lived AS", "org_number": "NO-SL-1",
                                                       "currency": "NOK"})
    product = systems.crm("POST", "/products", json={"sku": "SHORT-1", "name": "Short lived", "unit_price": "5.00",
                                                     "currency": "NOK"})
    systems.sync()
    (invoiced_customer,) = systems.linked("/customers", customer["id"])
    (item,) = systems.linked("/items", product["id"])
    systems.crm("DELETE", f"/customers/{customer['id']}")
    systems.crm("DELETE", f"/products/{product['id']}")

    run = systems.sync()

    assert systems.inv("GET", f"/customers/{invoiced_customer['id']}")["active"] is False
    assert systems.linked("/items", product["id"]) == []
    assert [a["id"] for a in systems.inv_all("/items", archived=1, **{"filter[id]": item["id"]})] == [item["id"]]
    assert run.count("customers", "deleted") == 1
    assert run.count("items", "deleted") == 1


def test_a_record_deleted_before_it_was_ever_synced_touches_nothing(systems: Systems) -> None:
    customer = systems.crm("POST", "/customers", json={"name": "Never Synced AS", "org_number": "NO-NS-1",
                                                       "currency": "NOK"})
    systems.crm("DELETE", f"/customers/{customer['id']}")
    run = systems.sync()
    assert run.writes == []


def test_max_deletes_holds_the_rest_back_and_the_next_run_carries_them_out(systems: Systems) -> None:
    products = [systems.crm("POST", "/products", json={"sku": f"CAP-{n}", "name": f"Capped {n}",
                                                       "unit_price": "1.00", "currency": "NOK"}) for n in range(3)]
    systems.sync()
    for product in products:
        systems.crm("DELETE", f"/products/{product['id']}")

    capped = systems.sync(max_deletes=1)

    assert capped.count("items", "deleted") == 1
    assert capped.count("items", "skipped") == 2
    assert "max_deletes=1" in capped.log
    assert sum(1 for p in products if systems.linked("/items", p["id"])) == 2
    held = [r for r in systems.rejects() if "max_deletes" in r["reason"]]
    assert len(held) == 2

    after = systems.sync()  # the held deletes were set aside; this run's cap lets them through
    assert after.count("items", "deleted") == 2
    assert all(systems.linked("/items", p["id"]) == [] for p in products)


def test_a_cancelled_order_with_a_draft_invoice_deletes_the_draft(systems: Systems) -> None:
    order, draft = _order_with_invoice(systems, draft=True)
    systems.crm("PATCH", f"/orders/{order['id']}", json={"status": "cancelled"})
    run = systems.sync()
    assert systems.linked("/invoices", order["id"]) == []
    assert run.writes == [("DELETE", f"/invoices/{draft['id']}")]


def test_held_deletes_stay_held_until_a_run_has_room_for_all_of_them(systems: Systems) -> None:
    products = [systems.crm("POST", "/products", json={"sku": f"HOLD-{n}", "name": f"Held {n}",
                                                       "unit_price": "1.00", "currency": "NOK"}) for n in range(3)]
    systems.sync()
    for product in products:
        systems.crm("DELETE", f"/products/{product['id']}")

    systems.sync(max_deletes=1)
    still = systems.sync(max_deletes=1)  # a cap is a stop, not a pace: nothing more goes

    assert still.writes == []
    assert "still held" in still.log
    assert sum(1 for p in products if systems.linked("/items", p["id"])) == 2
    systems.sync(max_deletes=2)
    assert all(systems.linked("/items", p["id"]) == [] for p in products)


def test_an_item_archived_in_invoiced_is_not_revived_by_an_edit_in_customcrm(systems: Systems) -> None:
    product = systems.crm("POST", "/products", json={"sku": "GONE-1", "name": "Gone", "unit_price": "3.00",
                                                     "currency": "NOK"})
    systems.sync()
    (item,) = systems.linked("/items", product["id"])
    systems.inv("DELETE", f"/items/{item['id']}")  # Invoiced's delete archives
    systems.crm("PATCH", f"/products/{product['id']}", json={"name": "Gone, renamed", "unit_price": "4.00"})

    run = systems.sync()

    assert run.writes == []
    assert systems.linked("/items", product["id"]) == []
    assert run.count("items", "skipped") == 1
