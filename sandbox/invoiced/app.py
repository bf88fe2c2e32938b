"""The Invoiced sandbox as an `App` for the shared server: auth, admission, routing, error rendering."""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping

from sandbox.common.faults import Fault
from sandbox.common.http import Request, Response
from sandbox.invoiced.context import Call, Handler
from sandbox.invoiced.cursors import PageCursors
from sandbox.invoiced.errors import ApiError
from sandbox.invoiced.idempotency import IdempotencyCache, key_from
from sandbox.invoiced.resources import contacts, customers, events, invoices, items
from sandbox.invoiced.store import Store

MAX_IN_FLIGHT = 20
RATE_LIMIT_MESSAGE = (
    f"Too many concurrent requests! You can only make {MAX_IN_FLIGHT} concurrent requests at a time."
)
SERVER_ERROR_MESSAGE = (
    "There was an error processing your request. Our engineers have been notified and will be looking "
    "into it soon. If you would like help then you can reach us at support@invoiced.com.\n\nCorrelation ID: "
)
MISSING_KEY_MESSAGE = (
    "Missing API key! HINT: You can pass in your API key as the username parameter using HTTP Basic Auth."
)
# Every answer carries these, errors included, like the real API.
COMMON_HEADERS = {"Cache-Control": "no-cache, no-store", "WWW-Authenticate": 'Basic realm="Invoiced"'}

ID = r"(?P<id>[^/]+)"
CUSTOMER_ID = r"(?P<customer_id>[^/]+)"
ITEMS = r"(?:items|catalog_items)"
ROUTES: list[tuple[re.Pattern[str], Mapping[str, Handler]]] = [
    (re.compile(pattern), handlers)
    for pattern, handlers in (
        (r"/customers", {"GET": customers.list_customers, "POST": customers.create}),
        (rf"/customers/{ID}", {"GET": customers.retrieve, "PATCH": customers.update, "DELETE": customers.delete}),
        (rf"/customers/{CUSTOMER_ID}/contacts", {"GET": contacts.list_contacts, "POST": contacts.create}),
        (
            rf"/customers/{CUSTOMER_ID}/contacts/{ID}",
            {"GET": contacts.retrieve, "PATCH": contacts.update, "DELETE": contacts.delete},
        ),
        (r"/invoices", {"GET": invoices.list_invoices, "POST": invoices.create}),
        (rf"/invoices/{ID}", {"GET": invoices.retrieve, "PATCH": invoices.update, "DELETE": invoices.delete}),
        (rf"/invoices/{ID}/void", {"POST": invoices.void}),
        (rf"/{ITEMS}", {"GET": items.list_items, "POST": items.create}),
        (rf"/{ITEMS}/{ID}", {"GET": items.retrieve, "PATCH": items.update, "DELETE": items.delete}),
        (r"/events", {"GET": events.list_events}),
        (rf"/events/{ID}", {"GET": events.retrieve_event}),
    )
]


def api_key_of(request: Request) -> str | None:
    """The key from HTTP Basic auth: the username, or the password when both are given."""
    scheme, _, encoded = (request.header("Authorization") or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, _, password = decoded.partition(":")
    return (password if username and password else username) or None


def scrubbed(key: str) -> str:
    # The real API shows 3 characters at each end; shorter keys are hidden entirely here.
    return key[:3] + "*" * (len(key) - 6) + key[-3:] if len(key) > 6 else "*" * len(key)


def with_headers(response: Response) -> Response:
    return Response(response.status, response.body, {**COMMON_HEADERS, **response.headers})


def error_response(error: ApiError) -> Response:
    return with_headers(Response(error.status, error.body()))


class InvoicedApp:
    def __init__(self, store: Store, api_keys: Iterable[str]) -> None:
        self.store = store
        self._api_keys = frozenset(api_keys)
        self._idempotency = IdempotencyCache(store)
        self._cursors = PageCursors()
        self._in_flight: Counter[str] = Counter()
        self._in_flight_lock = threading.Lock()

    def handle(self, request: Request) -> Response:
        try:
            api_key = self._authenticate(request)
            idempotency_key = key_from(request)
            if idempotency_key is None:
                return with_headers(self._dispatch(request))
            with self._idempotency.exclusive(api_key, idempotency_key):
                now = int(time.time())
                response = self._idempotency.replay(api_key, idempotency_key, now)
                if response is None:
                    response = self._dispatch(request)
                    self._idempotency.remember(api_key, idempotency_key, response, now)
                return with_headers(response)
        except ApiError as error:
            return error_response(error)

    def _authenticate(self, request: Request) -> str:
        key = api_key_of(request)
        if key is None:
            raise ApiError(401, MISSING_KEY_MESSAGE)
        if key not in self._api_keys:
            raise ApiError(401, f"We could not authenticate you with the API Key: {scrubbed(key)}")
        return key

    def _dispatch(self, request: Request) -> Response:
        """Route to a handler; errors it raises are part of the answer (and of an idempotent replay)."""
        path = request.path.rstrip("/") or "/"
        method = "GET" if request.method == "HEAD" else request.method
        for pattern, handlers in ROUTES:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            handler = handlers.get(method)
            if handler is None:
                return error_response(ApiError(405, f"Method not allowed: {request.method} {request.path}"))
            call = Call(request, self.store, self._cursors, self._base_url(request), match.groupdict())
            try:
                return handler(call)
            except ApiError as error:
                return error_response(error)
        return error_response(ApiError(404, f"Request was not recognized: {request.method} {request.path}"))

    @staticmethod
    def _base_url(request: Request) -> str:
        # Links point back at whatever address the client used to reach us, like the real API's host.
        return f"http://{request.header('Host') or '127.0.0.1'}"

    def fault_response(self, fault: Fault) -> Response:
        if fault is Fault.RATE_LIMIT:
            return error_response(ApiError(429, RATE_LIMIT_MESSAGE))
        return error_response(ApiError(500, SERVER_ERROR_MESSAGE + uuid.uuid4().hex))

    def malformed_request(self, message: str) -> Response:
        return error_response(ApiError(400, message))

    @contextlib.contextmanager
    def admission(self, request: Request) -> Iterator[Response | None]:
        """At most 20 requests in flight per valid API key; the rest get the real 429, no Retry-After."""
        key = api_key_of(request)
        if key not in self._api_keys:
            yield None
            return
        assert key is not None
        with self._in_flight_lock:
            admitted = self._in_flight[key] < MAX_IN_FLIGHT
            if admitted:
                self._in_flight[key] += 1
        if not admitted:
            yield error_response(ApiError(429, RATE_LIMIT_MESSAGE))
            return
        try:
            yield None
        finally:
            with self._in_flight_lock:
                self._in_flight[key] -= 1
