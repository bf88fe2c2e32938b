"""One seeded Customcrm service for the whole folder, and a small client for it."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sandbox.common.process import RunningSandbox
from tests.conftest import SandboxStarter

TOKEN = "test-token-customcrm"
SEED_CUSTOMERS = 40
_unique = itertools.count(1)


def new_body(collection: str) -> dict[str, Any]:
    """A valid create body with fresh unique values (seeded ids cus_1, prd_1, usr_1 always exist)."""
    n = next(_unique)
    return {
        "customers": {"name": f"Test Co {n}", "org_number": f"ORG-{n}", "email": f"billing{n}@test.example",
                      "billing_address": {"city": "Oslo", "country": "NO"}, "currency": "NOK"},
        "products": {"sku": f"SKU-{n}", "name": "Test Widget", "unit_price": "10", "currency": "EUR"},
        "users": {"name": "Test Person", "email": f"person{n}@sales.test.example"},
        "orders": {"order_number": f"T-{n}", "customer_id": "cus_1", "owner_user_id": "usr_1",
                   "order_date": "2024-03-01", "currency": "NOK",
                   "lines": [{"product_id": "prd_1", "description": "Widget", "quantity": "2", "unit_price": "9.99"}]},
    }[collection]


class Api:
    """requests against one Customcrm service, authorised unless told otherwise."""

    def __init__(self, url: str, token: str | None = TOKEN) -> None:
        self.url = url
        self.session = requests.Session()
        if token is not None:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, self.url + path, **kwargs)

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any, **headers: str) -> requests.Response:
        return self.request("POST", path, json=body, headers=_headers(headers))

    def patch(self, path: str, body: Any, **headers: str) -> requests.Response:
        return self.request("PATCH", path, json=body, headers=_headers(headers))

    def delete(self, path: str, **headers: str) -> requests.Response:
        return self.request("DELETE", path, headers=_headers(headers))

    def walk(self, collection: str, cursor: str | None = None, **params: Any) -> list[dict[str, Any]]:
        """Every record of a list query, following next_cursor to the end (from `cursor` when given)."""
        records: list[dict[str, Any]] = []
        while True:
            page = self.get(f"/v1/{collection}", **params, **({"cursor": cursor} if cursor else {}))
            assert page.status_code == 200, page.text
            records += page.json()["data"]
            cursor = page.json()["next_cursor"]
            if cursor is None:
                return records


def _headers(headers: dict[str, str]) -> dict[str, str]:
    # Python names cannot hold dashes: if_match= becomes If-Match.
    return {"-".join(part.capitalize() for part in name.split("_")): value for name, value in headers.items()}


@pytest.fixture(scope="session")
def customcrm(start_sandbox: SandboxStarter) -> Iterator[RunningSandbox]:
    with start_sandbox(
        "customcrm", "--token", TOKEN, "--token", "second-token", "--seed-customers", str(SEED_CUSTOMERS)
    ) as sandbox:
        yield sandbox


@pytest.fixture(scope="session")
def api(customcrm: RunningSandbox) -> Api:
    return Api(customcrm.url)


@pytest.fixture
def new_customer(api: Api) -> dict[str, Any]:
    """A fresh customer of this test's own, so tests never fight over records."""
    response = api.post("/v1/customers", {"name": "Fresh Fjord AS", "currency": "NOK"})
    assert response.status_code == 201, response.text
    return response.json()
