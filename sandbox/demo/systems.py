"""The demo's own calls to the two systems, through their public APIs, as a user or a colleague would make them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from customcrm_invoiced_mapper.values import item_id_from_sku

INVOICED_KEY = "demo_invoiced_key"
CUSTOMCRM_TOKEN = "demo_customcrm_token"  # noqa: S105 - a public demo value


@dataclass
class Systems:
    customcrm_url: str
    invoiced_url: str

    def __post_init__(self) -> None:
        self.crm = requests.Session()
        self.crm.headers["Authorization"] = f"Bearer {CUSTOMCRM_TOKEN}"
        self.inv = requests.Session()
        self.inv.auth = (INVOICED_KEY, "")

    # Customcrm: a cursor-paged list per entity.

    def crm_all(self, entity: str) -> list[dict[str, Any]]:
        records, cursor = [], None
        while True:
            params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
            body = self._ok(self.crm.get(f"{self.customcrm_url}/v1/{entity}", params=params, timeout=30))
            records += body["data"]
            cursor = body.get("next_cursor")
            if not cursor:
                return records

    def crm_get(self, entity: str, record_id: str) -> dict[str, Any]:
        return self._ok(self.crm.get(f"{self.customcrm_url}/v1/{entity}/{record_id}", timeout=10))

    def crm_patch(self, entity: str, record: dict[str, Any], changes: dict[str, Any]) -> None:
        self._ok(self.crm.patch(f"{self.customcrm_url}/v1/{entity}/{record['id']}", json=changes,
                                headers={"If-Match": f'"{record["version"]}"'}, timeout=10))

    # Invoiced: page-numbered lists.

    def inv_all(self, path: str) -> list[dict[str, Any]]:
        records, page = [], 1
        while True:
            batch = self._ok(self.inv.get(self.invoiced_url + path, params={"per_page": 100, "page": page},
                                          timeout=30))
            records += batch
            if len(batch) < 100:
                return records
            page += 1

    def inv_get(self, path: str) -> dict[str, Any]:
        return self._ok(self.inv.get(self.invoiced_url + path, timeout=10))

    def inv_post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._ok(self.inv.post(self.invoiced_url + path, json=body, timeout=10))

    def inv_patch(self, path: str, changes: dict[str, Any]) -> None:
        self._ok(self.inv.patch(self.invoiced_url + path, json=changes, timeout=10))

    def type_overlap(self, *, by_org_number: int, by_email: int, items: int) -> None:
        """Before the sync existed, someone typed some of the CRM's companies and products into Invoiced: some
        with the org number in metadata, some with only the billing e-mail, items under the id the sync derives
        from the SKU. The first sync must link these, not duplicate them. The country is typed too: left out,
        Invoiced fills in the account's own, and on a first link that later value would win over the CRM's."""
        customers = [c for c in self.crm_all("customers") if c["status"] == "active"]
        for customer in customers[:by_org_number]:
            self.inv_post("/customers", {"name": customer["name"], "country": customer["billing_address"]["country"],
                                         "metadata": {"org_number": customer["org_number"]}})
        for customer in customers[by_org_number:by_org_number + by_email]:
            self.inv_post("/customers", {"name": customer["name"], "country": customer["billing_address"]["country"],
                                         "email": customer["email"]})
        for product in [p for p in self.crm_all("products") if p["active"]][:items]:
            self.inv_post("/items", {"id": item_id_from_sku(product["sku"]), "name": product["name"],
                                     "unit_cost": float(product["unit_price"]), "currency": product["currency"]})

    @staticmethod
    def _ok(response: requests.Response) -> Any:
        if not response.ok:
            raise SystemExit(f"demo: {response.request.method} {response.url.split('?')[0]} answered "
                             f"{response.status_code}: {response.text[:300]}")
        return response.json()
