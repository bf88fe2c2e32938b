"""Invoices: line items, exact totals, status, and the edits the real API refuses."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import invoiced
import pytest

from tests.sandbox_invoiced.conftest import Api, unique

CLOSED = (
    "Your changes cannot be saved because this document is closed. Please re-open the document to make any changes."
)


def test_create_computes_exact_totals(api: Api, customer: Any) -> None:
    response = api.post(
        "/invoices",
        json={"customer": customer.id, "items": [{"name": "Dime", "quantity": 3, "unit_cost": 0.1}]},
    )
    assert response.status_code == 201
    # Parse as Decimal: a float sum (0.30000000000000004) would show here.
    body = json.loads(response.text, parse_float=Decimal)
    assert body["items"][0]["amount"] == Decimal("0.3")
    assert body["subtotal"] == body["total"] == body["balance"] == Decimal("0.3")
    assert body["draft"] is False
    assert body["status"] == "not_sent"
    assert re.fullmatch(r"INV-\d{5}", body["number"])


def test_discounts_and_taxes_adjust_the_total(client: invoiced.Client, customer: Any) -> None:
    invoice = client.Invoice.create(
        customer=customer.id,
        items=[{"name": "Delivery", "quantity": 1, "unit_cost": 55}],
        discounts=[{"amount": 7.7}],
        taxes=[{"amount": 3.85}],
    )
    assert invoice.subtotal == 55
    assert invoice.total == 51.15
    assert invoice.taxes[0]["object"] == "tax"


def test_line_copies_its_catalog_item(client: invoiced.Client, customer: Any) -> None:
    item_id = unique("widget").replace(" ", "-")
    client.Item.create(id=item_id, name="Widget", unit_cost=12.5)
    invoice = client.Invoice.create(customer=customer.id, items=[{"catalog_item": item_id, "quantity": 2}])
    line = invoice["items"][0]
    assert (line["catalog_item"], line["name"], line["unit_cost"], line["amount"]) == (item_id, "Widget", 12.5, 25)


def test_patch_items_replaces_the_list(client: invoiced.Client, customer: Any) -> None:
    invoice = client.Invoice.create(
        customer=customer.id,
        items=[{"name": "Keep", "unit_cost": 10}, {"name": "Drop", "unit_cost": 20}],
    )
    keep, drop = invoice["items"]
    invoice["items"] = [{"id": keep["id"], "quantity": 3}, {"name": "New", "unit_cost": 1.5}]
    invoice.save()
    lines = invoice["items"]
    assert [line["name"] for line in lines] == ["Keep", "New"]
    assert lines[0]["id"] == keep["id"]
    assert lines[0]["amount"] == 30
    assert lines[1]["id"] not in (keep["id"], drop["id"])
    assert invoice.total == 31.5


def test_patch_a_line_by_id_alone_or_by_one_field(api: Api, customer: Any) -> None:
    invoice = api.post(
        "/invoices", json={"customer": customer.id, "items": [{"name": "Hour", "quantity": 2, "unit_cost": 10}]}
    ).json()
    line_id = invoice["items"][0]["id"]
    path = f"/invoices/{invoice['id']}"
    # The stored quantity and price are whole numbers; these answered 500 once.
    kept = api.patch(path, json={"items": [{"id": line_id}]})
    assert kept.status_code == 200, kept.text
    assert (kept.json()["items"][0]["amount"], kept.json()["total"]) == (20, 20)
    renamed = api.patch(path, json={"items": [{"id": line_id, "name": "Senior hour"}]})
    assert renamed.status_code == 200, renamed.text
    assert [(line["id"], line["name"], line["amount"]) for line in renamed.json()["items"]] == [
        (line_id, "Senior hour", 20)
    ]


def test_lines_of_another_invoice_or_listed_twice_are_refused(api: Api, customer: Any) -> None:
    mine = api.post("/invoices", json={"customer": customer.id, "items": [{"name": "a", "unit_cost": 1}]}).json()
    theirs = api.post("/invoices", json={"customer": customer.id, "items": [{"name": "b", "unit_cost": 2}]}).json()
    path = f"/invoices/{mine['id']}"
    foreign = api.patch(path, json={"items": [{"id": theirs["items"][0]["id"], "quantity": 5}]})
    assert foreign.status_code == 400
    assert foreign.json()["param"] == "items"
    assert "no line item with ID" in foreign.json()["message"]
    line_id = mine["items"][0]["id"]
    twice = api.patch(path, json={"items": [{"id": line_id}, {"id": line_id, "quantity": 5}]})
    assert twice.status_code == 400, twice.text
    assert twice.json() == {
        "type": "invalid_request",
        "message": f"Invalid line item items[1]: line item ID {line_id} is listed twice.",
        "param": "items",
    }
    assert api.get(path).json() == mine
    assert api.get(f"/invoices/{theirs['id']}").json() == theirs


def test_big_amounts_stay_exact(api: Api, customer: Any) -> None:
    price = "999999999999999.99"  # the largest amount allowed, times itself, needs more than 28 digits
    response = api.post(
        "/invoices", json={"customer": customer.id, "items": [{"name": "x", "quantity": price, "unit_cost": price}]}
    )
    assert response.status_code == 201, response.text
    # 999999999999999.99^2 = 999999999999999980000000000000.0001, to the cent; whole, so sent as an exact integer.
    assert response.json()["total"] == 999_999_999_999_999_980_000_000_000_000


def test_negative_lines_are_allowed_while_the_total_stays_positive(api: Api, customer: Any) -> None:
    lines = [{"name": "Work", "unit_cost": 10}, {"name": "Credit", "quantity": -3, "unit_cost": 1}]
    credited = api.post("/invoices", json={"customer": customer.id, "items": lines})
    assert (credited.status_code, credited.json()["total"]) == (201, 7)
    negative = api.post("/invoices", json={"customer": customer.id, "items": [{"name": "Refund", "unit_cost": -1}]})
    assert negative.status_code == 400
    assert negative.json()["param"] == "total"
    assert negative.json()["message"].startswith("The invoice total cannot be negative (-1.00)")


def test_customer_is_required_and_must_exist(client: invoiced.Client) -> None:
    with pytest.raises(invoiced.errors.InvalidRequestError) as missing:
        client.Invoice.create(items=[{"name": "x", "unit_cost": 1}])
    assert missing.value.error == {"type": "invalid_request", "message": "Customer missing", "param": "customer"}
    with pytest.raises(invoiced.errors.InvalidRequestError) as unknown:
        client.Invoice.create(customer=999_999)
    assert unknown.value.error["message"] == "No such customer: 999999"


def test_duplicate_invoice_number(client: invoiced.Client, customer: Any) -> None:
    number = unique("INV-X").replace(" ", "")
    client.Invoice.create(customer=customer.id, number=number)
    with pytest.raises(invoiced.errors.InvalidRequestError) as caught:
        client.Invoice.create(customer=customer.id, number=number)
    assert caught.value.error["param"] == "number"
    assert caught.value.error["message"] == f"The given invoice number has already been taken: {number}"


def test_void_zeroes_the_balance_once(client: invoiced.Client, api: Api, customer: Any) -> None:
    invoice = client.Invoice.create(customer=customer.id, items=[{"name": "x", "unit_cost": 5}])
    invoice.void()
    assert (invoice.status, invoice.balance, invoice.total) == ("voided", 0, 5)
    again = api.post(f"/invoices/{invoice.id}/void")
    assert again.status_code == 400
    assert again.json()["message"] == "This document has already been voided."
    edit = api.patch(f"/invoices/{invoice.id}", json={"notes": "late change"})
    assert edit.json() == {
        "type": "invalid_request",
        "message": "Your changes cannot be saved because this document is voided.",
        "param": "voided",
    }


def test_closed_invoice_refuses_edits_until_reopened(api: Api, customer: Any) -> None:
    invoice = api.post("/invoices", json={"customer": customer.id, "closed": True}).json()
    refused = api.patch(f"/invoices/{invoice['id']}", json={"notes": "x"})
    assert refused.status_code == 400
    assert refused.json() == {"type": "invalid_request", "message": CLOSED, "param": "closed"}
    reopened = api.patch(f"/invoices/{invoice['id']}", json={"closed": False, "notes": "x"})
    assert reopened.status_code == 200
    assert (reopened.json()["closed"], reopened.json()["notes"]) == (False, "x")


def test_issued_invoice_cannot_go_back_to_draft(api: Api, customer: Any) -> None:
    draft = api.post("/invoices", json={"customer": customer.id, "draft": True}).json()
    assert draft["status"] == "draft"
    issued = api.patch(f"/invoices/{draft['id']}", json={"draft": False}).json()
    assert issued["status"] == "not_sent"
    refused = api.patch(f"/invoices/{draft['id']}", json={"draft": True})
    assert refused.json()["message"] == "Cannot save as a draft because the document has already been issued."


def test_paid_invoices_refuse_edits_void_and_delete(seeded_api: Api) -> None:
    paid = seeded_api.get("/invoices", params={"filter[paid]": 1, "per_page": 1}).json()[0]
    assert (paid["status"], paid["closed"], paid["balance"]) == ("paid", True, 0)
    path = f"/invoices/{paid['id']}"
    assert seeded_api.patch(path, json={"notes": "x"}).json()["message"] == CLOSED
    assert seeded_api.patch(path, json={"closed": False}).json()["param"] == "closed"
    applied = "This invoice cannot be voided because it has a payment applied."
    assert seeded_api.post(path + "/void").json()["message"] == applied
    assert seeded_api.delete(path).json()["message"] == applied
    assert seeded_api.get(path).json() == paid


def test_delete_removes_the_invoice(client: invoiced.Client, api: Api, customer: Any) -> None:
    invoice = client.Invoice.create(customer=customer.id)
    assert invoice.delete() is True
    assert api.get(f"/invoices/{invoice.id}").json()["message"] == f"Invoice was not found: {invoice.id}"


@pytest.fixture(scope="module")
def seeded_api(seeded: Any) -> Api:
    return Api(seeded.url)
