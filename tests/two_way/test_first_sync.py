"""The first `meltano run sync` over a seeded Customcrm and a seeded Invoiced that overlap in part, and the quiet
that follows: once converged, a sync with no edits makes no write request in either system."""

from __future__ import annotations

import time

from customcrm_invoiced_mapper.values import item_id_from_sku

from tests.two_way.conftest import TwoWay


def _assert_linked_pairs(systems: TwoWay) -> None:
    """Every record exists once on each side, and each pair is linked in both systems and in the store."""
    customers = {c["id"]: c for c in systems.crm_customers()}
    companies = {str(c["id"]): c for c in systems.companies()}
    assert len(customers) == len(companies)
    pairs = {(c["id"], c["external_ids"]["invoiced"]) for c in customers.values()}
    assert pairs == {(c["metadata"]["customcrm_id"], invoiced_id) for invoiced_id, c in companies.items()}
    assert pairs <= systems.store_links("customer")

    products = {p["id"]: p for p in systems.crm_all("products")}
    items = {i["id"]: i for i in systems.inv_all("/items")}
    linked_products = {(p["id"], p["external_ids"]["invoiced"]) for p in products.values() if p["active"]}
    assert linked_products == {(i["metadata"]["customcrm_id"], item_id) for item_id, i in items.items()}
    assert linked_products <= systems.store_links("product")

    invoices = systems.inv_all("/invoices")
    synced = {(i["metadata"]["customcrm_id"], str(i["id"])) for i in invoices
              if (i.get("metadata") or {}).get("customcrm_id")}
    orders = systems.crm_all("orders")
    assert synced == {(o["id"], o["external_ids"]["invoiced"]) for o in orders
                      if (o.get("external_ids") or {}).get("invoiced")}
    assert synced <= systems.store_links("order")
    systems.assert_no_duplicates()


def test_the_first_sync_links_the_overlap_creates_the_rest_both_ways_and_skips_invoiced_invoices(
        systems: TwoWay) -> None:
    crm_customers = systems.crm_customers()
    crm_products = [p for p in systems.crm_all("products") if p["active"]]
    own_companies = systems.companies()
    own_items = systems.inv_all("/items")
    own_invoices = systems.inv_all("/invoices")
    # Before the sync existed, someone typed two of the CRM's companies and one of its products into Invoiced.
    by_org, by_email = crm_customers[0], crm_customers[1]
    systems.inv("POST", "/customers", json={"name": by_org["name"], "metadata": {"org_number": by_org["org_number"]}})
    systems.inv("POST", "/customers", json={"name": by_email["name"], "email": by_email["email"].upper()})
    product = crm_products[0]
    systems.inv("POST", "/items", json={"id": item_id_from_sku(product["sku"]), "name": product["name"],
                                        "unit_cost": float(product["unit_price"]), "currency": product["currency"]})
    # Then the two were checked in the CRM. Invoiced keeps whole seconds: typed within the second of the CRM's last
    # edit, the CRM won the first link's clashes; a second later (a busy machine), Invoiced did, and an order of the
    # inactive customer then waited for the second sync. The CRM's edit a second after the typing fixes the order.
    time.sleep(1.1)
    for checked in (by_org, by_email):
        systems.crm("PATCH", f"/customers/{checked['id']}", json={"notes": "Checked after it was typed into Invoiced"})

    first = systems.sync()

    assert first.count("target-invoiced", "customers", "created") == len(crm_customers) - 2
    assert first.count("target-invoiced", "customers", "updated") == 2  # the typed two, linked
    assert first.count("target-invoiced", "items", "created") == len(crm_products) - 1
    assert first.count("target-customcrm", "customers", "created") == len(own_companies)
    assert first.count("target-customcrm", "products", "created") == len(own_items)
    # Invoiced's own invoices make no order (create_orders_from_invoiced is off), and the summary says which.
    skipped = first.summaries["target-customcrm"]["skipped"]["orders"]
    assert {s["source_id"] for s in skipped} == {str(i["id"]) for i in own_invoices}
    assert all("create_orders_from_invoiced" in s["reason"] for s in skipped)
    assert len(systems.crm_all("customers")) == len(crm_customers) + len(own_companies)

    # At most one more sync writes, and only the cross-references Invoiced lacks for what Customcrm created.
    second = systems.sync()
    unexpected = [write for write in second.writes if write[0] != "PATCH"]
    assert unexpected == [], (unexpected, second.crm_writes, {t: s["total"] for t, s in second.summaries.items()})
    assert second.crm_writes == []
    for entry in (e for e in systems.audit("target-invoiced") if e["run_id"] ==
                  second.summaries["target-invoiced"]["run_id"]):
        assert set(entry["fields"]) == {"metadata.customcrm_id"}, entry
    _assert_linked_pairs(systems)


def test_a_converged_sync_makes_no_write_in_either_system(systems: TwoWay) -> None:
    quiet = systems.sync()
    assert quiet.writes == []
    assert quiet.total("created") == quiet.total("updated") == quiet.total("deleted") == 0
    again = systems.sync()
    assert again.writes == []
    _assert_linked_pairs(systems)
    # The sync selects only the streams its flows use: no contact is read (one request per customer).
    assert "/contacts" not in systems.invoiced.log()
