"""Customcrm's error policy: which answers are retried and which fail, how long to wait, how to say what went wrong.

Plain functions of a status or a response, free of any stream, so a Customcrm target can import and apply the
very same rules to its writes.
"""

from __future__ import annotations

import random
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

MAX_RETRY_WAIT_SECONDS = 60.0


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


# For failures without an answer, the most specific first (a connect timeout is both a timeout and a
# connection error).
FAILURE_HINTS: tuple[tuple[type[BaseException], str], ...] = (
    (requests.exceptions.ConnectTimeout, "could not connect in time: check api_url and that the service is reachable"),
    (requests.exceptions.Timeout, "no answer in time: the service is slow or stuck; raise request_timeout"),
    (requests.exceptions.ConnectionError, "could not reach the service: check api_url and that it is reachable"),
    (requests.exceptions.ChunkedEncodingError, "the connection broke mid-answer, usually transient: run again"),
    (ConnectionResetError, "the connection broke mid-answer, usually transient: run again"),
)


def describe_failure(request: requests.PreparedRequest, failure: BaseException) -> str:
    """`GET /v1/orders: ConnectionError (Connection refused) -- hint`, for a request that got no answer."""
    hint = next((hint for kind, hint in FAILURE_HINTS if isinstance(failure, kind)), "the request failed")
    path = urlsplit(request.url or "").path
    return f"{request.method} {path}: {type(failure).__name__} ({_root_cause(failure)}) -- {hint}"


def _root_cause(failure: BaseException) -> str:
    """The innermost reason (`Connection refused`, `timed out`): requests and urllib3 wrap it in long texts."""
    while (inner := failure.__cause__ or failure.__context__) is not None:
        failure = inner
    return getattr(failure, "strerror", None) or str(failure)


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
