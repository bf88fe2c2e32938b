"""The Customcrm HTTP surface: auth, routing, and every answer rendered in the contract's error format."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from sandbox.common.faults import Fault
from sandbox.common.http import Request, Response, no_admission_control
from sandbox.customcrm import openapi
from sandbox.customcrm.entities import ENTITIES, Entity
from sandbox.customcrm.errors import BY_CODE
from sandbox.customcrm.paging import parse_list_query
from sandbox.customcrm.store import (
    Conflict,
    Gone,
    IdempotencyKeyReused,
    NotFound,
    Store,
    VersionMismatch,
)
from sandbox.customcrm.validation import BadRequest, Invalid, parse_json_object, validate_create, validate_patch

# The error code each refusal raised below the HTTP layer answers with; the message is the exception's own text.
CODES: dict[type[Exception], str] = {
    BadRequest: "invalid_json",
    NotFound: "not_found",
    Conflict: "conflict",
    Gone: "deleted",
    VersionMismatch: "version_mismatch",
    Invalid: "validation_failed",
    IdempotencyKeyReused: "idempotency_key_reused",
}
# Exactly the ETag as sent: accepting a bare `3` or a weak `W/"3"` here would teach clients a form other
# implementations of the contract (which follow the OpenAPI pattern) refuse.
IF_MATCH = re.compile(r'^"([0-9]{1,18})"$')
MAX_IDEMPOTENCY_KEY = 255


def error(code: str, message: str, **extra: Any) -> Response:
    """The answer for one refusal of sandbox/customcrm/errors.py, which gives its status."""
    status = BY_CODE[code].status
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    return Response(status, {"error": {"code": code, "message": message, **extra}}, headers)


def _with_record(status: int, record: dict[str, Any], **headers: str) -> Response:
    return Response(status, record, {"ETag": f'"{record["version"]}"', **headers})


class CustomcrmApp:
    def __init__(self, store: Store, tokens: list[str]) -> None:
        self.store = store
        self._tokens = [t.encode() for t in tokens]
        self._document = json.loads(openapi.DOCUMENT_PATH.read_text())

    # -- the App protocol -------------------------------------------------------------------------------------

    def admission(self, request: Request) -> contextlib.AbstractContextManager[Response | None]:
        return no_admission_control(request)

    def fault_response(self, fault: Fault) -> Response:
        if fault is Fault.RATE_LIMIT:
            response = error("rate_limited", "too many requests; wait Retry-After seconds and retry")
            response.headers["Retry-After"] = "1"
            return response
        return error("internal_error", "the service failed unexpectedly; the request is safe to retry")

    def malformed_request(self, message: str) -> Response:
        return error("invalid_json", f"the body cannot be read: {message}")

    def handle(self, request: Request) -> Response:
        if request.path == "/openapi.json" and request.method == "GET":
            return Response(200, self._document)
        parts = request.path.split("/")
        if len(parts) < 3 or parts[:2] != ["", "v1"]:
            return error("not_found", f"no such path {request.path!r}; the API lives under /v1")
        if not self._authorised(request):
            return error("unauthorized", "send a valid token as `Authorization: Bearer <token>`")
        entity = ENTITIES.get(parts[2])
        if entity is None or len(parts) > 4:
            known = ", ".join(f"/v1/{name}" for name in ENTITIES)
            return error("not_found", f"no such path {request.path!r}; collections are {known}")
        routes: dict[str, Callable[..., Response]]
        args: tuple[str, ...]
        try:
            if len(parts) == 3:
                routes, args = {"GET": self._list, "POST": self._create}, ()
            else:
                routes = {"GET": self._get, "PATCH": self._update, "DELETE": self._delete}
                args = (unquote(parts[3], errors="replace"),)
            return self._route(request, routes, entity, *args)
        except tuple(CODES) as exc:
            extra: dict[str, Any] = {}
            if isinstance(exc, (Invalid, Conflict, IdempotencyKeyReused)):
                extra["fields"] = exc.fields
            if isinstance(exc, VersionMismatch):
                extra["current_version"] = exc.current
            return error(CODES[type(exc)], str(exc), **extra)

    # -- endpoints ----------------------------------------------------------------------------------------------

    def _route(
        self, request: Request, routes: dict[str, Callable[..., Response]], entity: Entity, *args: str
    ) -> Response:
        handler = routes.get(request.method)
        if handler is None:
            allowed = ", ".join(routes)
            response = error("method_not_allowed", f"{request.method} is not allowed here; use {allowed}")
            response.headers["Allow"] = allowed
            return response
        return handler(request, entity, *args)

    def _list(self, request: Request, entity: Entity) -> Response:
        records, next_cursor = self.store.list(entity, parse_list_query(entity, request.query))
        return Response(200, {"data": records, "next_cursor": next_cursor})

    def _get(self, _request: Request, entity: Entity, record_id: str) -> Response:
        return _with_record(200, self.store.get(entity, record_id))

    def _create(self, request: Request, entity: Entity) -> Response:
        key = request.header("Idempotency-Key")
        if key is not None and not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
            raise Invalid({"Idempotency-Key": f"must be 1 to {MAX_IDEMPOTENCY_KEY} characters"})
        body = parse_json_object(request.body)
        doc, external_ids = validate_create(entity, body)
        fingerprint = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        created = self.store.create(
            entity, doc, external_ids, idempotency=None if key is None else (key, fingerprint)
        )
        headers = {"Location": f"/v1/{entity.name}/{created.record['id']}"}
        if created.replayed:
            headers["Idempotent-Replayed"] = "true"
        return _with_record(created.status, created.record, **headers)

    def _update(self, request: Request, entity: Entity, record_id: str) -> Response:
        if_match = _if_match(request)
        changes, external_changes = validate_patch(entity, parse_json_object(request.body))
        record = self.store.update(entity, record_id, changes, external_changes, if_match=if_match)
        return _with_record(200, record)

    def _delete(self, request: Request, entity: Entity, record_id: str) -> Response:
        self.store.delete(entity, record_id, if_match=_if_match(request))
        return Response(204)

    def _authorised(self, request: Request) -> bool:
        scheme, _, token = (request.header("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        offered = token.strip().encode("utf-8", errors="replace")
        # Compare against every token so the time taken does not tell which one (or how much) matched.
        return sum(hmac.compare_digest(offered, known) for known in self._tokens) > 0


def _if_match(request: Request) -> int | None:
    """The version If-Match asks for; None when absent or `*` (any current version)."""
    value = request.header("If-Match")
    if value is None or value.strip() == "*":
        return None
    match = IF_MATCH.match(value.strip())
    if not match:
        raise Invalid({"If-Match": 'must be the ETag header exactly as sent, the version in quotes (e.g. "3"), or *'})
    return int(match.group(1))
