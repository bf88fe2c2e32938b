"""Customcrm's HTTP rules, for tap-customcrm and target-customcrm alike: which answers are retried and which
fail, how its error body is worded back to the user, and its timestamp text on the wire.

Messages name the method and path, never headers, the query or the token: Customcrm's query is mostly the opaque
keyset cursor, which tells a reader nothing (and the tap's README promises it).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests

from sync_core.http import policy
from sync_core.http.policy import (
    BROKEN_ANSWER_HINTS,
    TLS_HINTS,
    Action,
    ErrorPolicy,
    FailureHints,
    HTTPRules,
    Verdict,
)

# The contract's own timestamp text: UTC, exactly six fractional digits and a Z, so that text order is time order.
# It is what Customcrm sends and expects (e.g. `updated_since`); records pass it on untouched. Not
# `sync_core.times.rfc3339`, which writes the plugins' own timestamps.
WIRE_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

def where(config: dict[str, Any]) -> str:
    return f"{str(config.get('api_url') or '').rstrip('/')} (Customcrm)"


POLICY = ErrorPolicy(
    table={
        400: Verdict(Action.FAIL, "the request is malformed; this is a bug in the client"),
        401: Verdict(Action.FAIL, "the API token is missing or wrong: check the api_token setting"),
        403: Verdict(Action.FAIL, "the API token may not do this: grant its user access"),
        404: Verdict(Action.FAIL, "no such resource: check that api_url is the service root (no /v1)"),
        408: Verdict(Action.RETRY, "the server timed out waiting for the request"),
        409: Verdict(Action.FAIL, "the request conflicts with the current state of the record"),
        412: Verdict(Action.FAIL, "the record changed since it was read (If-Match): read it again"),
        422: Verdict(Action.FAIL, "the server rejected the request as invalid (see fields)"),
        429: Verdict(Action.RETRY, "rate limited: waiting before the next try"),
    },
    server_error=Verdict(Action.RETRY, "server error, usually transient"),
    other_client_error=Verdict(Action.FAIL, "the server refused the request; retrying cannot help"),
)

FAILURE_HINTS: FailureHints = (
    *TLS_HINTS,
    (requests.exceptions.ConnectTimeout, "could not connect in time: check api_url and that the service is reachable"),
    (requests.exceptions.Timeout, "no answer in time: the service is slow or stuck; raise request_timeout"),
    (requests.exceptions.ConnectionError, "could not reach the service: check api_url and that it is reachable"),
    *BROKEN_ANSWER_HINTS,
)


def describe_error(response: requests.Response, verdict: Verdict) -> str:
    """`GET /v1/orders -> 422 invalid: <Customcrm's message> (fields: a: why) -- <reason>`."""
    request = response.request
    text = f"{request.method} {urlsplit(request.url or '').path} -> {response.status_code}"
    error = _error_body(response)
    if error is None:
        text += f" {response.reason}"
    else:
        text += f" {error.get('code', 'error')}: {error.get('message', '')}".rstrip()
        fields = error.get("fields")
        if isinstance(fields, dict) and fields:
            text += " (fields: " + "; ".join(f"{name}: {why}" for name, why in fields.items()) + ")"
    return f"{text} -- {verdict.reason}"


def describe_failure(request: requests.PreparedRequest, failure: BaseException) -> str:
    """`GET /v1/orders: ConnectionError (Connection refused) -- <what to check>`: no answer at all."""
    return policy.describe_failure(request, failure, FAILURE_HINTS)


def _error_body(response: requests.Response) -> dict[str, Any] | None:
    """The contract's `{"error": {"code", "message", "fields"}}`, or None when the body is something else."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return None
    return error if isinstance(error, dict) else None


RULES = HTTPRules(POLICY, describe_error, describe_failure)
