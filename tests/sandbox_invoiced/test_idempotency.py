"""`Idempotency-Key`: the first answer is replayed per API key; misuse is refused."""

from __future__ import annotations

import uuid
from typing import Any

import invoiced

from tests.sandbox_invoiced.conftest import OTHER_KEY, Api, unique


def test_replay_returns_the_first_answer_and_writes_once(client: invoiced.Client, api: Api) -> None:
    key = str(uuid.uuid4())
    name = unique("Once")
    first = client.Customer.create(idempotency_key=key, name=name)
    # A retry, even with a different body, gets the original answer and creates nothing.
    again = client.Customer.create(idempotency_key=key, name=unique("Twice"))
    assert again.id == first.id
    assert again.name == name
    assert api.total("/customers", **{"filter[name]": name}) == 1

    raw = api.post("/customers", json={"name": "ignored"}, headers={"Idempotency-Key": key})
    assert raw.status_code == 201
    assert raw.json() == dict(first)


def test_errors_are_replayed_too(api: Api) -> None:
    key = str(uuid.uuid4())
    first = api.post("/customers", json={}, headers={"Idempotency-Key": key})
    second = api.post("/customers", json={"name": unique("Now valid")}, headers={"Idempotency-Key": key})
    assert first.status_code == second.status_code == 400
    assert first.json() == second.json()


def test_keys_are_per_api_key(sandbox: Any, api: Api) -> None:
    key = str(uuid.uuid4())
    mine = api.post("/customers", json={"name": unique("Mine")}, headers={"Idempotency-Key": key})
    theirs = Api(sandbox.url, OTHER_KEY).post(
        "/customers", json={"name": unique("Theirs")}, headers={"Idempotency-Key": key}
    )
    assert mine.json()["id"] != theirs.json()["id"]


def test_patch_replay(api: Api, customer: Any) -> None:
    key = str(uuid.uuid4())
    first = api.patch(f"/customers/{customer.id}", json={"city": "Oslo"}, headers={"Idempotency-Key": key})
    api.patch(f"/customers/{customer.id}", json={"city": "Bergen"})
    replay = api.patch(f"/customers/{customer.id}", json={"city": "Oslo"}, headers={"Idempotency-Key": key})
    assert replay.json() == first.json()
    assert api.get(f"/customers/{customer.id}").json()["city"] == "Bergen"


def test_misuse_is_refused(api: Api) -> None:
    refused = {
        ("GET", "abcdef"): "Unsupported method: GET. Idempotency keys can only be used with POST and PATCH requests.",
        ("POST", "abc"): "Idempotency key is too short. Must be at least 6 characters long.",
        ("POST", "k" * 65): "Idempotency key is too long. Must be no longer than 64 characters.",
    }
    before = api.total("/customers")
    for (method, key), message in refused.items():
        response = api.request(method, "/customers", json={"name": "x"}, headers={"Idempotency-Key": key})
        assert response.status_code == 400
        assert response.json() == {"type": "invalid_request", "message": message}
    assert api.total("/customers") == before


def test_official_client_save_replays_and_the_key_ignores_the_path(client: invoiced.Client, api: Api) -> None:
    customer = client.Customer.create(name=unique("Saved once"))
    key = str(uuid.uuid4())
    customer.city = "Oslo"
    assert customer.save(idempotency_key=key) is True
    api.patch(f"/customers/{customer.id}", json={"city": "Bergen"})
    customer.city = "Oslo"  # the same save, retried after its answer was lost
    assert customer.save(idempotency_key=key) is True
    assert customer.city == "Oslo"  # the first answer, replayed
    assert api.get(f"/customers/{customer.id}").json()["city"] == "Bergen"  # and nothing written again
    # Like the backend, the cache is keyed by API key and idempotency key only, not by path or body.
    elsewhere = api.post("/items", json={"name": "never created"}, headers={"Idempotency-Key": key})
    assert (elsewhere.status_code, elsewhere.json()["id"]) == (200, customer.id)
