"""The contract end to end against a running service: CRUD, look-ups, validation, auth, soft delete."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.sandbox_customcrm.conftest import Api, new_body

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
CHANGE = {"customers": {"notes": "called"}, "products": {"name": "Renamed"}, "users": {"title": "Boss"},
          "orders": {"status": "confirmed"}}
UNIQUE_FIELD = {"customers": "org_number", "products": "sku", "users": "email", "orders": "order_number"}


@pytest.mark.parametrize("collection", ["customers", "products", "users", "orders"])
def test_record_life_cycle(api: Api, collection: str) -> None:
    created = api.post(f"/v1/{collection}", new_body(collection))
    assert created.status_code == 201, created.text
    record = created.json()
    assert record["version"] == 1
    assert created.headers["ETag"] == '"1"'
    assert created.headers["Location"] == f"/v1/{collection}/{record['id']}"
    assert TIMESTAMP.match(record["created_at"])
    assert record["created_at"] == record["updated_at"]
    assert record["deleted_at"] is None
    assert record["external_ids"] == {}
    path = f"/v1/{collection}/{record['id']}"
    assert api.get(path).json() == record

    changed = api.patch(path, CHANGE[collection], if_match='"1"')
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 2
    assert changed.headers["ETag"] == '"2"'
    assert changed.json()["updated_at"] > record["updated_at"]
    assert all(changed.json()[k] == v for k, v in CHANGE[collection].items())

    key = UNIQUE_FIELD[collection]
    found = api.get(f"/v1/{collection}", **{key: record[key]}).json()["data"]
    assert [r["id"] for r in found] == [record["id"]]

    assert api.delete(path, if_match='"2"').status_code == 204
    gone = api.get(path)
    assert gone.status_code == 200
    assert gone.json()["version"] == 3
    assert TIMESTAMP.match(gone.json()["deleted_at"])
    assert api.get(f"/v1/{collection}", **{key: record[key]}).json()["data"] == []
    listed = api.get(f"/v1/{collection}", include_deleted="true", **{key: record[key]}).json()["data"]
    assert [r["deleted_at"] for r in listed] == [gone.json()["deleted_at"]]
    refused = api.patch(path, CHANGE[collection])
    assert refused.status_code == 410
    assert refused.json()["error"]["code"] == "deleted"
    assert api.delete(path).status_code == 204, "deleting again is a harmless no-op"
    assert api.get(path).json()["version"] == 3


def test_look_ups(api: Api) -> None:
    customer = api.post("/v1/customers", {**new_body("customers"), "email": "Mixed.Case@Test.Example",
                                          "external_ids": {"invoiced": "15444"}}).json()
    assert [c["id"] for c in api.get("/v1/customers", email="mixed.case@test.example").json()["data"]] == [
        customer["id"]
    ], "e-mail look-ups ignore case"
    assert api.get("/v1/customers", org_number=customer["org_number"]).json()["data"][0]["id"] == customer["id"]
    by_external = api.get("/v1/customers", **{"external_id[invoiced]": "15444"}).json()["data"]
    assert [c["id"] for c in by_external] == [customer["id"]]
    assert api.get("/v1/customers", **{"external_id[invoiced]": "15445"}).json()["data"] == []
    both = api.get("/v1/customers", email="nobody@test.example", org_number=customer["org_number"])
    assert both.json()["data"] == [], "filters combine with AND"

    orders = [api.post("/v1/orders", {**new_body("orders"), "customer_id": customer["id"]}).json() for _ in range(3)]
    walked = api.walk("orders", customer_id=customer["id"], limit=1)
    assert [o["id"] for o in walked] == [o["id"] for o in orders], "look-ups page like any list"
    number = orders[0]["order_number"]
    assert [o["id"] for o in api.get("/v1/orders", order_number=number).json()["data"]] == [orders[0]["id"]]


def test_validation_names_every_bad_field(api: Api) -> None:
    response = api.post("/v1/customers", {
        "name": "", "currency": "nok", "billing_address": {"country": "XX", "planet": "Mars"},
        "payment_terms_days": 12.5, "status": "gone", "colour": "red", "id": "cus_x", "email": "not-an-email",
        "external_ids": {"Invoiced": "1", "crm": 7},
    })
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert set(error["fields"]) == {
        "name", "currency", "billing_address.country", "billing_address.planet", "payment_terms_days", "status",
        "colour", "id", "email", "external_ids.Invoiced", "external_ids.crm",
    }
    assert "NOK" in error["fields"]["currency"]
    assert "read-only" in error["fields"]["id"]
    missing = api.post("/v1/products", {"name": "No sku"}).json()["error"]["fields"]
    assert missing == {"sku": "required", "unit_price": "required", "currency": "required"}


def test_decimals_are_strings_with_a_fixed_scale(api: Api) -> None:
    product = api.post("/v1/products", {**new_body("products"), "unit_price": "12.5"}).json()
    assert product["unit_price"] == "12.50"
    bad = {"12.345": "at most 2 decimals", "-1": "negative", "1e3": "decimal string", "": "decimal string"}
    for value, reason in bad.items():
        response = api.post("/v1/products", {**new_body("products"), "unit_price": value})
        assert response.status_code == 422, value
        assert reason in response.json()["error"]["fields"]["unit_price"], value
    as_number = api.post("/v1/products", {**new_body("products"), "unit_price": 12.5})
    assert "string" in as_number.json()["error"]["fields"]["unit_price"]

    order = api.post("/v1/orders", {**new_body("orders"), "lines": [
        {"description": "Hours", "quantity": "1.125", "unit_price": "100"},
        {"description": "Discount", "quantity": "1", "unit_price": "-10.5"},
    ]}).json()
    assert [(x["quantity"], x["unit_price"], x["amount"]) for x in order["lines"]] == [
        ("1.125", "100.00", "112.50"), ("1.000", "-10.50", "-10.50")
    ]
    assert order["total"] == "102.00"


def test_unknown_and_deleted_references_are_named(api: Api) -> None:
    user = api.post("/v1/users", new_body("users")).json()
    api.delete(f"/v1/users/{user['id']}")
    response = api.post("/v1/orders", {
        **new_body("orders"), "customer_id": "cus_999999", "owner_user_id": user["id"],
        "lines": [{"product_id": "prd_999999", "description": "x", "quantity": "1", "unit_price": "1"}],
    })
    assert response.status_code == 422
    fields = response.json()["error"]["fields"]
    assert fields == {
        "customer_id": "no customer with id 'cus_999999'",
        "owner_user_id": f"user {user['id']!r} is deleted",
        "lines[0].product_id": "no product with id 'prd_999999'",
    }


def test_unique_fields_conflict_until_the_holder_is_deleted(api: Api) -> None:
    first = api.post("/v1/products", new_body("products")).json()
    clash = api.post("/v1/products", {**new_body("products"), "sku": first["sku"]})
    assert clash.status_code == 409
    assert clash.json()["error"]["fields"] == {"sku": f"already used by product {first['id']}"}
    other = api.post("/v1/products", new_body("products")).json()
    assert api.patch(f"/v1/products/{other['id']}", {"sku": first["sku"]}).status_code == 409
    user = api.post("/v1/users", new_body("users")).json()
    shouting = api.post("/v1/users", {**new_body("users"), "email": user["email"].upper()})
    assert shouting.status_code == 409, "user e-mails are unique ignoring case"
    api.delete(f"/v1/products/{first['id']}")
    assert api.post("/v1/products", {**new_body("products"), "sku": first["sku"]}).status_code == 201


def test_external_ids_merge_per_key(api: Api, new_customer: dict[str, Any]) -> None:
    path = f"/v1/customers/{new_customer['id']}"
    api.patch(path, {"external_ids": {"invoiced": "1", "erp": "A"}})
    assert api.patch(path, {"external_ids": {"invoiced": "2"}}).json()["external_ids"] == {"invoiced": "2", "erp": "A"}
    assert api.patch(path, {"external_ids": {"erp": None}}).json()["external_ids"] == {"invoiced": "2"}
    assert api.get("/v1/customers", **{"external_id[erp]": "A"}).json()["data"] == []
    assert api.patch(path, {"external_ids": None}).status_code == 422


def test_billing_address_merges_and_null_clears(api: Api, new_customer: dict[str, Any]) -> None:
    path = f"/v1/customers/{new_customer['id']}"
    api.patch(path, {"billing_address": {"line1": "Storgata 1", "country": "NO"}})
    merged = api.patch(path, {"billing_address": {"city": "Oslo"}}).json()["billing_address"]
    assert merged == {"line1": "Storgata 1", "line2": None, "city": "Oslo", "region": None, "postal_code": None,
                      "country": "NO"}
    cleared = api.patch(path, {"billing_address": None, "email": None}).json()
    assert set(cleared["billing_address"].values()) == {None}
    assert cleared["email"] is None
    assert api.patch(path, {"name": None}).json()["error"]["fields"] == {"name": "required; must not be null"}


@pytest.mark.parametrize(
    ("collection", "field", "default"),
    [("customers", "status", "active"), ("orders", "status", "draft"), ("products", "taxable", True),
     ("products", "active", True), ("users", "active", True)],
)
def test_fields_with_a_default_are_never_null(api: Api, collection: str, field: str, default: object) -> None:
    refused = api.post(f"/v1/{collection}", {**new_body(collection), field: None})
    assert refused.status_code == 422, refused.text
    assert list(refused.json()["error"]["fields"]) == [field]
    created = api.post(f"/v1/{collection}", new_body(collection)).json()
    assert created[field] == default, "left out on create, the default is stored"
    cleared = api.patch(f"/v1/{collection}/{created['id']}", {field: None})
    assert cleared.status_code == 422, cleared.text
    assert "must not be null" in cleared.json()["error"]["fields"][field]
    assert api.get(f"/v1/{collection}/{created['id']}").json() == created


def test_order_lines_keep_their_ids(api: Api) -> None:
    order = api.post("/v1/orders", {**new_body("orders"), "lines": [
        {"description": "A", "quantity": "1", "unit_price": "1"},
        {"description": "B", "quantity": "1", "unit_price": "2"},
    ]}).json()
    first, second = order["lines"]
    path = f"/v1/orders/{order['id']}"
    kept = {k: first[k] for k in ("id", "product_id", "description", "unit_price")}
    changed = api.patch(path, {"lines": [{**kept, "quantity": "3"}, {"description": "C", "quantity": "1",
                                                                       "unit_price": "5"}]}).json()
    assert changed["lines"][0]["id"] == first["id"]
    assert changed["lines"][0]["amount"] == "3.00"
    assert changed["lines"][1]["id"] not in (first["id"], second["id"])
    assert changed["total"] == "8.00"
    stale = api.patch(path, {"lines": [{**kept, "id": second["id"], "quantity": "1"}]})
    assert stale.json()["error"]["fields"] == {"lines[0].id": f"this order has no line {second['id']!r}; "
                                               "leave id out for a new line"}


def test_a_patch_that_changes_nothing_keeps_the_version(api: Api, new_customer: dict[str, Any]) -> None:
    path = f"/v1/customers/{new_customer['id']}"
    same = api.patch(path, {"name": new_customer["name"], "currency": "NOK", "external_ids": {}})
    assert same.json() == new_customer


def test_if_match_guards_patch_and_delete(api: Api, new_customer: dict[str, Any]) -> None:
    path = f"/v1/customers/{new_customer['id']}"
    api.patch(path, {"notes": "v2"})
    stale = api.patch(path, {"notes": "lost update"}, if_match='"1"')
    assert stale.status_code == 412
    assert stale.json()["error"] == {
        "code": "version_mismatch", "current_version": 2,
        "message": "the record is at version 2; read it again, re-apply your change, retry",
    }
    assert api.get(path).json()["notes"] == "v2"
    for malformed in ("banana", "2", 'W/"2"', '"2', '"1", "2"'):
        refused = api.patch(path, {"notes": "x"}, if_match=malformed)
        assert refused.status_code == 422, malformed
        assert list(refused.json()["error"]["fields"]) == ["If-Match"]
    assert api.patch(path, {"notes": "v3"}, if_match="*").json()["version"] == 3
    assert api.delete(path, if_match='"2"').status_code == 412
    assert api.get(path).json()["deleted_at"] is None
    assert api.delete(path, if_match='"3"').status_code == 204


def test_idempotent_create_replays_the_first_answer(api: Api) -> None:
    body = new_body("products")
    invalid = api.post("/v1/products", {**body, "unit_price": "x"}, idempotency_key="key-1")
    assert invalid.status_code == 422, "a refused request does not use up its key"
    first = api.post("/v1/products", body, idempotency_key="key-1")
    again = api.post("/v1/products", body, idempotency_key="key-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(api.get("/v1/products", sku=body["sku"]).json()["data"]) == 1
    other = api.post("/v1/products", new_body("products"), idempotency_key="key-1")
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert list(other.json()["error"]["fields"]) == ["Idempotency-Key"], "every 422 names what to fix"
    elsewhere = api.post("/v1/users", new_body("users"), idempotency_key="key-1")
    assert elsewhere.status_code == 201, "keys are per collection"


def test_updated_at_strictly_increases_across_collections(api: Api) -> None:
    stamps = [api.post(f"/v1/{c}", new_body(c)).json()["updated_at"] for c in ("users", "products", "users")]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == 3


@pytest.mark.parametrize(
    ("headers", "reason"),
    [({}, "no token"), ({"Authorization": "Bearer wrong"}, "wrong token"), ({"Authorization": "Basic eDp5"}, "scheme")],
)
def test_auth_is_required(api: Api, headers: dict[str, str], reason: str) -> None:
    response = Api(api.url, token=None).request("GET", "/v1/customers", headers=headers)
    assert response.status_code == 401, reason
    assert response.json()["error"]["code"] == "unauthorized"
    assert "wrong" not in response.text


def test_every_configured_token_works(api: Api) -> None:
    assert Api(api.url, token="second-token").get("/v1/users").status_code == 200
    assert Api(api.url, token=None).get("/openapi.json").json()["openapi"] == "3.1.0"


def test_unknown_paths_and_methods(api: Api) -> None:
    assert api.get("/v1/customers/cus_0").json()["error"]["code"] == "not_found"
    assert api.get("/v1/invoices").status_code == 404
    assert api.get("/v1/customers/cus_1/extra").status_code == 404
    put = api.request("PUT", "/v1/customers/cus_1", json={})
    assert put.status_code == 405
    assert put.headers["Allow"] == "GET, PATCH, DELETE"
    assert put.json()["error"]["code"] == "method_not_allowed"
