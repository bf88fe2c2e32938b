"""The Invoiced requests the target makes, on the core's client (Invoiced's HTTP rules live in sync_core.http)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import requests
from sync_core.client import ApiClient
from sync_core.http.invoiced import MISSING_PARENT

PER_PAGE = 100  # Invoiced's maximum


class InvoicedApi:
    def __init__(self, client: ApiClient) -> None:
        self.client = client

    def get(self, path: str) -> dict[str, Any] | None:
        """One object, or None when Invoiced has no such object."""
        response = self.client.request("GET", path, tolerated={404: MISSING_PARENT})
        return None if response.status_code == 404 else _decode(response)

    def list(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every object of a list, page by page in id order (following Link: rel=next)."""
        page = 1
        while True:
            query = {"per_page": PER_PAGE, "page": page, **(params or {})}
            response = self.client.request("GET", path, params=query)
            rows = _decode(response)
            yield from rows
            if 'rel="next"' not in response.headers.get("Link", "") or not rows:
                return
            page += 1

    def total(self, path: str, params: Mapping[str, Any] | None = None) -> int:
        """How many objects a list holds (X-Total-Count), for one request."""
        response = self.client.request("GET", path, params={"per_page": 1, **(params or {})})
        return int(response.headers.get("X-Total-Count") or len(_decode(response)))

    def create(self, path: str, body: Mapping[str, Any], idempotency_key: str | None) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return _decode(self.client.request("POST", path, json=body, headers=headers))

    def update(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return _decode(self.client.request("PATCH", path, json=body))

    def action(self, path: str) -> dict[str, Any]:
        return _decode(self.client.request("POST", path))

    def delete(self, path: str) -> None:
        """Already gone counts as done: a retried DELETE whose first answer was lost finds nothing."""
        self.client.request("DELETE", path, tolerated={404: MISSING_PARENT})


def _decode(response: requests.Response) -> Any:
    return json.loads(response.content, parse_float=Decimal)
