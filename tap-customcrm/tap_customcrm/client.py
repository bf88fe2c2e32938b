"""Everything HTTP about Customcrm, in one place: base URL, bearer auth, keyset paging, retries, error policy.

The error policy (`ERROR_POLICY`, `classify`, `describe_error`) and the retry waits (`retry_waits`) are plain
functions of a status or a response, so a Customcrm target can apply the very same rules to its writes.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass
from datetime import timezone
from decimal import Decimal
from functools import cached_property
from importlib import metadata
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from singer_sdk.authenticators import BearerTokenAuthenticator
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.pagination import BaseAPIPaginator
from singer_sdk.streams import RESTStream
from singer_sdk.streams.rest import HTTPRequest, PageContext

from tap_customcrm.bookmark import EmittedAtBookmark

if TYPE_CHECKING:
    from backoff.types import Details
    from singer_sdk.helpers.types import Context

MAX_RETRY_WAIT_SECONDS = 60.0
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass(frozen=True)
class Verdict:
    """What to do about one error status, and why (the reason ends up in the error message)."""

    retriable: bool
    reason: str


ERROR_POLICY: Mapping[int, Verdict] = {
    400: Verdict(retriable=False, reason="the request is malformed; this is a bug in the client"),
    401: Verdict(retriable=False, reason="the API token is missing or wrong: check the api_token setting"),
    403: Verdict(retriable=False, reason="the API token may not do this: grant its user access"),
    404: Verdict(retriable=False, reason="no such resource: check that api_url is the service root (no /v1)"),
    408: Verdict(retriable=True, reason="the server timed out waiting for the request"),
    409: Verdict(retriable=False, reason="the request conflicts with the current state of the record"),
    412: Verdict(retriable=False, reason="the record changed since it was read (If-Match): read it again"),
    422: Verdict(retriable=False, reason="the server rejected the request as invalid (see fields)"),
    429: Verdict(retriable=True, reason="rate limited: waiting before the next try"),
}
SERVER_ERROR = Verdict(retriable=True, reason="server error, usually transient")
OTHER_CLIENT_ERROR = Verdict(retriable=False, reason="the server refused the request; retrying cannot help")


def classify(status: int) -> Verdict | None:
    """The verdict on an HTTP status: None for success, else retriable or fatal with a reason."""
    if status < 400:
        return None
    if status in ERROR_POLICY:
        return ERROR_POLICY[status]
    return SERVER_ERROR if status >= 500 else OTHER_CLIENT_ERROR


def describe_error(response: requests.Response, verdict: Verdict) -> str:
    """`GET /v1/orders -> 422 invalid: message (fields: a: why) -- reason`; never headers, never the query."""
    request = response.request
    path = urlsplit(request.url or "").path
    text = f"{request.method} {path} -> {response.status_code}"
    error = _error_body(response)
    if error is None:
        text += f" {response.reason}"
    else:
        text += f" {error.get('code', 'error')}: {error.get('message', '')}".rstrip()
        fields = error.get("fields")
        if isinstance(fields, dict) and fields:
            text += " (fields: " + "; ".join(f"{name}: {why}" for name, why in fields.items()) + ")"
    return f"{text} -- {verdict.reason}"


def _error_body(response: requests.Response) -> dict[str, Any] | None:
    """The contract's `{"error": {"code", "message", "fields"}}`, or None when the body is something else."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return None
    return error if isinstance(error, dict) else None


def retry_waits(base_seconds: float) -> Generator[float, BaseException | None, None]:
    """Exponential backoff with full jitter; a Retry-After header is a floor. Receives each failure."""
    failure = yield 0.0  # `backoff` primes the generator before the first failure
    ceiling = base_seconds
    while True:
        wait = random.uniform(0, min(ceiling, MAX_RETRY_WAIT_SECONDS))
        failure = yield max(wait, _retry_after_seconds(failure))
        ceiling *= 2


