"""Request bodies checked against the entity definitions and normalised (decimals to their fixed scale).

Every problem is collected, so one 422 answer names every bad field at once. Field paths read like
`billing_address.country`, `lines[2].quantity` or `external_ids.invoiced`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.customcrm.codes import COUNTRIES, CURRENCIES
from sandbox.customcrm.entities import (
    EXTERNAL_ID_MAX_LENGTH,
    EXTERNAL_IDS_MAX_KEYS,
    EXTERNAL_SYSTEM_PATTERN,
    Entity,
    Field,
    format_decimal,
)

READ_ONLY = ("id", "created_at", "updated_at", "deleted_at", "version")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DECIMAL = re.compile(r"^(-?)([0-9]+)(?:\.([0-9]+))?$")
DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
EXTERNAL_SYSTEM = re.compile(EXTERNAL_SYSTEM_PATTERN)
ID_MAX_LENGTH = 64
MAX_BODY_BYTES = 1_000_000


class BadRequest(Exception):
    """The body is not a JSON object at all (400)."""


class Invalid(Exception):
    """The body is JSON but breaks the contract (422); `fields` maps field path -> reason."""

    def __init__(self, fields: dict[str, str], message: str = "") -> None:
        self.fields = fields
        names = ", ".join(sorted(fields))
        super().__init__(message or f"the request has invalid fields: {names}; see `fields` for each reason")


def parse_json_object(raw: bytes) -> dict[str, Any]:
    if len(raw) > MAX_BODY_BYTES:
        msg = f"the body is larger than {MAX_BODY_BYTES} bytes"
        raise BadRequest(msg)
    try:
        body = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        msg = "the body is not UTF-8 text"
        raise BadRequest(msg) from exc
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError, as are huge integers
        msg = f"the body is not valid JSON ({exc}); send one JSON object"
        raise BadRequest(msg) from exc
    if not isinstance(body, dict):
        msg = f"the body must be a JSON object, not {type(body).__name__}"
        raise BadRequest(msg)
    return body


def validate_create(entity: Entity, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Return the normalised fields of a new record (defaults filled in) and its external ids."""
    errors: dict[str, str] = {}
    doc = _members(entity.writable, body, "", errors, partial=False, extra=("external_ids",))
    external_ids = _external_ids(body.get("external_ids"), errors, partial=False)
    if errors:
        raise Invalid(errors)
    return doc, {k: v for k, v in external_ids.items() if v is not None}


def validate_patch(entity: Entity, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str | None]]:
    """Return only the fields the body sets (null clears) and the external id changes (null removes)."""
    errors: dict[str, str] = {}
    changes = _members(entity.writable, body, "", errors, partial=True, extra=("external_ids",))
    external_ids = _external_ids(body.get("external_ids"), errors, partial=True) if "external_ids" in body else {}
    if errors:
        raise Invalid(errors)
    return changes, external_ids


def _members(
    fields: tuple[Field, ...],
    body: dict[str, Any],
    prefix: str,
    errors: dict[str, str],
    *,
    partial: bool,
    extra: tuple[str, ...] = (),
) -> dict[str, Any]:
    known = {f.name: f for f in fields if not f.computed}
    for name in body:
        if name in known or name in extra:
            continue
        path = prefix + str(name)
        if name in READ_ONLY or any(f.name == name for f in fields):
            errors[path] = "read-only: the server sets this field; leave it out"
        else:
            errors[path] = f"unknown field; known fields are: {', '.join(sorted([*known, *extra]))}"
    out: dict[str, Any] = {}
    for field in known.values():
        path = prefix + field.name
        if field.name in body:
            out[field.name] = _value(field, body[field.name], path, errors, partial=partial)
        elif field.kind == "id":
            continue
        elif not partial:
            if field.required:
                errors[path] = "required"
            elif field.kind == "object":
                out[field.name] = _members(field.fields, {}, path + ".", errors, partial=False)
            else:
                out[field.name] = list(field.default) if isinstance(field.default, tuple) else field.default
    return out


def _value(field: Field, value: Any, path: str, errors: dict[str, str], *, partial: bool) -> Any:  # noqa: PLR0911, PLR0912
    if value is None:
        if field.required:
            errors[path] = "required; must not be null"
        elif not field.accepts_null:
            errors[path] = f"must not be null; leave it out to keep it ({_shape(field)})"
        if field.kind == "object":  # clearing an object clears every member
            return {f.name: None for f in field.fields}
        if field.kind == "list":
            return []
        return None
    kind = field.kind
    if kind == "object":
        if not isinstance(value, dict):
            errors[path] = "must be an object"
            return None
        return _members(field.fields, value, path + ".", errors, partial=partial)
    if kind == "list":
        if not isinstance(value, list):
            errors[path] = "must be an array"
            return None
        if len(value) > field.max_items:
            errors[path] = f"at most {field.max_items} items"
            return None
        items = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                errors[f"{path}[{i}]"] = "must be an object"
                continue
            # Every item is sent whole, also on PATCH: its id only says which existing line it is.
            items.append(_members(field.fields, item, f"{path}[{i}].", errors, partial=False))
        return items
    if kind == "boolean":
        if not isinstance(value, bool):
            errors[path] = "must be true or false"
        return value
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            errors[path] = "must be a whole number"
            return None
        if (field.minimum is not None and value < field.minimum) or (
            field.maximum is not None and value > field.maximum
        ):
            errors[path] = f"must be between {field.minimum} and {field.maximum}"
        return value
    if kind == "decimal":
        return _decimal(field, value, path, errors)
    if not isinstance(value, str):
        errors[path] = "must be a string"
        return None
    reason = _string_problem(field, value)
    if reason:
        errors[path] = reason
    return value


