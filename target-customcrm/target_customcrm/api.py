"""The Customcrm requests the target makes, on the core's client (Customcrm's HTTP rules live in sync_core.http)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import requests
from sync_core.client import ApiClient, RequestFailed
from sync_core.executor import Stale
from sync_core.http.policy import Action, Verdict

PAGE_SIZE = 1000  # the contract's maximum
GONE = Verdict(Action.TOLERATE, "no such record")


class CustomcrmApi:
    def __init__(self, client: ApiClient) -> None:
        self.client = client

    def get(self, path: str) -> dict[str, Any] | None:
        response = self.client.request("GET", path, tolerated={404: GONE})
        return None if response.status_code == 404 else _decode(response)

    def list(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every record of a list, following the keyset cursor."""
        cursor = None
        while True:
            query = {"limit": PAGE_SIZE, **(params or {}), **({"cursor": cursor} if cursor else {})}
            page = _decode(self.client.request("GET", path, params=query))
            yield from page["data"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def create(self, path: str, body: Mapping[str, Any], idempotency_key: str | None) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return _decode(self.client.request("POST", path, json=body, headers=headers))

    def update(self, path: str, body: Mapping[str, Any], version: Any) -> dict[str, Any]:
        """A PATCH guarded by If-Match; Stale when the record moved on since it was read."""
        try:
            return _decode(self.client.request("PATCH", path, json=body, headers={"If-Match": f'"{version}"'}))
        except RequestFailed as failure:
            if failure.status == 412:
                raise Stale(str(failure)) from None
            raise

    def delete(self, path: str, version: Any) -> None:
        try:
            self.client.request("DELETE", path, headers={"If-Match": f'"{version}"'}, tolerated={404: GONE})
        except RequestFailed as failure:
            if failure.status == 412:
                raise Stale(str(failure)) from None
            raise


def _decode(response: requests.Response) -> Any:
    return json.loads(response.content, parse_float=Decimal)
