"""What the targets' APIs of both systems do alike (sync_core.http.invoiced.InvoicedApi, ...customcrm.CustomcrmApi):
read one record, create one under an idempotency key, and decode an answer with exact amounts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

import requests

from sync_core.client import ApiClient
from sync_core.http.policy import Verdict


def decode(response: requests.Response) -> Any:
    """JSON with exact amounts."""
    return json.loads(response.content, parse_float=Decimal)


class RecordsApi:
    """Subclasses say what a 404 to a read means in their system, and add their lists, updates and deletes."""

    missing: ClassVar[Verdict]  # a 404 to a read: the record is not there

    def __init__(self, client: ApiClient) -> None:
        self.client = client

    def get(self, path: str) -> dict[str, Any] | None:
        """One record, or None when the system has no such record."""
        response = self.client.request("GET", path, tolerated={404: self.missing})
        return None if response.status_code == 404 else decode(response)

    def create(self, path: str, body: Mapping[str, Any], idempotency_key: str | None) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return decode(self.client.request("POST", path, json=body, headers=headers))
