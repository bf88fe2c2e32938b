"""Paging under a primary-key sort: a cursor from the previous page, and deep pages only in order.

Real Invoiced pages a list sorted by its primary key alone by the last key of the page before, remembered
for the list's filters; from offset 10 000 on, a page whose preceding page was not read is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import invoiced
import pytest

from sandbox.common.process import RunningSandbox
from sandbox.invoiced.cursors import PageCursors
from tests.sandbox_invoiced.conftest import API_KEY, Api, official_client, unique

PRECEDING = "You must retrieve all preceding page numbers before retrieving this page."
# About 10 100 events (customers, contacts, invoices, voids): just past offset 10 000 at 100 a page.
DEEP_SEED_CUSTOMERS = 2200


def refusal(response: Any) -> tuple[int, dict[str, Any]]:
    return response.status_code, response.json()


def test_a_deep_page_is_refused_unless_the_page_before_was_read(api: Api, customer: Any) -> None:
    contacts = f"/customers/{customer.id}/contacts"
    key_sorted = [
        ("/customers", {}), ("/customers", {"sort": "id desc"}), ("/customers", {"sort": "ID ASC"}),
        ("/customers", {"sort": "bogus asc"}), ("/invoices", {}), ("/items", {}), ("/events", {}), (contacts, {}),
    ]
    for path, params in key_sorted:
        deep = api.get(path, params={**params, "per_page": 100, "page": 101})  # offset 10 000
        assert refusal(deep) == (400, {"type": "invalid_request", "message": PRECEDING}), (path, params)
        assert api.get(path, params={**params, "per_page": 1, "page": 10_001}).status_code == 400, (path, params)
        # The offset decides, not the page number: 9 999 is still served by counting rows.
        assert api.get(path, params={**params, "per_page": 1, "page": 10_000}).json() == [], (path, params)
    # Only a non-empty page leaves a cursor, so on a short list the page before does not help.
    assert api.get("/customers", params={"per_page": 100, "page": 100}).json() == []
    assert api.get("/customers", params={"per_page": 100, "page": 101}).status_code == 400


def test_other_sorts_serve_any_offset(api: Api) -> None:
    for path, sort in (("/customers", "name asc"), ("/customers", "id asc,name asc"), ("/items", "id asc")):
        # Items' `id` is their own string code, not the primary key.
        response = api.get(path, params={"sort": sort, "per_page": 100, "page": 101})
        assert (response.status_code, response.json()) == (200, []), (path, sort)


def test_the_official_client_gets_the_refusal(client: invoiced.Client) -> None:
    with pytest.raises(invoiced.errors.InvalidRequestError, match="preceding page numbers"):
        client.Event.list(page=101)


def test_the_next_page_continues_after_the_previous_pages_last_key(client: invoiced.Client, api: Api) -> None:
    batch = unique("batch").replace(" ", "-")
    created = [client.Customer.create(name=f"{name} {batch}", metadata={"batch": batch}) for name in "ABCDE"]
    ids = [c.id for c in created]
    by_key = {"metadata[batch]": batch, "per_page": 2}
    by_name = {**by_key, "sort": "name asc"}
    assert [c["id"] for c in api.get("/customers", params={**by_key, "page": 1}).json()] == ids[:2]
    assert [c["id"] for c in api.get("/customers", params={**by_name, "page": 1}).json()] == ids[:2]
    created[0].delete()

    # By key: after the last key of page 1, so C is not skipped though A is gone.
    assert [c["id"] for c in api.get("/customers", params={**by_key, "page": 2}).json()] == ids[2:4]
    # Sorted otherwise, pages count rows: C moved onto page 1 and is skipped.
    assert [c["id"] for c in api.get("/customers", params={**by_name, "page": 2}).json()] == ids[3:5]
    # Another filter set has a cursor of its own: none yet, so rows are counted.
    other = {**by_key, "filter[active]": 1, "page": 2}
    assert [c["id"] for c in api.get("/customers", params=other).json()] == ids[3:5]


@pytest.fixture(scope="module")
def deep(start_sandbox: Any) -> Iterator[RunningSandbox]:
    with start_sandbox(
        "invoiced", "--api-key", API_KEY, "--seed-customers", str(DEEP_SEED_CUSTOMERS), "--seed", "3", timeout=120
    ) as running:
        yield running


def test_the_official_client_walks_past_offset_10000_in_order(deep: RunningSandbox) -> None:
    api, client = Api(deep.url), official_client(deep.url)
    total = api.total("/events")
    assert total > 10_100, "the seed must reach past offset 10 000 at 100 a page"
    assert refusal(api.get("/events", params={"page": 101})) == (400, {"type": "invalid_request", "message": PRECEDING})

    seen: list[int] = []
    page = 1
    while True:
        events, meta = client.Event.list(page=page)
        seen.extend(event.id for event in events)
        if "next" not in meta.links:
            break
        page += 1

    assert page == -(-total // 100) > 101
    assert len(seen) == len(set(seen)) == total
    assert seen == sorted(seen, reverse=True)  # newest first, across the cursor pages too
    # The cursors read on the way stay for a while: the deep page may now be asked for again.
    again = api.get("/events", params={"page": 101})
    assert [event["id"] for event in again.json()] == seen[10_000:10_100]


def test_cursors_expire_and_the_oldest_give_way() -> None:
    now = [0.0]
    cursors = PageCursors(ttl=300, limit=2, clock=lambda: now[0])
    cursors.remember("customers", 100, 100)
    now[0] = 299
    assert cursors.find("customers", 100) == 100
    assert cursors.find("customers", 200) is None
    assert cursors.find("invoices", 100) is None
    now[0] = 300
    assert cursors.find("customers", 100) is None  # five minutes, as the backend keeps them
    for offset in (100, 200, 300):
        cursors.remember("events", offset, -offset)
    assert [cursors.find("events", offset) for offset in (100, 200, 300)] == [None, -200, -300]
