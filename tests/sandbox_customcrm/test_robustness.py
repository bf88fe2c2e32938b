"""Bad input is refused with a clear 4xx: never a 500, never a partial write."""

from __future__ import annotations

import pytest

from tests.sandbox_customcrm.conftest import Api

RAW_BODIES = {
    "not json": b"{name: 1}",
    "not an object": b"[1, 2]",
    "not utf-8": b'{"name": "\xff"}',
    "deep nesting": b"[" * 100_000 + b"]" * 100_000,
    "huge integer": b'{"payment_terms_days": ' + b"9" * 5000 + b"}",
    "too large": b'{"notes": "' + b"x" * 1_100_000 + b'"}',
}


@pytest.mark.parametrize("name", RAW_BODIES)
def test_unreadable_bodies_are_400(api: Api, name: str) -> None:
    for method, path in (("POST", "/v1/customers"), ("PATCH", "/v1/customers/cus_1")):
        response = api.request(method, path, data=RAW_BODIES[name], headers={"Content-Type": "application/json"})
        assert response.status_code == 400, (name, method, response.text)
        assert response.json()["error"]["code"] == "invalid_json"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x" * 201}, "name"),
        ({"name": "\ud800"}, "name"),
        ({"name": "Ok", "payment_terms_days": 10**30}, "payment_terms_days"),
        ({"name": "Ok", "payment_terms_days": True}, "payment_terms_days"),
        ({"name": "Ok", "billing_address": ["Oslo"]}, "billing_address"),
        ({"name": "Ok", "external_ids": {"invoiced": "x" * 256}}, "external_ids.invoiced"),
        ({"name": "Ok", "external_ids": {f"s{n}": "1" for n in range(21)}}, "external_ids"),
        ({"name": "   "}, "name"),
    ],
)
def test_out_of_range_values_are_422_naming_the_field(api: Api, body: dict[str, object], field: str) -> None:
    response = api.post("/v1/customers", body)
    assert response.status_code == 422, response.text
    assert list(response.json()["error"]["fields"]) == [field]


@pytest.mark.parametrize("number", [b"1e400", b"NaN", b"-Infinity", b"12.0"])
def test_non_finite_and_fractional_numbers_are_422(api: Api, number: bytes) -> None:
    raw = b'{"name": "Ok", "payment_terms_days": ' + number + b"}"
    response = api.request("POST", "/v1/customers", data=raw)
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"payment_terms_days": "must be a whole number"}


def test_a_refused_order_leaves_nothing_behind(api: Api) -> None:
    body = {
        "order_number": "PARTIAL-1", "customer_id": "cus_1", "order_date": "2024-01-31", "currency": "NOK",
        "lines": [{"description": "fine", "quantity": "1", "unit_price": "1"}] * 3
        + [{"description": "bad", "quantity": "1", "unit_price": "1", "product_id": "prd_404"}],
    }
    assert api.post("/v1/orders", body).status_code == 422
    assert api.get("/v1/orders", order_number="PARTIAL-1").json()["data"] == []
    created = api.post("/v1/orders", {**body, "lines": body["lines"][:3]}).json()
    path = f"/v1/orders/{created['id']}"
    refused = api.patch(path, {"notes": "changed", "lines": [*created["lines"], {"description": "x", "quantity": "1",
                                                                             "unit_price": "1", "id": "lin_0"}]})
    assert refused.status_code == 422
    assert api.get(path).json() == created, "a refused PATCH changes no field"


def test_too_many_lines_are_refused(api: Api) -> None:
    line = {"description": "x", "quantity": "1", "unit_price": "1"}
    body = {"order_number": "MANY-1", "customer_id": "cus_1", "order_date": "2024-01-31", "currency": "NOK",
            "lines": [line] * 501}
    response = api.post("/v1/orders", body)
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"lines": "at most 500 items"}


def test_odd_ids_in_the_path_are_404(api: Api) -> None:
    for raw in ("/v1/customers/%ff%fe", "/v1/customers/%00", "/v1/customers/" + "x" * 5000, "/v1/customers/"):
        assert api.request("GET", raw).status_code == 404, raw
