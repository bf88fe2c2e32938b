"""Keyset paging: complete and never stale while others write, and cursors that only continue their own walk."""

from __future__ import annotations

import random
import threading
from typing import Any

from tests.sandbox_customcrm.conftest import Api


def test_a_walk_during_concurrent_edits_skips_nothing_and_never_goes_back(api: Api) -> None:
    collection = "customers"
    before = {r["id"]: r["version"] for r in api.walk(collection)}
    ids = sorted(before)
    touched: set[str] = set()
    walk_started = threading.Event()
    walk_done = threading.Event()
    failures: list[str] = []

    def edit_randomly() -> None:
        rng = random.Random(7)
        writer = Api(api.url)
        patches = 0
        while not walk_done.is_set() and patches < 2000:
            record_id = rng.choice(ids)
            touched.add(record_id)  # before the write, so a record is never "untouched" yet changed
            response = writer.patch(f"/v1/{collection}/{record_id}", {"notes": f"edit {patches}"})
            if response.status_code != 200:
                failures.append(response.text)
            patches += 1
            walk_started.set()

    editor = threading.Thread(target=edit_randomly)
    editor.start()
    walk_started.wait(timeout=30)
    seen: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.get(f"/v1/{collection}", **params).json()
        seen += page["data"]
        pages += 1
        if pages == 2:
            # A deterministic edit behind the cursor: this record must come again later in the walk.
            behind = seen[0]["id"]
            touched.add(behind)
            api.patch(f"/v1/{collection}/{behind}", {"notes": "edited behind the cursor"})
        cursor = page["next_cursor"]
        if cursor is None:
            break
    walk_done.set()
    editor.join()
    assert not failures

    # Resume the way an incremental sync does: from the last updated_at seen, inclusive.
    seen += api.walk(collection, updated_since=seen[-1]["updated_at"], limit=3)

    positions = [(r["updated_at"], r["id"]) for r in seen]
    assert positions == sorted(positions), "each walk is in (updated_at, id) order"
    versions: dict[str, list[int]] = {}
    for record in seen:
        versions.setdefault(record["id"], []).append(record["version"])
    assert set(versions) >= set(ids), f"skipped: {sorted(set(ids) - set(versions))}"
    for record_id, seen_versions in versions.items():
        assert seen_versions == sorted(seen_versions), f"{record_id} went back to an older version: {seen_versions}"
    assert len(versions[seen[0]["id"]]) >= 2, "the record edited behind the cursor came again"
    current = {r["id"]: r["version"] for r in api.walk(collection)}
    for record_id in ids:
        assert versions[record_id][-1] == current[record_id], f"{record_id}: the walk ended on a stale version"
        if record_id not in touched:
            assert current[record_id] == before[record_id]


def test_updated_since_is_inclusive(api: Api) -> None:
    records = api.get("/v1/products", limit=5).json()["data"]
    middle = records[2]
    since = api.get("/v1/products", updated_since=middle["updated_at"], limit=2).json()["data"]
    assert [r["id"] for r in since] == [middle["id"], records[3]["id"]]
    offset = middle["updated_at"].replace("Z", "+00:00")
    assert api.get("/v1/products", updated_since=offset, limit=1).json()["data"][0]["id"] == middle["id"]


def test_deleted_records_move_to_the_end_of_a_deleted_inclusive_walk(api: Api) -> None:
    user = api.post("/v1/users", {"name": "Leaving Soon", "email": "leaving@sales.test.example"}).json()
    api.patch("/v1/users/usr_2", {"title": "Written after the user above"})
    api.delete(f"/v1/users/{user['id']}")
    assert user["id"] not in [u["id"] for u in api.walk("users")]
    everything = api.walk("users", include_deleted="true")
    assert everything[-1]["id"] == user["id"]
    assert everything[-1]["deleted_at"] == everything[-1]["updated_at"]


def test_a_cursor_only_continues_its_own_query(api: Api) -> None:
    page = api.get("/v1/orders", limit=2, customer_id="cus_1").json()
    cursor = page["next_cursor"]
    assert cursor is not None
    same = api.get("/v1/orders", limit=5, customer_id="cus_1", cursor=cursor)
    assert same.status_code == 200, "the page size may change between pages"
    for changed in ({"customer_id": "cus_2"}, {}, {"include_deleted": "true"}):
        response = api.get("/v1/orders", limit=2, cursor=cursor, **changed)
        assert response.status_code == 422, changed
        assert "different query" in response.json()["error"]["fields"]["cursor"]
    assert api.get("/v1/products", cursor=cursor).status_code == 422, "nor another collection's walk"
    for garbage in ("abc", "eyJhdCI6MX0", "!!!"):
        response = api.get("/v1/orders", cursor=garbage)
        assert response.status_code == 422
        assert "next_cursor" in response.json()["error"]["fields"]["cursor"]


def test_list_parameters_are_checked(api: Api) -> None:
    for params in ({"limit": "0"}, {"limit": "1001"}, {"limit": "ten"}, {"updated_since": "yesterday"},
                   {"updated_since": "2024-01-01"}, {"include_deleted": "maybe"}, {"updated_after": "x"},
                   {"external_id[Bad-Name]": "1"}, {"sku": ""}):
        response = api.get("/v1/products", **params)
        assert response.status_code == 422, params
        assert set(response.json()["error"]["fields"]) == set(params), params
    repeated = api.request("GET", "/v1/products?limit=1&limit=2")
    assert repeated.status_code == 422
    assert "more than once" in repeated.json()["error"]["fields"]["limit"]
    big = api.get("/v1/orders", limit=1000).json()
    assert len(big["data"]) >= 80, "all seeded orders fit in one big page"
    assert big["next_cursor"] is None
