"""The contract's list pages: `{"data": [...], "next_cursor": str | null}`, decoded once and walked by cursor."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from singer_sdk.exceptions import FatalAPIError
from singer_sdk.pagination import BaseAPIPaginator
from sync_core.http import customcrm


def read_page(response: requests.Response) -> dict[str, Any]:
    """The list body of a successful answer, or a fatal error saying why it is not one."""
    try:
        page = customcrm.decode(response)
    except ValueError as exc:
        msg = (
            f"{response.request.method} {urlsplit(response.url).path} answered {response.status_code} "
            f"with a body that is not JSON ({exc}); is api_url a Customcrm service?"
        )
        raise FatalAPIError(msg) from exc
    if not isinstance(page, dict) or not isinstance(page.get("data"), list):
        msg = (
            f"{response.request.method} {urlsplit(response.url).path} answered a body without a `data` list; "
            "is api_url a Customcrm service?"
        )
        raise FatalAPIError(msg)
    return page


class KeysetPaginator(BaseAPIPaginator[str | None]):
    """Follows the contract's opaque `next_cursor` until it is null."""

    def __init__(self, read_page: Callable[[requests.Response], Mapping[str, Any]]) -> None:
        super().__init__(None)
        self._read_page = read_page

    def get_next(self, response: requests.Response) -> str | None:
        return self._read_page(response).get("next_cursor")

    def continue_if_empty(self, response: requests.Response) -> bool:
        # An empty page with a cursor is legal under the contract: trust the cursor, not the page size.
        return self.get_next(response) is not None