def _retry_after_seconds(failure: BaseException | None) -> float:
    response = getattr(failure, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return min(float(value), MAX_RETRY_WAIT_SECONDS) if value else 0.0
    except ValueError:  # an HTTP date instead of seconds: fall back to our own backoff
        return 0.0


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


class CustomcrmStream(RESTStream[str | None]):
    """One Customcrm collection, walked in (updated_at, id) order from the bookmark, deletes included."""

    primary_keys = ("id",)
    replication_key = "updated_at"
    # The contract orders every list by (updated_at, id) and its keyset cursor never goes back in time,
    # so the bookmark may advance (and a run may resume) after every record.
    is_sorted = True
    # Records are decoded JSON that the contract already types (no datetimes, no floats: decimals are strings),
    # so the SDK's per-value type conformance, most of a record's CPU cost, would change nothing.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    @property
    def url_base(self) -> str:
        return self.config["api_url"].rstrip("/") + "/v1"

    @cached_property
    def authenticator(self) -> BearerTokenAuthenticator:
        return BearerTokenAuthenticator(token=self.config["api_token"])

    @property
    def http_headers(self) -> dict[str, str]:
        return {"Accept": "application/json"}

    @cached_property
    def user_agent(self) -> str:
        return self.config.get("user_agent") or f"tap-customcrm/{metadata.version('tap-customcrm')}"

    @property
    def timeout(self) -> float:  # type: ignore[override]  # the SDK types it int; requests takes float
        return float(self.config.get("request_timeout", 60))

    # Retries: the SDK's one backoff layer, tuned by the settings.

    def backoff_max_tries(self) -> int:
        return int(self.config.get("max_retries", 5)) + 1

    def backoff_wait_generator(self) -> Generator[float, BaseException | None, None]:  # type: ignore[override]
        return retry_waits(float(self.config.get("retry_wait_seconds", 1.0)))

    def backoff_jitter(self, value: float) -> float:
        return value  # retry_waits already jitters

    def backoff_handler(self, details: Details) -> None:
        failure = details.get("exception")
        if not isinstance(failure, RetriableAPIError):  # no response: name the request and the kind of failure
            request = details["args"][0]
            failure = f"{request.method} {urlsplit(request.url).path}: {type(failure).__name__}"
        self.logger.warning(
            "%s; retry %d of %d in %.2f s", failure, details["tries"], self.backoff_max_tries() - 1, details["wait"]
        )

    # Errors: one table decides, one function words the message.

    def validate_response(self, response: requests.Response) -> None:
        verdict = classify(response.status_code)
        if verdict is None:
            return
        message = describe_error(response, verdict)
        if verdict.retriable:
            raise RetriableAPIError(message, response)
        raise FatalAPIError(message)

    def response_error_message(self, response: requests.Response) -> str:
        return describe_error(response, classify(response.status_code) or OTHER_CLIENT_ERROR)

    # Requests and pages.

    def get_new_paginator(self) -> KeysetPaginator:
        return KeysetPaginator(self._read_page)

    def get_http_request(self, *, page: PageContext[str | None]) -> HTTPRequest:
        # The cursor is bound to the first page's query, so every page repeats the same updated_since.
        params: dict[str, Any] = {
            "limit": self.config.get("page_size", 1000),
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
            self._page_response, self._page = response, _decode_page(response)
        return self._page

    # Incremental reads: `updated_since` is inclusive, so records at the bookmark come again.

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        start = self.get_starting_timestamp(context)
        # The contract's own timestamp shape (UTC, microseconds, Z), whatever offset start_date was written with.
        self._updated_since = None if start is None else start.astimezone(timezone.utc).strftime(TIMESTAMP_FORMAT)
        self._emitted = EmittedAtBookmark(self.get_context_state(context))
        self._page_response, self._page = None, {}
        self._properties = frozenset(self.schema["properties"])
        self._reported: set[frozenset[str]] = set()
        yield from super().get_records(context)
        self._page_response, self._page = None, {}  # a page can be megabytes: do not keep it past the walk

    def post_process(self, row: dict[str, Any], context: Context | None = None) -> dict[str, Any] | None:
        if not self._emitted.admit(row):
            return None
        if not self._properties.issuperset(row):  # what SDK conformance would do, for the top level only
            unknown = frozenset(row) - self._properties
            if unknown not in self._reported:
                self._reported.add(unknown)
                self.logger.warning("Fields %s are not in this tap's %s schema; dropped", sorted(unknown), self.name)
            row = {name: value for name, value in row.items() if name in self._properties}
        return row


def _decode_page(response: requests.Response) -> dict[str, Any]:
    """The contract's list body `{"data": [...], "next_cursor": str | null}`, or a fatal error saying why not."""
    try:
        page = json.loads(response.content, parse_float=Decimal)
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
