"""The one base stream: everything HTTP about reading Customcrm (base URL, bearer auth, requests, paging).

Customcrm's error policy, its retries and its error messages are `sync_core.http.customcrm` (shared with
target-customcrm), applied by `HTTPRulesStream`; the page format and cursor are in `pagination.py`, the
bookmark's emitted set in `bookmark.py`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any

import requests
from singer_sdk.authenticators import BearerTokenAuthenticator
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.streams.rest import HTTPRequest, PageContext
from sync_core.http import customcrm
from sync_core.http.stream import HTTPRulesStream

from tap_customcrm.bookmark import EmittedAtBookmark
from tap_customcrm.pagination import KeysetPaginator, read_page

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context


class CustomcrmStream(HTTPRulesStream[str | None]):
    """One Customcrm collection, walked in (updated_at, id) order from the bookmark, deletes included."""

    primary_keys = ("id",)
    replication_key = "updated_at"
    # The contract orders every list by (updated_at, id) and its keyset cursor never goes back in time,
    # so the bookmark may advance (and a run may resume) after every record.
    is_sorted = True
    # Records are decoded JSON that the contract already types (no datetimes, no floats: decimals are strings),
    # so the SDK's per-value type conformance, most of a record's CPU cost, would change nothing.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    # Which answers are retried and which fail, and how each failure is worded: shared with target-customcrm.
    rules = customcrm.RULES

    @property
    def url_base(self) -> str:
        return self.config["api_url"].rstrip("/") + "/v1"

    @cached_property
    def authenticator(self) -> BearerTokenAuthenticator:
        return BearerTokenAuthenticator(token=self.config["api_token"])

    # Requests and pages.

    def get_new_paginator(self) -> KeysetPaginator:
        return KeysetPaginator(self._read_page)

    def get_http_request(self, *, page: PageContext[str | None]) -> HTTPRequest:
        # The cursor is bound to the first page's query, so every page repeats the same updated_since.
        params: dict[str, Any] = {
            "limit": self.config["page_size"],
            "include_deleted": "true",
            "updated_since": self._updated_since,
            "cursor": page.next_page_token,
        }
        return HTTPRequest(url=self.get_url(page.stream_context), params=params, headers=self.http_headers)

    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        yield from self._read_page(response)["data"]

    def _read_page(self, response: requests.Response) -> Mapping[str, Any]:
        """Decode a page once for both the records and the paginator."""
        if response is not self._page_response:
            self._page_response, self._page = response, read_page(response)
        return self._page

    # Incremental reads: `updated_since` is inclusive, so records at the bookmark come again.

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        start = self.get_starting_timestamp(context)
        # The contract's own timestamp shape (UTC, microseconds, Z), whatever offset start_date was written with.
        self._updated_since = (
            None if start is None else start.astimezone(timezone.utc).strftime(customcrm.WIRE_TIMESTAMP_FORMAT)
        )
        self._emitted = EmittedAtBookmark(self.get_context_state(context))
        self._page_response, self._page = None, {}
        self._properties = frozenset(self.schema["properties"])
        self._reported: set[frozenset[str]] = set()
        yield from super().get_records(context)
        self._page_response, self._page = None, {}  # a page can be megabytes: do not keep it past the walk

    def generate_child_contexts(self, record: dict[str, Any], context: Context | None) -> Iterable[Context | None]:
        # The SDK copies a child context out of every record, even when no stream hangs below this one.
        if self.child_streams:
            yield from super().generate_child_contexts(record, context)

    def post_process(self, row: dict[str, Any], context: Context | None = None) -> dict[str, Any] | None:
        if not self._emitted.admit(row):
            return None
        if not self._properties.issuperset(row):  # what SDK conformance would do, for the top level only
            unknown = frozenset(row) - self._properties
            if unknown not in self._reported:
                self._reported.add(unknown)
                self.logger.warning("Fields %s are not in this tap's %s schema; dropped", sorted(unknown), self.name)
            row = {name: value for name, value in row.items() if name in self._properties}
        row["_sdc_deleted_at"] = row.get("deleted_at")  # a tombstone, as loaders recognise one
        return row
