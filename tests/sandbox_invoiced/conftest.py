"""A few Invoiced sandboxes shared by this folder, the official client pointed at them, and helpers."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import invoiced
import pytest
import requests

from sandbox.common.process import RunningSandbox

API_KEY = "sk_test_sandbox_primary_key"
OTHER_KEY = "sk_test_sandbox_second_key"
SEEDED_CUSTOMERS = 260  # more than two pages of 100, so client paging crosses page boundaries
_counter = itertools.count(1)


def unique(prefix: str) -> str:
    """A name no other test in this run uses, so tests can share one sandbox."""
    return f"{prefix} {next(_counter)}"


def official_client(url: str, key: str = API_KEY) -> invoiced.Client:
    # invoiced 3.0.0 has no api_url argument; its requests go to `client.api_url`.
    client = invoiced.Client(key)
    client.api_url = url
    return client


class Api:
    """Plain HTTP for what the official client does not expose (headers, forms, bad input)."""

    def __init__(self, url: str, key: str = API_KEY) -> None:
        self.url = url
        self.session = requests.Session()
        self.session.auth = (key, "")

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.url + path, timeout=30, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def total(self, path: str, **params: Any) -> int:
        response = self.get(path, params={**params, "per_page": 1})
        assert response.status_code == 200, response.text
        return int(response.headers["X-Total-Count"])


@pytest.fixture(scope="session")
def sandbox(start_sandbox: Any) -> Iterator[RunningSandbox]:
    """One empty sandbox for most tests; tests create what they need under unique names."""
    with start_sandbox("invoiced", "--api-key", API_KEY, "--api-key", OTHER_KEY) as running:
        yield running


@pytest.fixture(scope="session")
def seeded(start_sandbox: Any) -> Iterator[RunningSandbox]:
    """A seeded sandbox that tests only read: test_seed compares it with a twin seeded alike."""
    with start_sandbox(
        "invoiced", "--api-key", API_KEY, "--seed-customers", str(SEEDED_CUSTOMERS), "--seed", "7"
    ) as running:
        yield running


@pytest.fixture(scope="session")
def client(sandbox: RunningSandbox) -> invoiced.Client:
    return official_client(sandbox.url)


@pytest.fixture(scope="session")
def api(sandbox: RunningSandbox) -> Api:
    return Api(sandbox.url)


@pytest.fixture
def customer(client: invoiced.Client) -> Any:
    return client.Customer.create(name=unique("Fixture Customer"))
