"""Lists: the Link and X-Total-Count headers, paging through the official client, sort and filters."""

from __future__ import annotations

import time
from typing import Any

import invoiced
import pytest

from tests.sandbox_invoiced.conftest import SEEDED_CUSTOMERS, Api, official_client, unique


@pytest.fixture(scope="module")
def seeded_api(seeded: Any) -> Api:
    return Api(seeded.url)


def test_client_pages_through_all_customers(seeded: Any) -> None:
    client = official_client(seeded.url)
    seen: list[int] = []
    page = 1
    while True:
        customers, meta = client.Customer.list(page=page)
        seen.extend(c.id for c in customers)
        assert meta.total_count == SEEDED_CUSTOMERS
        if "next" not in meta.links:
            break
        page += 1
    assert page == 3
    assert seen == sorted(seen)
    assert len(set(seen)) == SEEDED_CUSTOMERS


def test_link_header_format(seeded: Any, seeded_api: Api) -> None:
    response = seeded_api.get("/customers?page=2&per_page=10&sort=name+asc")
    base = seeded.url + "/customers"
    pages = -(-SEEDED_CUSTOMERS // 10)

    def url(page: int) -> str:
        return f"{base}?page={page}&sort=name+asc&per_page=10"

    assert response.headers["X-Total-Count"] == str(SEEDED_CUSTOMERS)
    assert response.headers["Link"] == (
        f'<{url(2)}>; rel="self", <{url(1)}>; rel="first", <{url(1)}>; rel="previous", '
        f'<{url(3)}>; rel="next", <{url(pages)}>; rel="last"'
    )
    names = [c["name"] for c in response.json()]
    assert names == sorted(names)


def test_link_on_a_single_page_and_default_per_page(seeded: Any, seeded_api: Api) -> None:
    response = seeded_api.get("/customers", params={"filter[id]": 1})
    base = seeded.url + "/customers?filter%5Bid%5D=1&page=1"
    assert response.headers["Link"] == f'<{base}>; rel="self", <{base}>; rel="first", <{base}>; rel="last"'
    assert response.headers["X-Total-Count"] == "1"
    empty = seeded_api.get("/customers", params={"filter[id]": 10**9})
    assert empty.json() == []
    assert empty.headers["X-Total-Count"] == "0"
    assert 'rel="last"' in empty.headers["Link"]


def test_page_and_per_page_are_clamped(seeded_api: Api) -> None:
    big = seeded_api.get("/customers", params={"per_page": 500})
    assert len(big.json()) == 100
    assert "per_page" not in big.headers["Link"]
    tiny = seeded_api.get("/customers", params={"per_page": -1, "page": -3})
    assert len(tiny.json()) == 1
    assert tiny.json()[0]["id"] == 1
    assert "page=1&per_page=1>" in tiny.headers["Link"]
    # The backend reads `per_page=0` and `page=0` as absent (PHP truthiness), not as 1.
    zero = seeded_api.get("/customers", params={"per_page": 0, "page": 0})
    assert len(zero.json()) == 100
    assert zero.json()[0]["id"] == 1
    assert "per_page" not in zero.headers["Link"]


def test_link_keeps_one_value_per_repeated_parameter(seeded: Any, seeded_api: Api) -> None:
    # PHP keeps a repeated name once, in its first place, with its last value.
    response = seeded_api.get("/customers?page=1&sort=name+asc&per_page=50&page=2&sort=id+desc")
    base = seeded.url + "/customers"
    assert response.headers["Link"].split(", ")[:2] == [
        f'<{base}?page=2&sort=id+desc&per_page=50>; rel="self"',
        f'<{base}?page=1&sort=id+desc&per_page=50>; rel="first"',
    ]
    ids = [c["id"] for c in response.json()]
    assert ids == sorted(ids, reverse=True)


def test_every_list_has_the_headers(seeded_api: Api) -> None:
    customer_id = seeded_api.get("/customers", params={"per_page": 1}).json()[0]["id"]
    for path in ("/customers", "/invoices", "/items", "/events", f"/customers/{customer_id}/contacts"):
        response = seeded_api.get(path)
        assert response.status_code == 200, path
        assert isinstance(response.json(), list)
        assert "X-Total-Count" in response.headers
        assert 'rel="self"' in response.headers["Link"]


def test_events_default_newest_first_others_oldest_first(seeded_api: Api) -> None:
    events = [e["id"] for e in seeded_api.get("/events").json()]
    assert events == sorted(events, reverse=True)
    invoices = [i["id"] for i in seeded_api.get("/invoices").json()]
    assert invoices == sorted(invoices)


def test_sort_drops_bad_terms_and_keeps_good_ones(seeded_api: Api) -> None:
    listed = seeded_api.get("/customers", params={"sort": "bogus asc,name sideways,name DESC"}).json()
    names = [c["name"] for c in listed]
    assert names == sorted(names, reverse=True)
    for injection in ("id;drop table customers", "name asc; --", "json_extract(doc,'$.x') desc", "id) desc"):
        response = seeded_api.get("/customers", params={"sort": injection, "per_page": 3})
        assert [c["id"] for c in response.json()] == [1, 2, 3], injection  # dropped: default order
    assert seeded_api.total("/customers") == SEEDED_CUSTOMERS


def test_updated_after_and_before_are_strict(client: invoiced.Client, api: Api) -> None:
    customer = client.Customer.create(name=unique("Strict"))
    stamp = customer.updated_at

    def ids(**params: Any) -> list[int]:
        return [c["id"] for c in api.get("/customers", params={"filter[id]": customer.id, **params}).json()]

    assert ids(updated_after=stamp) == []
    assert ids(updated_after=stamp - 1) == [customer.id]
    assert ids(updated_before=stamp) == []
    assert ids(updated_before=stamp + 1) == [customer.id]


def test_updated_after_follows_later_edits(client: invoiced.Client, api: Api) -> None:
    customer = client.Customer.create(name=unique("Moving"))
    first = customer.updated_at
    time.sleep(1.05)  # updated_at has one-second resolution; wait for the next second, assert nothing on time
    customer.save(city="Oslo")
    assert customer.updated_at > first
    found = api.get("/customers", params={"updated_after": first, "filter[id]": customer.id}).json()
    assert [c["city"] for c in found] == ["Oslo"]


def test_filters_and_metadata(client: invoiced.Client, api: Api) -> None:
    rep = unique("rep").replace(" ", "_")
    tagged = client.Customer.create(name=unique("Tagged"), metadata={"account_rep": rep}, country="NO")
    client.Customer.create(name=unique("Untagged"))
    found, meta = client.Customer.list(metadata={"account_rep": rep})
    assert [c.id for c in found] == [tagged.id]
    assert meta.total_count == 1
    both = api.get("/customers", params={"metadata[account_rep]": rep, "filter[country]": "NO"}).json()
    assert [c["id"] for c in both] == [tagged.id]
    assert api.get("/customers", params={"metadata[account_rep]": rep, "filter[country]": "SE"}).json() == []
    by_number = api.get("/customers", params={"filter[number]": tagged.number.lower()}).json()
    assert [c["id"] for c in by_number] == [tagged.id]


def test_invoice_filters_and_date_window(client: invoiced.Client, api: Api, customer: Any) -> None:
    early = client.Invoice.create(customer=customer.id, date=1_600_000_000, draft=True)
    late = client.Invoice.create(customer=customer.id, date=1_700_000_000)
    listed, _ = client.Invoice.list(filter={"customer": customer.id})
    assert [i.id for i in listed] == [early.id, late.id]
    drafts, _ = client.Invoice.list(filter={"customer": customer.id, "draft": True})
    assert [i.id for i in drafts] == [early.id]
    status = api.get("/invoices", params={"filter[customer]": customer.id, "filter[status]": "draft"}).json()
    assert [i["id"] for i in status] == [early.id]
    window = api.get(
        "/invoices", params={"filter[customer]": customer.id, "start_date": 1_600_000_000, "end_date": 1_650_000_000}
    ).json()
    assert [i["id"] for i in window] == [early.id]
    after = api.get("/invoices", params={"filter[customer]": customer.id, "start_date": 1_700_000_000}).json()
    assert [i["id"] for i in after] == [late.id]
