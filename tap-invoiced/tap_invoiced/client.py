"""Everything HTTP about Invoiced, in one place: base URL, Basic auth, requests, retries and the error policy.

The policy (`ERROR_POLICY`, `classify`, `describe_error`, `describe_failure`) and the waits between tries
(`retry_waits`) are plain functions of a status, a response or a failure, so a target writing to Invoiced can
apply the very same rules. Which page to ask for next is decided in `pagination.py`; this module only sends
the requests a walk asks for and decodes the answers (`read_page`).
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from email.utils import parsedate_to_datetime
from enum import Enum
from functools import cached_property
from importlib import metadata
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from singer_sdk.authenticators import BasicAuthenticator
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.streams import RESTStream
from singer_sdk.streams.rest import HTTPRequest, PageContext

from tap_invoiced.pagination import Page, PageWalk, Step, Walk, WalkPaginator

if TYPE_CHECKING:
    from backoff.types import Details
    from singer_sdk.helpers.types import Context, RequestFunc

PRODUCTION_URL = "https://api.invoiced.com"
SANDBOX_URL = "https://api.sandbox.invoiced.com"
MAX_RETRY_WAIT_SECONDS = 60.0


def base_url(config: Mapping[str, Any]) -> str:
    """`api_url` if set, else the sandbox only for a JSON `true` (never the string "false"), else production."""
    if config.get("api_url"):
        return str(config["api_url"]).rstrip("/")
    return SANDBOX_URL if config.get("sandbox") is True else PRODUCTION_URL


class Action(Enum):
    TOLERATE = "tolerate"
    RETRY = "retry"
    FAIL = "fail"


@dataclass(frozen=True)
class Verdict:
    """What to do about one error status, and why (the reason ends up in the error message)."""

    action: Action
    reason: str


ERROR_POLICY: Mapping[int, Verdict] = {
    400: Verdict(Action.FAIL, "Invoiced refused the request as invalid"),
    401: Verdict(Action.FAIL, "the API key is wrong or missing: check api_key, and that sandbox keys go with "
                 "sandbox=true (or api_url) and production keys without it"),
    402: Verdict(Action.FAIL, "the Invoiced account is canceled or unpaid"),
    403: Verdict(Action.FAIL, "this API key may not read this: use a key with full access"),
    404: Verdict(Action.FAIL, "no such object or route: check api_url (the API root, no path)"),
    405: Verdict(Action.FAIL, "the route does not allow this method: check api_url"),
    408: Verdict(Action.RETRY, "the server timed out waiting for the request"),
    429: Verdict(Action.RETRY, "more than 20 requests in flight for this key (Invoiced sends no Retry-After)"),
}
# A list below a parent that was deleted after we listed the parent: the parent's delete shows up in events.
MISSING_PARENT = Verdict(Action.TOLERATE, "the parent object was deleted meanwhile")
SERVER_ERROR = Verdict(Action.RETRY, "Invoiced had an internal error, usually transient")
OTHER_CLIENT_ERROR = Verdict(Action.FAIL, "Invoiced refused the request; retrying cannot help")


def classify(status: int, *, missing_ok: bool = False) -> Verdict | None:
    """The verdict on an HTTP status: None for success, else tolerate, retry or fail, with a reason."""
    if status < 400:
        return None
    if status == 404 and missing_ok:
        return MISSING_PARENT
    if status in ERROR_POLICY:
        return ERROR_POLICY[status]
    return SERVER_ERROR if status >= 500 else OTHER_CLIENT_ERROR


def describe_error(response: requests.Response, verdict: Verdict) -> str:
    """`GET /customers?page=1 -> 401 invalid_request: <Invoiced's message> -- <reason>`: never headers or the key.

    The query is kept (which page, which filter): the key travels only in the Authorization header.
    """
    request = response.request
    text = f"{request.method} {_path_and_query(request.url or '')} -> {response.status_code}"
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        text += f" {body.get('type', 'error')}: {body['message']}"
        if body.get("param"):
            text += f" (param: {body['param']})"
    else:
        text += f" {response.reason}"
    return f"{text} -- {verdict.reason}"


# For requests that got no answer at all, the most specific kind first (a connect timeout is both a timeout
# and a connection error).
FAILURE_HINTS: tuple[tuple[type[BaseException], str], ...] = (
    (requests.exceptions.ConnectTimeout, "could not connect in time: check api_url (or sandbox) and that the "
     "service is reachable"),
    (requests.exceptions.Timeout, "no answer in time: Invoiced is slow or stuck; raise request_timeout"),
    (requests.exceptions.ConnectionError, "could not reach Invoiced: check api_url (or sandbox) and that the "
     "service is reachable"),
    (requests.exceptions.ChunkedEncodingError, "the connection broke mid-answer, usually transient: run again"),
    (requests.exceptions.ContentDecodingError, "the answer arrived garbled, usually transient: run again"),
    (ConnectionResetError, "the connection broke mid-answer, usually transient: run again"),
)


def describe_failure(request: requests.PreparedRequest, failure: BaseException) -> str:
    """`GET /customers?page=1: ConnectionError (Connection refused) -- <what to check>`, for a request that got
    no answer. Replaces urllib3's text (`HTTPConnectionPool(...): Max retries exceeded with url: ...`), which
    names neither the setting to check nor, in plain words, what went wrong."""
    hint = next((hint for kind, hint in FAILURE_HINTS if isinstance(failure, kind)), "the request failed")
    target = _path_and_query(request.url or "")
    return f"{request.method} {target}: {type(failure).__name__} ({_root_cause(failure)}) -- {hint}"


def _root_cause(failure: BaseException) -> str:
    """The innermost reason (`Connection refused`, `timed out`) under the layers requests and urllib3 add."""
    while (inner := failure.__cause__ or failure.__context__) is not None:
        failure = inner
    return getattr(failure, "strerror", None) or str(failure) or type(failure).__name__


def _path_and_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def retry_waits(base_seconds: float) -> Generator[float, Any, None]:
    """Exponential backoff with full jitter: try n waits a random time up to base * 2**n (capped)."""
    yield 0.0  # `backoff` primes the generator before the first failure
    ceiling = base_seconds
    while True:
        yield random.uniform(0, min(ceiling, MAX_RETRY_WAIT_SECONDS))
        ceiling *= 2


def read_page(response: requests.Response) -> Page:
    """Decode a list response: a bare JSON array plus the X-Total-Count, Link and Date headers."""
    if response.status_code >= 400:  # a tolerated error: nothing to read
        return Page(rows=[])
    try:
        rows = json.loads(response.content, parse_float=Decimal)
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


class InvoicedStream(RESTStream[Step]):
    """One Invoiced list. Subclasses say which `Walk`s to run; this class runs them and owns the HTTP."""

    primary_keys = ("id",)
    # post_process already gives each record exactly the schema's top-level fields, in JSON types (money as
    # Decimal); the SDK's recursive pass over every value would only cost time (about half of it).
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    @property
    def url_base(self) -> str:
        return base_url(self.config)

    @cached_property
    def requests_session(self) -> requests.Session:
        # Every request goes to one host, so proxy and CA settings are read from the environment once here
        # instead of on each request (requests' trust_env scans os.environ several times per request).
        session = requests.Session()
        session.trust_env = False
        session.proxies.update(requests.utils.get_environ_proxies(self.url_base))
        session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        return session

    @cached_property
    def authenticator(self) -> BasicAuthenticator:
        # Invoiced takes the API key as the Basic-auth username with a blank password.
        return BasicAuthenticator(username=self.config["api_key"], password="")

    @property
    def http_headers(self) -> dict[str, str]:
        return {"Accept": "application/json"}

    @cached_property
    def user_agent(self) -> str:
        return self.config.get("user_agent") or f"tap-invoiced/{metadata.version('tap-invoiced')}"

    @property
    def timeout(self) -> float:  # type: ignore[override]  # the SDK types it int; requests takes float
        return float(self.config.get("request_timeout", 60))

    @property
    def per_page(self) -> int:
        return int(self.config.get("per_page", 100))

    @property
    def overlap(self) -> int:
        return int(self.config.get("overlap_seconds", 2))

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

    # Errors: one table decides, one function words the message; the SDK's backoff is the only retry loop.

    def validate_response(self, response: requests.Response) -> None:
        step = getattr(self, "_step_in_flight", None)
        verdict = classify(response.status_code, missing_ok=bool(step and step.missing_ok))
        if verdict is None or verdict.action is Action.TOLERATE:
            return
        message = describe_error(response, verdict)
        if verdict.action is Action.RETRY:
            raise RetriableAPIError(message, response)
        raise FatalAPIError(message)

    def response_error_message(self, response: requests.Response) -> str:
        return describe_error(response, classify(response.status_code) or OTHER_CLIENT_ERROR)

    def backoff_max_tries(self) -> int:
        return int(self.config.get("max_retries", 5)) + 1

    def backoff_wait_generator(self) -> Generator[float, Any, None]:  # type: ignore[override]
        return retry_waits(float(self.config.get("retry_wait_seconds", 1.0)))

    def backoff_jitter(self, value: float) -> float:
        return value  # retry_waits already jitters

    def backoff_handler(self, details: Details) -> None:
        failure = details.get("exception")
        if not isinstance(failure, RetriableAPIError):  # no answer at all: say which request and why
            failure = describe_failure(details["args"][0], failure) if failure else "the request failed"
        # Worded like tap-customcrm's, so "retry n of max_retries" counts the same in both taps' logs.
        self.logger.warning(
            "%s; retry %d of %d in %.2f s", failure, details["tries"], self.backoff_max_tries() - 1, details["wait"]
        )

    def request_decorator(self, func: RequestFunc) -> RequestFunc:
        retrying = super().request_decorator(func)

        def request(prepared_request: requests.PreparedRequest, context: Context | None) -> requests.Response:
            # The SDK's backoff re-raises the last failure as requests raised it; for a request that never got
            # an answer, that text is urllib3's. Give the user the request, the cause and the setting instead.
            try:
                return retrying(prepared_request, context)
            except (requests.RequestException, ConnectionResetError) as failure:
                raise FatalAPIError(describe_failure(prepared_request, failure)) from failure

        return request
