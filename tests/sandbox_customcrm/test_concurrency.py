"""Races: optimistic concurrency with If-Match, and one create per Idempotency-Key under parallel retries."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import requests

from tests.sandbox_customcrm.conftest import Api

RACERS = 8


def race(api: Api, attempt: Callable[[Api, int], requests.Response]) -> list[requests.Response]:
    """Run `attempt` from RACERS threads released at the same moment, each on its own connection."""
    barrier = threading.Barrier(RACERS)
    results: list[requests.Response] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        client = Api(api.url)
        barrier.wait()
        response = attempt(client, n)
        with lock:
            results.append(response)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_only_one_of_many_writers_with_the_same_if_match_wins(api: Api) -> None:
    customer = api.post("/v1/customers", {"name": "Contended AS"}).json()
    path = f"/v1/customers/{customer['id']}"
    results = race(api, lambda client, n: client.patch(path, {"notes": f"writer {n}"}, if_match='"1"'))
    assert Counter(r.status_code for r in results) == {200: 1, 412: RACERS - 1}
    winner = next(r.json() for r in results if r.status_code == 200)
    assert all(r.json()["error"]["current_version"] == 2 for r in results if r.status_code == 412)
    assert api.get(path).json() == winner
    assert winner["version"] == 2


def test_parallel_retries_with_one_idempotency_key_create_one_record(api: Api) -> None:
    body = {"sku": "RACE-1", "name": "Raced", "unit_price": "1.00", "currency": "EUR"}
    results = race(api, lambda client, _n: client.post("/v1/products", body, idempotency_key="race-key"))
    assert {r.status_code for r in results} == {201}
    assert len({r.json()["id"] for r in results}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in results) == RACERS - 1
    assert len(api.get("/v1/products", sku="RACE-1").json()["data"]) == 1