def _shape(field: Field) -> str:
    if field.kind == "enum":
        return f"one of: {', '.join(field.choices)}; new records get {field.default!r}"
    if field.kind == "boolean":
        return f"true or false; new records get {'true' if field.default else 'false'}"
    return f"new records get {field.default!r}"


def _string_problem(field: Field, value: str) -> str | None:  # noqa: PLR0911
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode text (lone surrogate escape)"
    kind = field.kind
    if kind in ("country", "currency"):
        codes, what = (COUNTRIES, "an ISO 3166-1 alpha-2 country code") if kind == "country" else (
            CURRENCIES, "an ISO 4217 currency code"
        )
        if value in codes:
            return None
        if value.upper() in codes:
            return f"must be upper-case: use {value.upper()!r}"
        return f"{value!r} is not {what}"
    if kind == "enum":
        return None if value in field.choices else f"must be one of: {', '.join(field.choices)}"
    if kind == "date":
        try:
            if DATE.match(value):
                dt.date.fromisoformat(value)
                return None
        except ValueError:
            pass
        return "must be a calendar date written YYYY-MM-DD"
    if kind in ("ref", "id"):
        return None if 0 < len(value) <= ID_MAX_LENGTH else f"must be an id of 1 to {ID_MAX_LENGTH} characters"
    if len(value) > field.max_length:
        return f"at most {field.max_length} characters (got {len(value)})"
    if kind == "email" and not EMAIL.match(value):
        return "must be an e-mail address like name@example.com (use null to clear it)"
    if (field.required or field.unique) and not value.strip():
        return "must not be blank"
    return None


def _decimal(field: Field, value: Any, path: str, errors: dict[str, str]) -> str | None:  # noqa: PLR0911
    example = "12." + "5".ljust(field.scale, "0") if field.scale else "12"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        errors[path] = f"send decimal values as a JSON string, e.g. {example!r}, never as a number"
        return None
    if not isinstance(value, str):
        errors[path] = f"must be a decimal string, e.g. {example!r}"
        return None
    match = DECIMAL.match(value)
    if not match:
        errors[path] = f"must be a decimal string like {example!r} (digits, optional '-' and '.')"
        return None
    sign, whole, fraction = match.groups()
    if sign and not field.signed:
        errors[path] = "must not be negative"
        return None
    if len(fraction or "") > field.scale:
        errors[path] = f"at most {field.scale} decimals; round it yourself, the server never does"
        return None
    if len(whole.lstrip("0")) > field.int_digits:
        errors[path] = f"at most {field.int_digits} digits before the decimal point"
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:  # unreachable given the pattern, kept so bad input can never become a 500
        errors[path] = f"must be a decimal string like {example!r}"
        return None
    return format_decimal(number, field.scale)


def _external_ids(value: Any, errors: dict[str, str], *, partial: bool) -> dict[str, str | None]:
    if value is None:
        if partial:
            errors["external_ids"] = "to remove one id send {\"external_ids\": {\"system\": null}}"
        return {}
    if not isinstance(value, dict):
        errors["external_ids"] = 'must be an object of system -> id strings, e.g. {"invoiced": "15444"}'
        return {}
    if len(value) > EXTERNAL_IDS_MAX_KEYS:
        errors["external_ids"] = f"at most {EXTERNAL_IDS_MAX_KEYS} systems"
        return {}
    out: dict[str, str | None] = {}
    for system, ident in value.items():
        path = f"external_ids.{system}"
        if not EXTERNAL_SYSTEM.match(system):
            errors[path] = "system names are lower-case letters, digits and _ (at most 40), e.g. 'invoiced'"
        elif ident is None and partial:
            out[system] = None
        elif not isinstance(ident, str) or not 0 < len(ident) <= EXTERNAL_ID_MAX_LENGTH:
            errors[path] = f"must be a string of 1 to {EXTERNAL_ID_MAX_LENGTH} characters"
            if ident is None:
                errors[path] += " (null removes a key only on PATCH)"
        elif _string_problem(Field("external_id", "string", ""), ident):
            errors[path] = "is not valid Unicode text"
        else:
            out[system] = ident
    return out
