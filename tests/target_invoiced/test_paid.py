"""A paid invoice is never edited nor removed: an edit or a delete of its order in Customcrm is a conflict with
the reason. Invoices become paid only through the Invoiced sandbox's seed (as payments would make them), so this
module starts from a seeded Invoiced and a Customcrm order typed with the paid invoice's number."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SandboxStarter
from tests.target_invoiced.conftest import CUSTOMCRM_TOKEN, INVOICED_KEY, Systems


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, start_sandbox: SandboxStarter) -> Iterator[Systems]:
    with (
        start_sandbox("customcrm", "--token", CUSTOMCRM_TOKEN) as crm,
        start_sandbox("invoiced", "--api-key", INVOICED_KEY, "--verbose", "--seed-customers", "6", "--seed", "4")
        as invoiced,
    ):
        yield Systems(crm, invoiced, Path(tmp_path_factory.mktemp("paid")))


@pytest.fixture(scope="module")
def paid_order(seeded: Systems) -> tuple[dict[str, Any], dict[str, Any]]:
    paid = next(i for i in seeded.inv_all("/invoices") if i["status"] == "paid")
    customer = seeded.inv("GET", f"/customers/{paid['customer']}")
    user = seeded.crm("POST", "/users", json={"name": "Ada Berg", "email": "ada.berg@sales.example.com"})
    crm_customer = seeded.crm("POST", "/customers", json={
        "name": customer["name"], "email": customer["email"], "currency": paid["currency"].upper()})
    order = seeded.crm("POST", "/orders", json={
        "order_number": paid["number"], "customer_id": crm_customer["id"], "owner_user_id": user["id"],
        "order_date": "2024-06-01", "currency": paid["currency"].upper(), "status": "confirmed",
        "lines": [{"description": "Typed again in the CRM", "quantity": "1", "unit_price": "1.00"}]})
    return order, paid


def test_an_order_matching_a_paid_invoice_is_linked_but_not_edited(seeded: Systems, paid_order: Any) -> None:
    order, paid = paid_order
    run = seeded.sync()

    assert [w for w in run.writes if w[1].startswith("/invoices")] == []
    assert run.count("invoices", "conflicts") == 1
    (reject,) = [r for r in seeded.rejects() if r["source_id"] == order["id"]]
    assert "paid" in reject["reason"]
    assert paid["number"] in reject["reason"]
    after = seeded.inv("GET", f"/invoices/{paid['id']}")
    assert after["items"] == paid["items"]
    assert after["metadata"] == paid["metadata"]
    assert seeded.sync().writes == []  # the same refused order costs nothing on the next run


def test_deleting_the_order_of_a_paid_invoice_leaves_the_invoice_and_says_so(seeded: Systems, paid_order: Any) -> None:
    order, paid = paid_order
    seeded.crm("DELETE", f"/orders/{order['id']}")

    run = seeded.sync()

    assert run.writes == []
    assert seeded.inv("GET", f"/invoices/{paid['id']}")["status"] == "paid"
    assert run.count("invoices", "conflicts") == 1
    reasons = [r["reason"] for r in seeded.rejects() if r["source_id"] == order["id"]]
    assert any("deleted or cancelled in Customcrm" in reason and "paid" in reason for reason in reasons)
