"""Customcrm's HTTP rules, for tap-customcrm and target-customcrm alike: the connection settings, which answers are
retried and which fail, how its error body is worded back to the user, and its timestamp text on the wire; and the
requests target-customcrm makes, on the core's client (`CustomcrmApi`).

Messages name the method and path, never headers, the query or the token: Customcrm's query is mostly the opaque
keyset cursor, which tells a reader nothing (and the tap's README promises it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase
from singer_sdk import typing as th

from sync_core.client import ApiClient, RequestFailed, Stale
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
from sync_core.http.records import RecordsApi, decode

# The contract's own timestamp text: UTC, exactly six fractional digits and a Z, so that text order is time order.
# It is what Customcrm sends and expects (e.g. `updated_since`); records pass it on untouched. Not
# `sync_core.times.rfc3339`, which writes the plugins' own timestamps.
WIRE_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

# The connection settings, declared once for tap-customcrm and target-customcrm.
CONNECTION_SETTINGS = (
    th.Property(
        "api_url",
        th.URIType(pattern="^https?://"),  # requests' own error for a missing scheme never names the setting
        required=True,
        title="API URL",
        description="Root URL of the Customcrm service, without the /v1 suffix.",
        examples=["https://crm.example.com", "http://127.0.0.1:8801"],
    ),
    th.Property(
        "api_token",
        th.StringType(min_length=1),
        required=True,
        secret=True,
        title="API token",
        description="Bearer token of a Customcrm user allowed to read users, customers, products and orders "
        "(and, for target-customcrm, to write customers, products and orders).",
    ),
)


def where(config: dict[str, Any]) -> str:
    return f"{str(config.get('api_url') or '').rstrip('/')} (Customcrm)"


POLICY = ErrorPolicy(
    table={
        400: Verdict(Action.FAIL, "the request is malformed; this is a bug in the client"),
        401: Verdict(Action.STOP, "the API token is missing or wrong: check the api_token setting"),
        403: Verdict(Action.STOP, "the API token may not do this: grant its user access"),
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


PAGE_SIZE = 1000  # the contract's maximum
GONE = Verdict(Action.TOLERATE, "no such record")


class BearerToken(AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


class CustomcrmApi(RecordsApi):
    """The requests a target makes of Customcrm: records by path, lists followed through the keyset cursor, writes
    guarded by If-Match (a 412 is `Stale`)."""

    missing = GONE

    @classmethod
    def connect(cls, config: Mapping[str, Any], *, plugin: str, logger: Any, crashes: Any = None) -> CustomcrmApi:
        root = str(config["api_url"]).rstrip("/")
        return cls(ApiClient.for_plugin(RULES, root, BearerToken(config["api_token"]), config, plugin=plugin,
                                        logger=logger, crashes=crashes))

    where = staticmethod(where)

    def check(self) -> None:
        """One cheap read: wrong credentials stop the run before any write."""
        self.client.request("GET", "/v1/customers", params={"limit": 1})

    def list(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every record of a list, following the keyset cursor."""
        cursor = None
        while True:
            query = {"limit": PAGE_SIZE, **(params or {}), **({"cursor": cursor} if cursor else {})}
            page = decode(self.client.request("GET", path, params=query))
            yield from page["data"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    @staticmethod
    def filter_param(field: str) -> str:
        """The query parameter that filters a list by a flat field path."""
        head, _, key = field.partition(".")
        return f"external_id[{key}]" if head == "external_ids" else field

    @staticmethod
    def refused_field(failure: RequestFailed) -> str | None:
        """The first field a refusal names (the contract's `error.fields`), if it names one."""
        error = failure.answer.get("error") if isinstance(failure.answer, Mapping) else None
        fields = error.get("fields") if isinstance(error, Mapping) else None
        return next(iter(fields), None) if isinstance(fields, Mapping) else None

    def total(self, path: str) -> None:
        """Customcrm's lists carry no count."""

    def update(self, path: str, body: Mapping[str, Any], version: Any = None) -> dict[str, Any]:
        """A PATCH guarded by If-Match."""
        return decode(self._guarded("PATCH", path, version, json=body))

    def delete(self, path: str, version: Any = None) -> None:
        self._guarded("DELETE", path, version, tolerated={404: GONE})

    def _guarded(self, method: str, path: str, version: Any, **kwargs: Any) -> requests.Response:
        try:
            return self.client.request(method, path, headers={"If-Match": f'"{version}"'}, **kwargs)
        except RequestFailed as failure:
            if failure.status == 412:
                raise Stale(str(failure)) from None
            raise
