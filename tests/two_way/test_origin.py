"""Who creates what, through `meltano run sync`: customers and items made in Invoiced appear in Customcrm; an
invoice typed in Invoiced makes no order unless create_orders_from_invoiced is on; and records that either system
refuses land in the rejects file while the rest syncs."""

from __future__ import annotations

import pytest

from tests.two_way.conftest import TwoWay

pytestmark = pytest.mark.usefixtures("converged")


def test_a_customer_and_an_item_made_in_invoiced_appear_in_customcrm_linked_both_ways(systems: TwoWay) -> None:
    company = systems.inv("POST", "/customers", json={"name": "Fjord Freight AS", "type": "company",
                                                       "email": "billing@fjordfreight.example", "country": "NO"})
    item = systems.inv("POST", "/items", json={"id": "harbour-fee", "name": "Harbour fee", "unit_cost": 450,
                                               "currency": "nok"})

    first = systems.sync()
    assert first.count("target-customcrm", "customers", "created") == 1
    assert first.count("target-customcrm", "products", "created") == 1
    customer = next(c for c in systems.crm_customers() if c["external_ids"].get("invoiced") == str(company["id"]))
    assert (customer["name"], customer["email"]) == ("Fjord Freight AS", "billing@fjordfreight.example")
    product = next(p for p in systems.crm_all("products") if p["external_ids"].get("invoiced") == "harbour-fee")
    assert (product["sku"], product["unit_price"], product["currency"]) == ("harbour-fee", "450.00", "NOK")

    # The next sync gives Invoiced its cross-references; then nothing more.
    systems.sync()
    assert systems.inv("GET", f"/customers/{company['id']}")["metadata"]["customcrm_id"] == customer["id"]
    assert systems.inv("GET", f"/items/{item['id']}")["metadata"]["customcrm_id"] == product["id"]
    assert systems.sync().writes == []
    systems.assert_no_duplicates()


def test_with_create_from_invoiced_off_a_new_invoiced_customer_is_skipped(systems: TwoWay) -> None:
    company = systems.inv("POST", "/customers", json={"name": "Not For The CRM Ltd", "type": "company"})
    run = systems.run(env={"TARGET_CUSTOMCRM_CREATE_FROM_INVOICED": "false"})
    assert run.count("target-customcrm", "customers", "skipped") == 1
    assert all(c["external_ids"].get("invoiced") != str(company["id"]) for c in systems.crm_customers())
    # A skip is on purpose, not a retry: switched on again (the default), a full refresh brings the skipped in.
    assert systems.sync().crm_writes == []
    created = systems.run(full_refresh=True)
    assert created.count("target-customcrm", "customers", "created") == 1
    assert any(c["external_ids"].get("invoiced") == str(company["id"]) for c in systems.crm_customers())
    systems.sync()


def test_an_invoice_typed_in_invoiced_makes_an_order_only_when_configured(systems: TwoWay) -> None:
    customer = next(c for c in systems.crm_customers() if c["status"] == "active")
    invoice = systems.inv("POST", "/invoices", json={
        "customer": int(customer["external_ids"]["invoiced"]), "number": "INV-TYPED-1", "currency": "nok",
        "items": [{"name": "Consulting", "quantity": 2, "unit_cost": 1200}]})

    skipped = systems.sync()
    listed = skipped.summaries["target-customcrm"]["skipped"]["orders"]
    assert [s["source_id"] for s in listed] == [str(invoice["id"])]
    assert "create_orders_from_invoiced" in listed[0]["reason"]
    assert all(o["order_number"] != "INV-TYPED-1" for o in systems.crm_all("orders"))

    # Touched again in Invoiced (so tap-invoiced sends it), and now with orders from Invoiced switched on.
    systems.inv("PATCH", f"/invoices/{invoice['id']}", json={"purchase_order": "PO-TYPED"})
    created = systems.run(env={"TARGET_CUSTOMCRM_CREATE_ORDERS_FROM_INVOICED": "true"})
    assert created.count("target-customcrm", "orders", "created") == 1
    order = next(o for o in systems.crm_all("orders") if o["order_number"] == "INV-TYPED-1")
    assert (order["customer_id"], order["purchase_order"]) == (customer["id"], "PO-TYPED")
    assert order["external_ids"]["invoiced"] == str(invoice["id"])
    systems.sync()
    assert systems.inv("GET", f"/invoices/{invoice['id']}")["metadata"]["customcrm_id"] == order["id"]
    assert systems.sync().writes == []


def test_records_either_system_refuses_are_rejects_and_the_rest_syncs(systems: TwoWay) -> None:
    # Invoiced refuses a new invoice for an inactive customer: the sync knows the customer is inactive, and sets the
    # order aside without asking.
    inactive = next(c for c in systems.crm_customers() if c["status"] == "inactive")
    active = next(c for c in systems.crm_customers() if c["status"] == "active")
    product = next(p for p in systems.crm_all("products") if p["active"])
    order = {"owner_user_id": systems.crm_all("users")[0]["id"], "order_date": "2026-11-30", "currency": "NOK",
             "status": "confirmed",
             "lines": [{"product_id": product["id"], "description": "Widget", "quantity": "1", "unit_price": "10.00"}]}
    refused = systems.crm("POST", "/orders", json={**order, "order_number": "SO-REFUSED-1",
                                                   "customer_id": inactive["id"]})
    accepted = systems.crm("POST", "/orders", json={**order, "order_number": "SO-ACCEPTED-1",
                                                    "customer_id": active["id"]})
    # Customcrm refuses a customer whose country is no ISO country, which Invoiced took as two letters.
    odd = systems.inv("POST", "/customers", json={"name": "Nowhere Trading", "type": "company", "country": "ZZ"})
    fine = systems.inv("POST", "/customers", json={"name": "Somewhere Trading", "type": "company", "country": "SE"})

    systems.sync()

    rejects = systems.rejects()
    invoiced_refusal = next(r for r in rejects if r["source_id"] == refused["id"])
    assert "inactive" in invoiced_refusal["reason"]
    assert "nothing was sent" in invoiced_refusal["reason"]
    assert invoiced_refusal.get("answer") is None
    crm_refusal = next(r for r in rejects if r["source_id"] == str(odd["id"]))
    assert "country" in crm_refusal["reason"]
    assert systems.linked("/invoices", accepted["id"])
    assert any(c["external_ids"].get("invoiced") == str(fine["id"]) for c in systems.crm_customers())
    assert all(c["external_ids"].get("invoiced") != str(odd["id"]) for c in systems.crm_customers())
