"""Invoiced's HTTP rules, for tap-invoiced and target-invoiced alike: where the API is (and the settings that say
so), which answers are tolerated, retried or fatal, and how its error body is worded back to the user; and the
requests target-invoiced makes, on the core's client (`InvoicedApi`).

Messages keep the query (which page, which filter): the API key travels only in the Authorization header.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.auth import HTTPBasicAuth
from singer_sdk import typing as th

from sync_core.client import ApiClient, RequestFailed
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

PRODUCTION_URL = "https://api.invoiced.com"
SANDBOX_URL = "https://api.sandbox.invoiced.com"


def base_url(config: Mapping[str, Any]) -> str:
    """`api_url` if set, else the sandbox only for a JSON `true` (never the string "false"), else production."""
    if config.get("api_url"):
        return str(config["api_url"]).rstrip("/")
    return SANDBOX_URL if config.get("sandbox") is True else PRODUCTION_URL


def where(config: Mapping[str, Any]) -> str:
    """The base URL, and whether it is Invoiced's production, its sandbox or a URL of the user's own."""
    url = base_url(config)
    kind = {PRODUCTION_URL: "production", SANDBOX_URL: "sandbox"}.get(url, "a custom api_url")
    return f"{url} (Invoiced {kind})"


# The connection settings `base_url` and the Basic auth read, declared once for tap-invoiced and target-invoiced.
CONNECTION_SETTINGS = (
    th.Property(
        "api_key",
        th.StringType(min_length=1),
        required=True,
        secret=True,
        title="API key",
        description="Invoiced API key (Settings > Developers > API Keys), sent as the Basic-auth username. "
        "The API key needs write access for target-invoiced.",
    ),
    th.Property(
        "sandbox",
        th.BooleanType,
        default=False,
        title="Sandbox",
        description=f"true to use the Invoiced sandbox ({SANDBOX_URL}) instead of production ({PRODUCTION_URL}). "
        "A JSON boolean; ignored when api_url is set.",
    ),
    th.Property(
        "api_url",
        th.URIType,
        title="API URL",
        description="Root of the Invoiced API, overriding `sandbox` (e.g. a local Invoiced stand-in).",
    ),
)


POLICY = ErrorPolicy(
    table={
        400: Verdict(Action.FAIL, "Invoiced refused the request as invalid"),
        401: Verdict(Action.STOP, "the API key is wrong or missing: check api_key, and that sandbox keys go with "
                     "sandbox=true (or api_url) and production keys without it"),
        402: Verdict(Action.STOP, "the Invoiced account is canceled or unpaid"),
        403: Verdict(Action.STOP, "this API key may not read this: use a key with full access"),
        404: Verdict(Action.FAIL, "no such object or route: check api_url (the API root, no path)"),
        405: Verdict(Action.FAIL, "the route does not allow this method: check api_url"),
        408: Verdict(Action.RETRY, "the server timed out waiting for the request"),
        429: Verdict(Action.RETRY, "more than 20 requests in flight for this key (Invoiced sends no Retry-After)"),
    },
    server_error=Verdict(Action.RETRY, "Invoiced had an internal error, usually transient"),
    other_client_error=Verdict(Action.FAIL, "Invoiced refused the request; retrying cannot help"),
)
# A list below a parent that was deleted after we listed the parent: the parent's delete shows up in events.
MISSING_PARENT = Verdict(Action.TOLERATE, "the parent object was deleted meanwhile")


def classify(status: int, *, missing_ok: bool = False) -> Verdict | None:
    """`POLICY`'s verdict; with `missing_ok` (a list below a parent) a 404 is the parent deleted meanwhile."""
    return POLICY.classify(status, tolerated={404: MISSING_PARENT} if missing_ok else None)


FAILURE_HINTS: FailureHints = (
    *TLS_HINTS,
    (requests.exceptions.ConnectTimeout, "could not connect in time: check api_url (or sandbox) and that the "
     "service is reachable"),
    (requests.exceptions.Timeout, "no answer in time: Invoiced is slow or stuck; raise request_timeout"),
    (requests.exceptions.ConnectionError, "could not reach Invoiced: check api_url (or sandbox) and that the "
     "service is reachable"),
    *BROKEN_ANSWER_HINTS,
)


def describe_error(response: requests.Response, verdict: Verdict) -> str:
    """`GET /customers -> 401 invalid_request: <Invoiced's message> -- <reason>`: the path without its query (a
    look-up's query holds a customer's e-mail or org number), never headers or the key."""
    request = response.request
    text = f"{request.method} {urlsplit(request.url or '').path} -> {response.status_code}"
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


def describe_failure(request: requests.PreparedRequest, failure: BaseException) -> str:
    """`GET /customers: ConnectionError (Connection refused) -- <what to check>`: no answer at all."""
    return policy.describe_failure(request, failure, FAILURE_HINTS)


RULES = HTTPRules(POLICY, describe_error, describe_failure)


PER_PAGE = 100  # Invoiced's maximum


class InvoicedApi(RecordsApi):
    """The requests a target makes of Invoiced: objects by path, lists followed through Link: rel=next."""

    missing = MISSING_PARENT

    @classmethod
    def connect(cls, config: Mapping[str, Any], *, plugin: str, logger: Any, crashes: Any = None) -> InvoicedApi:
        # Invoiced takes the API key as the Basic-auth username with a blank password.
        auth = HTTPBasicAuth(config["api_key"], "")
        return cls(ApiClient.for_plugin(RULES, base_url(config), auth, config, plugin=plugin, logger=logger,
                                        crashes=crashes))

    where = staticmethod(where)

    def check(self) -> None:
        """One cheap read: wrong credentials stop the run before any write."""
        self.client.request("GET", "/customers", params={"per_page": 1})

    def list(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every object of a list, page by page in id order."""
        page = 1
        while True:
            query = {"per_page": PER_PAGE, "page": page, **(params or {})}
            response = self.client.request("GET", path, params=query)
            rows = decode(response)
            yield from rows
            if 'rel="next"' not in response.headers.get("Link", "") or not rows:
                return
            page += 1

    @staticmethod
    def filter_param(field: str) -> str:
        """The query parameter that filters a list by a flat field path."""
        if field.startswith("metadata."):
            return f"metadata[{field.removeprefix('metadata.')}]"
        return f"filter[{field}]"

    @staticmethod
    def refused_field(failure: RequestFailed) -> str | None:
        """The field a refusal names (Invoiced's `param`), if it names one."""
        answer = failure.answer if isinstance(failure.answer, Mapping) else {}
        return answer.get("param")

    def total(self, path: str) -> int:
        """How many objects a list holds (X-Total-Count), for one request."""
        response = self.client.request("GET", path, params={"per_page": 1})
        return int(response.headers.get("X-Total-Count") or len(decode(response)))

    def update(self, path: str, body: Mapping[str, Any], version: Any = None) -> dict[str, Any]:
        """A PATCH (Invoiced has no If-Match: `version` is not sent; the live record is read just before)."""
        return decode(self.client.request("PATCH", path, json=body))

    def action(self, path: str) -> dict[str, Any]:
        return decode(self.client.request("POST", path))

    def delete(self, path: str, version: Any = None) -> None:
        """Already gone counts as done: a retried DELETE whose first answer was lost finds nothing."""
        self.client.request("DELETE", path, tolerated={404: MISSING_PARENT})
