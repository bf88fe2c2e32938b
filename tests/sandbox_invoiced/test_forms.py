"""Form-encoded bodies with bracket keys, as PHP-style clients and curl send them."""

from __future__ import annotations

from typing import Any

from tests.sandbox_invoiced.conftest import Api, unique


def test_form_encoded_customer_with_metadata(api: Api) -> None:
    name = unique("Form Customer")
    response = api.post(
        "/customers",
        data={"name": name, "autopay": "0", "metadata[rep]": "Jan", "metadata[tier]": "gold", "email": ""},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["name"], body["autopay"], body["email"]) == (name, False, None)
    assert body["metadata"] == {"rep": "Jan", "tier": "gold"}


def test_form_encoded_invoice_lines(api: Api, customer: Any) -> None:
    response = api.post(
        "/invoices",
        data={
            "customer": str(customer.id),
            "items[0][name]": "Setup",
            "items[0][unit_cost]": "0.1",
            "items[0][quantity]": "3",
            "items[1][name]": "Support",
            "items[1][unit_cost]": "19.99",
            "draft": "true",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert [line["name"] for line in body["items"]] == ["Setup", "Support"]
    assert body["total"] == 20.29
    assert body["status"] == "draft"


def test_form_encoded_patch(api: Api, customer: Any) -> None:
    response = api.patch(f"/customers/{customer.id}", data={"city": "Tromsø", "chase": "false"})
    assert response.status_code == 200
    assert (response.json()["city"], response.json()["chase"]) == ("Tromsø", False)


def test_bad_form_value_is_a_400(api: Api) -> None:
    response = api.post("/customers", data={"name": unique("Form"), "taxable": "perhaps"})
    assert response.status_code == 400
    assert response.json()["param"] == "taxable"
