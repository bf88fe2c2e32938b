"""Edits on either side, through `meltano run sync`: each arrives once, the later of two edits to one field wins on
both sides, a sales rep follows the user and the invoice, and the sync after the one that carried an edit writes
nothing."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.two_way.conftest import TwoWay

pytestmark = pytest.mark.usefixtures("converged")


def _pair(systems: TwoWay, index: int = 0) -> tuple[dict[str, Any], dict[str, Any]]:
    """A linked customer: its Customcrm record and its Invoiced record."""
    crm = [c for c in systems.crm_customers() if c["status"] == "active"][index]
    inv = systems.inv("GET", f"/customers/{crm['external_ids']['invoiced']}")
    return crm, inv


def _next_second() -> None:
    # Invoiced keeps updated_at in whole seconds: two edits a second apart have an order both systems agree on.
    time.sleep(1.1)


def test_edits_to_different_fields_of_one_record_both_arrive(systems: TwoWay) -> None:
    crm, inv = _pair(systems)
    systems.crm("PATCH", f"/customers/{crm['id']}", json={"phone": "+47 22 33 44 55"})
    systems.inv("PATCH", f"/customers/{inv['id']}", json={"address1": "Storgata 1"})

    run = systems.sync()

    assert systems.inv("GET", f"/customers/{inv['id']}")["phone"] == "+47 22 33 44 55"
    assert systems.crm("GET", f"/customers/{crm['id']}")["billing_address"]["line1"] == "Storgata 1"
    assert run.total("conflicts") == 0
    assert systems.sync().writes == []


@pytest.mark.parametrize("later", ["invoiced", "customcrm"])
def test_the_later_edit_of_one_field_wins_on_both_sides_in_one_sync(systems: TwoWay, later: str) -> None:
    crm, inv = _pair(systems, 1)
    edits = {
        "customcrm": lambda name: systems.crm("PATCH", f"/customers/{crm['id']}", json={"name": name}),
        "invoiced": lambda name: systems.inv("PATCH", f"/customers/{inv['id']}", json={"name": name}),
    }
    earlier = "customcrm" if later == "invoiced" else "invoiced"
    edits[earlier](f"Edited first in {earlier}")
    _next_second()
    edits[later](f"Edited last in {later}")

    run = systems.sync()

    assert systems.crm("GET", f"/customers/{crm['id']}")["name"] == f"Edited last in {later}"
    assert systems.inv("GET", f"/customers/{inv['id']}")["name"] == f"Edited last in {later}"
    assert run.count("target-invoiced", "customers", "conflicts") == 1
    clash = next(c for e in systems.audit("target-invoiced") for c in e.get("conflicts") or []
                 if e["run_id"] == run.summaries["target-invoiced"]["run_id"])
    assert clash["field"] == "name"
    assert clash["winner"] == ("destination" if later == "invoiced" else "source")
    assert systems.sync().writes == []


def test_a_reps_email_change_in_customcrm_reaches_all_of_their_invoices(systems: TwoWay) -> None:
    orders = [o for o in systems.crm_all("orders") if (o.get("external_ids") or {}).get("invoiced")]
    owner = orders[0]["owner_user_id"]
    theirs = [o for o in orders if o["owner_user_id"] == owner]
    systems.crm("PATCH", f"/users/{owner}", json={"email": "renamed.rep@sales.example.com"})

    systems.sync()

    for order in theirs:
        invoice = systems.inv("GET", f"/invoices/{order['external_ids']['invoiced']}")
        assert invoice["metadata"]["sales_rep_email"] == "renamed.rep@sales.example.com"
        assert invoice["metadata"]["sales_rep_id"] == owner
    assert systems.crm("GET", f"/orders/{theirs[0]['id']}")["owner_user_id"] == owner  # the order keeps its owner
    assert systems.sync().writes == []


def test_another_rep_set_in_invoiced_reassigns_the_order(systems: TwoWay) -> None:
    order, invoice = next((o, i) for o in systems.crm_all("orders") if (o.get("external_ids") or {}).get("invoiced")
                          if (i := systems.inv("GET", f"/invoices/{o['external_ids']['invoiced']}"))["status"]
                          not in ("paid", "voided"))
    other = next(u for u in systems.crm_all("users") if u["id"] != order["owner_user_id"])
    invoice_id = invoice["id"]
    systems.inv("PATCH", f"/invoices/{invoice_id}",
                json={"metadata": {**invoice["metadata"], "sales_rep_email": other["email"].upper()}})

    systems.sync()
    assert systems.crm("GET", f"/orders/{order['id']}")["owner_user_id"] == other["id"]

    # The next sync completes the invoice's rep id and name from the new owner, and writes nothing else.
    completing = systems.sync()
    assert completing.crm_writes == []
    assert completing.inv_writes == [("PATCH", f"/invoices/{invoice_id}")]
    rep = systems.inv("GET", f"/invoices/{invoice_id}")["metadata"]
    assert (rep["sales_rep_id"], rep["sales_rep_name"]) == (other["id"], other["name"])
    assert systems.sync().writes == []


def test_an_unknown_rep_email_is_a_reject_that_names_it_and_the_rest_syncs(systems: TwoWay) -> None:
    orders = [o for o in systems.crm_all("orders") if (o.get("external_ids") or {}).get("invoiced")]
    editable = [o for o in orders
                if systems.inv("GET", f"/invoices/{o['external_ids']['invoiced']}")["status"] not in ("paid", "voided")]
    unknown, edited = editable[0], editable[1]
    invoice = systems.inv("GET", f"/invoices/{unknown['external_ids']['invoiced']}")
    systems.inv("PATCH", f"/invoices/{invoice['id']}",
                json={"metadata": {**invoice["metadata"], "sales_rep_email": "nobody@elsewhere.example"}})
    systems.inv("PATCH", f"/invoices/{edited['external_ids']['invoiced']}", json={"purchase_order": "PO-77"})

    systems.sync()

    reject = next(r for r in systems.rejects("target-customcrm") if r["source_id"] == str(invoice["id"]))
    assert "nobody@elsewhere.example" in reject["reason"]
    assert "owner_user_id" in reject["reason"]
    assert systems.crm("GET", f"/orders/{unknown['id']}")["owner_user_id"] == unknown["owner_user_id"]
    assert systems.crm("GET", f"/orders/{edited['id']}")["purchase_order"] == "PO-77"
