"""Catalog items: string ids, create-only fields, archive on delete, id reuse, the legacy path."""

from __future__ import annotations

import time

import invoiced
import pytest

from tests.sandbox_invoiced.conftest import Api, unique


def item_id(prefix: str) -> str:
    return unique(prefix).replace(" ", "-").lower()


def test_item_crud_and_create_only_fields(client: invoiced.Client, api: Api) -> None:
    identifier = item_id("consulting")
    item = client.Item.create(id=identifier, name="Consulting Hour", unit_cost=150, currency="EUR")
    assert (item.id, item.object, item.currency, item.unit_cost) == (identifier, "item", "eur", 150)

    response = api.patch(
        f"/items/{identifier}", json={"name": "Senior Hour", "unit_cost": 999, "currency": "usd", "taxable": False}
    )
    assert response.status_code == 200
    body = response.json()
    # Create-only fields are dropped silently, the rest applies.
    assert (body["name"], body["unit_cost"], body["currency"], body["taxable"]) == ("Senior Hour", 150, "eur", True)
    assert client.Item.retrieve(identifier).name == "Senior Hour"


def test_generated_ids_and_id_rules(client: invoiced.Client, api: Api) -> None:
    generated = client.Item.create(name="No id given")
    assert len(generated.id) == 6
    assert generated.id.isalnum()
    for bad in ("x", "has space", "semi;colon"):
        response = api.post("/items", json={"id": bad, "name": "Bad"})
        assert response.status_code == 400, bad
        assert response.json()["param"] == "id"


def test_delete_archives_and_the_id_can_be_reused(client: invoiced.Client, api: Api) -> None:
    identifier = item_id("reusable")
    client.Item.create(id=identifier, name="First version", unit_cost=1)
    with pytest.raises(invoiced.errors.InvalidRequestError) as taken:
        client.Item.create(id=identifier, name="Clash")
    assert taken.value.error == {
        "type": "invalid_request",
        "message": f"An item already exists with ID: {identifier}",
        "param": "id",
    }

    assert api.delete(f"/items/{identifier}").status_code == 204
    live = api.get("/items", params={"filter[id]": identifier})
    archived = api.get("/items", params={"filter[id]": identifier, "archived": 1})
    assert live.json() == []
    assert [i["name"] for i in archived.json()] == ["First version"]
    assert api.get(f"/items/{identifier}").json()["name"] == "First version"  # latest version still resolves

    second = client.Item.create(id=identifier, name="Second version", unit_cost=2)
    assert second.id == identifier
    assert api.get(f"/items/{identifier}").json()["name"] == "Second version"
    assert api.total("/items", **{"filter[id]": identifier, "archived": 1}) == 1


def test_catalog_items_path_is_the_same_collection(api: Api) -> None:
    identifier = item_id("legacy")
    assert api.post("/catalog_items", json={"id": identifier, "name": "Legacy"}).status_code == 201
    assert api.get(f"/items/{identifier}").status_code == 200
    assert api.get("/catalog_items", params={"filter[id]": identifier}).json()[0]["id"] == identifier


def test_items_emit_no_events(api: Api) -> None:
    before = api.total("/events")
    identifier = item_id("silent")
    api.post("/items", json={"id": identifier, "name": "Silent"})
    api.patch(f"/items/{identifier}", json={"name": "Still silent"})
    api.delete(f"/items/{identifier}")
    assert api.total("/events") == before


def test_delete_stamps_updated_at_on_the_archived_version(client: invoiced.Client, api: Api) -> None:
    identifier = item_id("stamped")
    created = client.Item.create(id=identifier, name="Stamped")
    while int(time.time()) <= created.updated_at:  # let the clock reach the next second, so a stamp shows
        time.sleep(0.05)
    assert api.delete(f"/items/{identifier}").status_code == 204
    archived = api.get("/items", params={"filter[id]": identifier, "archived": 1}).json()
    assert [i["updated_at"] > created.updated_at for i in archived] == [True]
    assert api.get(f"/items/{identifier}").json()["updated_at"] == archived[0]["updated_at"]
