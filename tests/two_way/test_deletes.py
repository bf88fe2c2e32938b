"""Each delete rule, both ways, through `meltano run sync`; no delete comes back as an edit or a re-create, and the
sync after the one that carried it writes nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.two_way.conftest import TwoWay

pytestmark = pytest.mark.usefixtures("converged")


def _quiet(systems: TwoWay) -> None:
    again = systems.sync()
    assert again.writes == [], again.writes
    systems.assert_no_duplicates()


def _linked_orders(systems: TwoWay) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    pairs = []
    for order in systems.crm_all("orders"):
        invoiced_id = (order.get("external_ids") or {}).get("invoiced")
        if invoiced_id and order["status"] != "cancelled":
            pairs.append((order, systems.inv("GET", f"/invoices/{invoiced_id}")))
    return pairs


def test_orders_deleted_in_customcrm_delete_a_draft_and_void_an_issued_invoice(systems: TwoWay) -> None:
    # (A paid invoice is left alone and reported: tests/target_invoiced/test_paid.py, from a seeded paid invoice.)
    pairs = _linked_orders(systems)
    draft = next((o, i) for o, i in pairs if i["draft"])
    issued = next((o, i) for o, i in pairs if not i["draft"] and i["status"] not in ("paid", "voided"))
    for order, _ in (draft, issued):
        systems.crm("DELETE", f"/orders/{order['id']}")

    run = systems.sync()

    assert draft[1]["id"] not in {i["id"] for i in systems.inv_all("/invoices")}
    assert systems.inv("GET", f"/invoices/{issued[1]['id']}")["status"] == "voided"
    assert run.count("target-invoiced", "invoices", "deleted") == 2
    _quiet(systems)


def test_a_customer_or_product_deleted_in_customcrm_is_deactivated_or_archived_in_invoiced(systems: TwoWay) -> None:
    customer = next(c for c in systems.crm_customers() if c["status"] == "active")
    product = next(p for p in systems.crm_all("products") if p["active"])
    systems.crm("DELETE", f"/customers/{customer['id']}")
    systems.crm("DELETE", f"/products/{product['id']}")

    systems.sync()

    assert systems.inv("GET", f"/customers/{customer['external_ids']['invoiced']}")["active"] is False
    archived = systems.inv_all("/items", archived="1")
    assert product["external_ids"]["invoiced"] in {i["id"] for i in archived}
    _quiet(systems)


def test_an_invoice_voided_or_deleted_in_invoiced_cancels_the_order(systems: TwoWay) -> None:
    pairs = _linked_orders(systems)
    voided = next((o, i) for o, i in pairs if not i["draft"] and i["status"] not in ("paid", "voided"))
    deleted = next((o, i) for o, i in pairs if i["draft"])
    systems.inv("POST", f"/invoices/{voided[1]['id']}/void")
    systems.inv("DELETE", f"/invoices/{deleted[1]['id']}")

    systems.sync()

    assert systems.crm("GET", f"/orders/{voided[0]['id']}")["status"] == "cancelled"
    assert systems.crm("GET", f"/orders/{deleted[0]['id']}")["status"] == "cancelled"
    _quiet(systems)


def test_a_customer_or_item_deleted_in_invoiced_is_soft_deleted_in_customcrm(systems: TwoWay) -> None:
    with_invoices = {i["customer"] for i in systems.inv_all("/invoices")}
    company = next(c for c in systems.companies() if c["id"] not in with_invoices and c["active"])
    crm_id = company["metadata"]["customcrm_id"]
    item = next(i for i in systems.inv_all("/items") if i["metadata"].get("customcrm_id"))
    systems.inv("DELETE", f"/customers/{company['id']}")
    systems.inv("DELETE", f"/items/{item['id']}")

    systems.sync()

    gone = {c["id"]: c for c in systems.crm_all("customers", include_deleted="true")}
    assert gone[crm_id]["deleted_at"]
    products = {p["id"]: p for p in systems.crm_all("products", include_deleted="true")}
    assert products[item["metadata"]["customcrm_id"]]["deleted_at"]
    _quiet(systems)


def test_a_price_change_archives_and_recreates_the_item_and_deletes_nothing(systems: TwoWay) -> None:
    product = next(p for p in systems.crm_all("products") if p["active"])
    price = str(Decimal(product["unit_price"]) + Decimal("10.00"))
    systems.crm("PATCH", f"/products/{product['id']}", json={"unit_price": price})

    systems.sync()

    item_id = product["external_ids"]["invoiced"]
    live = systems.inv("GET", f"/items/{item_id}")
    assert Decimal(str(live["unit_cost"])) == Decimal(price)
    assert not live.get("archived")
    after = systems.crm("GET", f"/products/{product['id']}")
    assert after["active"] is True
    assert after["deleted_at"] is None
    assert Decimal(after["unit_price"]) == Decimal(price)
    _quiet(systems)
