"""The first sync of a seeded Customcrm into an Invoiced that already holds some of the same companies."""

from __future__ import annotations

from collections import Counter

from tests.target_invoiced.conftest import Systems


def test_first_sync_links_what_exists_creates_the_rest_and_duplicates_nothing(systems: Systems) -> None:
    customers = systems.crm_all("customers")
    by_org, by_email, ambiguous = customers[0], customers[1], customers[2]
    # Someone typed two of the companies into Invoiced before the sync existed: one under its org number
    # (another name), one under its e-mail in upper case; a third company exists twice under its e-mail.
    matched_by_org = systems.inv("POST", "/customers", json={
        "name": "Typed by hand", "metadata": {"org_number": by_org["org_number"], "segment": "enterprise"}})
    matched_by_email = systems.inv("POST", "/customers", json={
        "name": by_email["name"], "email": by_email["email"].upper()})
    twins = [systems.inv("POST", "/customers", json={"name": f"Twin {n}", "email": ambiguous["email"]})
             for n in (1, 2)]
    # Then the name is edited in Customcrm: its edit is the later one, so it wins the first link's clash.
    by_org = systems.crm("PATCH", f"/customers/{by_org['id']}", json={"name": f"{by_org['name']} Group"})

    run = systems.sync()

    invoiced = systems.inv_all("/customers")
    links = Counter((c.get("metadata") or {}).get("customcrm_id") for c in invoiced)
    for customer in customers:
        if customer["id"] != ambiguous["id"]:
            assert links[customer["id"]] == 1, customer["id"]
    assert links[ambiguous["id"]] == 0
    assert len(invoiced) == len(customers) - 1 + 2 + 0  # the hand-typed two were linked, not doubled
    org_linked = systems.inv("GET", f"/customers/{matched_by_org['id']}")
    assert org_linked["metadata"]["customcrm_id"] == by_org["id"]
    assert org_linked["metadata"]["segment"] == "enterprise"  # another tool's key survives
    assert org_linked["name"] == by_org["name"]
    assert systems.inv("GET", f"/customers/{matched_by_email['id']}")["metadata"]["customcrm_id"] == by_email["id"]
    assert run.count("customers", "created") == len(customers) - 3
    assert run.count("customers", "updated") == 2
    # The quarantined one, and the two first links whose fields differed (Invoiced also defaults country to US).
    assert run.count("customers", "conflicts") == 3
    clash = next(e for e in systems.audit() if e.get("customcrm_id") == by_org["id"])["conflicts"]
    assert {"field": "name", "source": by_org["name"], "destination": "Typed by hand", "winner": "source"}.items() \
        <= next(c for c in clash if c["field"] == "name").items()

    quarantined = [r for r in systems.rejects() if r["source_id"] == ambiguous["id"]]
    assert len(quarantined) == 1
    assert all(str(t["id"]) in quarantined[0]["reason"] for t in twins)

    # Every product, order and user made it across too, once.
    products, orders = systems.crm_all("products"), systems.crm_all("orders")
    items = systems.inv_all("/items")
    assert sorted(i["metadata"]["customcrm_id"] for i in items) == sorted(p["id"] for p in products if p["active"])
    invoices = systems.inv_all("/invoices")
    invoiced_orders = Counter(i["metadata"]["customcrm_id"] for i in invoices)
    assert max(invoiced_orders.values()) == 1
    inactive = {c["id"] for c in customers if c["status"] == "inactive"}
    expected = {o["id"] for o in orders
                if o["status"] != "cancelled" and o["customer_id"] not in (ambiguous["id"], *inactive)}
    assert set(invoiced_orders) == expected
    # Invoiced takes no new invoice for an inactive customer: each such order is set aside saying so, without a
    # request (the sync has just written the customer as inactive), so every POST /invoices created an invoice.
    refused = {r["source_id"]: r for r in systems.rejects() if r["stream"] == "invoices"}
    for order in orders:
        if order["customer_id"] in inactive - {ambiguous["id"]} and order["status"] != "cancelled":
            assert "inactive" in refused[order["id"]]["reason"]
            assert "nothing was sent" in refused[order["id"]]["reason"]
    assert run.writes.count(("POST", "/invoices")) == len(invoices)
    for invoice in invoices:
        rep = invoice["metadata"]
        assert rep["sales_rep_id"].startswith("usr_")
        assert rep["sales_rep_email"]
        assert rep["sales_rep_name"]
    waiting = {o["id"] for o in orders if o["status"] != "cancelled" and o["customer_id"] == ambiguous["id"]}
    assert run.count("invoices", "waiting") == len(waiting)


def test_a_rerun_with_no_edits_writes_nothing(systems: Systems) -> None:
    incremental = systems.sync()
    assert incremental.writes == []
    full = systems.sync(full=True)  # every record again, from the start
    assert full.writes == []
    assert full.count("customers", "unchanged") >= len(systems.crm_all("customers")) - 1
    assert full.count("customers", "created") == 0
