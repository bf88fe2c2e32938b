"""The one base stream: what is HTTP about reading Invoiced (base URL, Basic auth, requests, decoding answers).

Invoiced's error policy, its retries and its error messages are `sync_core.http.invoiced` (shared with
target-invoiced), applied by `HTTPRulesStream`. Which page to ask for next is decided in `pagination.py`; this
module only sends the requests a walk asks for and decodes the answers (`read_page`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from email.utils import parsedate_to_datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from singer_sdk.authenticators import BasicAuthenticator
from singer_sdk.exceptions import FatalAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.streams.rest import HTTPRequest, PageContext
from sync_core.http import invoiced
from sync_core.http.policy import Verdict
from sync_core.http.stream import HTTPRulesStream

from tap_invoiced.pagination import Page, PageWalk, Step, Walk, WalkPaginator

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context


def read_page(response: requests.Response) -> Page:
    """Decode a list response: a bare JSON array plus the X-Total-Count, Link and Date headers."""
    if response.status_code >= 400:  # a tolerated error: nothing to read
        return Page(rows=[])
    try:
        rows = invoiced.decode(response)
    except ValueError as exc:
        msg = f"GET {urlsplit(response.url).path} answered a body that is not JSON ({exc}); is api_url Invoiced?"
        raise FatalAPIError(msg) from exc
    if not isinstance(rows, list):
        msg = f"GET {urlsplit(response.url).path} answered {type(rows).__name__}, not a list; is api_url Invoiced?"
        raise FatalAPIError(msg)
    headers = response.headers
    total = headers.get("X-Total-Count")
    date = headers.get("Date")
    return Page(
        rows=rows,
        total=int(total) if total and total.isdigit() else None,
        has_next='rel="next"' in headers.get("Link", ""),
        server_time=int(parsedate_to_datetime(date).timestamp()) if date else None,
    )


class InvoicedStream(HTTPRulesStream[Step]):
    """One Invoiced list. Subclasses say which `Walk`s to run; this class runs them and owns the HTTP."""

    primary_keys = ("id",)
    # post_process already gives each record exactly the schema's top-level fields, in the schema's types (money
    # as decimal text); the SDK's recursive pass over every value would only cost time (about half of it).
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    # Which answers are tolerated, retried or fatal, and how each failure is worded: shared with target-invoiced.
    rules = invoiced.RULES

    @property
    def url_base(self) -> str:
        return invoiced.base_url(self.config)

    @cached_property
    def authenticator(self) -> BasicAuthenticator:
        # Invoiced takes the API key as the Basic-auth username with a blank password.
        return BasicAuthenticator(username=self.config["api_key"], password="")

    @property
    def per_page(self) -> int:
        return int(self.config["per_page"])

    @property
    def overlap(self) -> int:
        return int(self.config["overlap_seconds"])

    # Walks: each one runs through the SDK's request loop with its own paginator.

    def walk(self, walk: Walk, context: Context | None = None) -> Iterator[dict[str, Any]]:
        """Every row of one walk, as Invoiced sent it."""
        self._next_walk = walk  # picked up by get_new_paginator as request_records starts
        yield from self.request_records(context)

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        yield from self.walk(PageWalk(self.path, {}, self.per_page), context)

    def get_new_paginator(self) -> WalkPaginator:
        return WalkPaginator(self._next_walk, self.read_page)

    def get_http_request(self, *, page: PageContext[Step]) -> HTTPRequest:
        step = page.next_page_token
        assert step is not None
        self._step_in_flight = step  # validate_response needs to know whether a 404 is expected
        return HTTPRequest(url=self.url_base + step.path, params=step.query(), headers=self.http_headers)

    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        page = self.read_page(response)
        # A probe only counts; its one row comes again in the pages that follow.
        return [] if self._step_in_flight.kind == "probe" else page.rows

    def read_page(self, response: requests.Response) -> Page:
        """Decode each response once, for both parse_response and the paginator."""
        if response is not getattr(self, "_decoded_response", None):
            self._decoded_response, self._decoded_page = response, read_page(response)
            if self._decoded_page.server_time is not None:
                self._server_clock = self._decoded_page.server_time
        return self._decoded_page

    def server_time(self, page: Page | None = None) -> int:
        """Now by the server's clock (the Date header of `page`, else of the latest answer), else by ours."""
        if page is not None and page.server_time is not None:
            return page.server_time
        return getattr(self, "_server_clock", None) or int(time.time())

    def tolerated(self) -> Mapping[int, Verdict] | None:
        # A list below a parent (`missing_ok`) answers 404 when the parent was deleted after it was listed.
        step = getattr(self, "_step_in_flight", None)
        return {404: invoiced.MISSING_PARENT} if step and step.missing_ok else None
