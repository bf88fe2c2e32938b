"""Edits after the first sync: merged field by field against the merge base, on real sandboxes."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.target_invoiced.conftest import Systems


@pytest.fixture(scope="module", autouse=True)
def first_sync(systems: Systems) -> None:
    systems.sync()


def _invoiced_customer(systems: Systems, customcrm_id: str) -> dict[str, Any]:
    (found,) = systems.linked("/customers", customcrm_id)
    return found


def _active_customer(systems: Systems, skip: int = 0) -> dict[str, Any]:
    return [c for c in systems.crm_all("customers") if c["status"] == "active"][skip]


def test_an_edit_updates_only_its_field_and_keeps_what_others_changed(systems: Systems) -> None:
    customer = _active_customer(systems)
    invoiced = _invoiced_customer(systems, customer["id"])
    systems.inv("PATCH", f"/customers/{invoiced['id']}", json={
        "notes": "Call before delivery", "metadata": {**invoiced["metadata"], "other_tool": "keep me"}})
    systems.crm("PATCH", f"/customers/{customer['id']}", json={"phone": "+47 22 00 00 01"})

    run = systems.sync()

    after = systems.inv("GET", f"/customers/{invoiced['id']}")
    assert after["phone"] == "+47 22 00 00 01"
    assert after["notes"] == "Call before delivery"  # edited in Invoiced meanwhile: it flows the other way
    assert after["metadata"]["other_tool"] == "keep me"
    assert after["metadata"]["customcrm_id"] == customer["id"]
    assert run.writes == [("PATCH", f"/customers/{invoiced['id']}")]
    (entry,) = [e for e in systems.audit() if e["run_id"] == run.summary["run_id"]]
    assert entry["fields"] == {"phone": {"old": customer["phone"], "new": "+47 22 00 00 01"}}


@pytest.mark.parametrize("later", ["invoiced", "customcrm"])
def test_the_same_field_changed_on_both_sides_goes_to_the_later_edit(systems: Systems, later: str) -> None:
    customer = _active_customer(systems, skip=1 if later == "invoiced" else 2)
    invoiced = _invoiced_customer(systems, customer["id"])
    edits = {
        "customcrm": lambda: systems.crm("PATCH", f"/customers/{customer['id']}", json={"name": "Name from CRM"}),
        "invoiced": lambda: systems.inv("PATCH", f"/customers/{invoiced['id']}", json={"name": "Name from AR"}),
    }
    earlier = "customcrm" if later == "invoiced" else "invoiced"
    edits[earlier]()
    time.sleep(1.1)  # Invoiced stamps whole seconds
    edits[later]()

    run = systems.sync()

    winner = {"customcrm": "Name from CRM", "invoiced": "Name from AR"}
    assert systems.inv("GET", f"/customers/{invoiced['id']}")["name"] == winner[later]
    assert run.count("customers", "conflicts") == 1
    entry = next(e for e in systems.audit() if e["run_id"] == run.summary["run_id"] and e.get("conflicts"))
    (clash,) = entry["conflicts"]
    assert clash["field"] == "name"
    assert (clash["source"], clash["destination"]) == ("Name from CRM", "Name from AR")
    assert clash["winner"] == ("source" if later == "customcrm" else "destination")
    assert run.writes == ([("PATCH", f"/customers/{invoiced['id']}")] if later == "customcrm" else [])


def test_a_price_change_archives_the_item_and_creates_it_again_with_the_same_id(systems: Systems) -> None:
    product = next(p for p in systems.crm_all("products") if p["active"])
    (item,) = systems.linked("/items", product["id"])
    systems.crm("PATCH", f"/products/{product['id']}", json={"unit_price": "999.50", "name": "Renamed too"})

    run = systems.sync()

    (after,) = systems.linked("/items", product["id"])
    assert after["id"] == item["id"]
    assert str(after["unit_cost"]) in ("999.5", "999.50")
    assert after["name"] == "Renamed too"
    archived = systems.inv_all("/items", archived=1, **{"filter[id]": item["id"]})
    assert [str(a["unit_cost"]) for a in archived] == [str(item["unit_cost"])]
    assert run.writes == [("DELETE", f"/items/{item['id']}"), ("POST", "/items")]


def test_a_closed_invoice_is_not_edited_and_the_conflict_says_why(systems: Systems) -> None:
    order = next(o for o in systems.crm_all("orders") if systems.linked("/invoices", o["id"])
                 and systems.linked("/invoices", o["id"])[0]["status"] not in ("draft", "voided"))
    (invoice,) = systems.linked("/invoices", order["id"])
    systems.inv("PATCH", f"/invoices/{invoice['id']}", json={"closed": True})
    systems.crm("PATCH", f"/orders/{order['id']}", json={"notes": "Changed after closing"})

    run = systems.sync()

    assert run.writes == []
    assert run.count("invoices", "conflicts") == 1
    (reject,) = [r for r in systems.rejects() if r["source_id"] == order["id"]]
    assert "closed" in reject["reason"]
    assert invoice["number"] in reject["reason"]
    assert systems.inv("GET", f"/invoices/{invoice['id']}").get("notes") != "Changed after closing"
    # Quiet afterwards: the same refused record is not sent again.
    assert systems.sync(full=True).writes == []


def test_a_reps_new_email_reaches_every_invoice_of_theirs(systems: Systems) -> None:
    orders = systems.crm_all("orders")
    owner = max({o["owner_user_id"] for o in orders}, key=lambda u: sum(o["owner_user_id"] == u for o in orders))
    systems.crm("PATCH", f"/users/{owner}", json={"email": "renamed.rep@sales.example.com", "name": "Rep Renamed"})

    run = systems.sync()

    theirs = systems.inv_all("/invoices", **{"metadata[sales_rep_id]": owner})
    assert theirs
    editable = [i for i in theirs if i["status"] not in ("paid", "voided") and not i["closed"]]
    assert all(i["metadata"]["sales_rep_email"] == "renamed.rep@sales.example.com" for i in editable)
    assert all(i["metadata"]["sales_rep_name"] == "Rep Renamed" for i in editable)
    assert len(run.writes) == len(list(editable))
    assert systems.sync().writes == []


def test_an_edited_order_line_sends_the_lines_whole_and_keeps_their_invoiced_ids(systems: Systems) -> None:
    order = next(o for o in systems.crm_all("orders") if len(o["lines"]) >= 2 and systems.linked("/invoices", o["id"])
                 and systems.linked("/invoices", o["id"])[0]["status"] not in ("paid", "voided")
                 and not systems.linked("/invoices", o["id"])[0]["closed"])
    (invoice,) = systems.linked("/invoices", order["id"])
    lines = [{k: line[k] for k in ("id", "product_id", "description", "quantity", "unit_price")}
             for line in order["lines"]]
    lines[0]["quantity"] = "7.000"
    lines.append({"product_id": None, "description": "Rush delivery", "quantity": "1", "unit_price": "25.00"})
    systems.crm("PATCH", f"/orders/{order['id']}", json={"lines": lines})

    run = systems.sync()

    assert run.writes == [("PATCH", f"/invoices/{invoice['id']}")]
    after = systems.inv("GET", f"/invoices/{invoice['id']}")
    assert [str(i["quantity"]) for i in after["items"]][:1] in (["7"], ["7.0"], ["7.000"])
    assert after["items"][-1]["name"] == "Rush delivery"
    kept = {i["metadata"]["customcrm_id"]: i["id"] for i in invoice["items"]}
    for item in after["items"][: len(kept)]:
        assert kept[item["metadata"]["customcrm_id"]] == item["id"]  # the same Invoiced line, not a new one
    assert systems.sync().writes == []


def test_price_changes_back_and_forth_keep_the_item_live_and_keep_invoiceds_own_edits(systems: Systems) -> None:
    product = [p for p in systems.crm_all("products") if p["active"]][1]
    (item,) = systems.linked("/items", product["id"])
    systems.inv("PATCH", f"/items/{item['id']}", json={
        "description": "Edited in Invoiced", "metadata": {**item["metadata"], "other_tool": "keep me"}})
    original = product["unit_price"]
    for price in ("11.00", original, "11.00"):  # the third change has the values of the first
        systems.crm("PATCH", f"/products/{product['id']}", json={"unit_price": price})
        systems.sync()

    (after,) = systems.linked("/items", product["id"])
    assert str(after["unit_cost"]) in ("11", "11.0", "11.00")
    assert after["description"] == "Edited in Invoiced"
    assert after["metadata"]["other_tool"] == "keep me"
    assert len(systems.inv_all("/items", archived=1, **{"filter[id]": item["id"]})) >= 3


def test_moving_an_order_to_another_customer_is_a_conflict_not_a_silent_no_op(systems: Systems) -> None:
    order = next(o for o in systems.crm_all("orders") if systems.linked("/invoices", o["id"])
                 and systems.linked("/invoices", o["id"])[0]["status"] not in ("paid", "voided")
                 and not systems.linked("/invoices", o["id"])[0]["closed"])
    other = next(c for c in systems.crm_all("customers") if c["id"] != order["customer_id"]
                 and c["status"] == "active" and systems.linked("/customers", c["id"]))
    systems.crm("PATCH", f"/orders/{order['id']}", json={"customer_id": other["id"]})

    run = systems.sync()

    assert run.writes == []
    assert run.count("invoices", "conflicts") == 1
    (reject,) = [r for r in systems.rejects() if r["source_id"] == order["id"] and "customer" in r["reason"]]
    assert "void the invoice" in reject["reason"]


def test_an_invoice_lines_other_metadata_survives_a_line_edit(systems: Systems) -> None:
    order = next(o for o in systems.crm_all("orders") if systems.linked("/invoices", o["id"])
                 and systems.linked("/invoices", o["id"])[0]["status"] not in ("paid", "voided")
                 and not systems.linked("/invoices", o["id"])[0]["closed"]
                 and o["customer_id"] in {c["id"] for c in systems.crm_all("customers") if c["status"] == "active"})
    (invoice,) = systems.linked("/invoices", order["id"])
    items = [{"id": i["id"], "name": i["name"], "quantity": i["quantity"], "unit_cost": i["unit_cost"],
              "catalog_item": i["catalog_item"], "metadata": {**i["metadata"], "other_tool": f"line {n}"}}
             for n, i in enumerate(invoice["items"])]
    systems.inv("PATCH", f"/invoices/{invoice['id']}", json={"items": items})
    lines = [{k: line[k] for k in ("id", "product_id", "description", "quantity", "unit_price")}
             for line in order["lines"]]
    lines[0]["quantity"] = "9.000"
    systems.crm("PATCH", f"/orders/{order['id']}", json={"lines": lines})

    systems.sync()

    after = systems.inv("GET", f"/invoices/{invoice['id']}")
    assert [i["metadata"].get("other_tool") for i in after["items"]] == [f"line {n}" for n in range(len(items))]
