"""Reading request input: JSON or form bodies, bracket keys, and field types with the API's 400s.

Everything here only reads and checks; nothing writes. Handlers validate a whole request with
these helpers before they open a transaction, so bad input never leaves a partial write.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

from sandbox.common.http import Request, encode_json
from sandbox.invoiced.errors import invalid

Coercer = Callable[[Any, str], Any]  # (raw value, param name) -> clean value, or raises ApiError

_BRACKETS = re.compile(r"\[([^\[\]]*)\]")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TRUE_WORDS = frozenset({"1", "true", "True", "TRUE", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "False", "FALSE", "no", "off", ""})
METADATA_MAX_KEYS = 10
METADATA_MAX_KEY_LENGTH = 40
METADATA_MAX_VALUE_LENGTH = 255
# Deeper bodies are refused rather than recursed into (PHP's own input nesting limit is 64).
MAX_NESTING = 64
# Amounts and quantities stay below 10^15: far beyond any real invoice, and small enough that exact
# arithmetic stays cheap.
MAX_DIGITS = 15
# SQLite keeps integers in 64 bits; ids and timestamps beyond that cannot be stored or looked up.
MAX_INTEGER = 2**63 - 1


def unflatten(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Turn bracket keys (`items[0][name]`, `metadata[rep]`, `tags[]`) into nested dicts and lists.

    Follows PHP's rules, which the real API parses with: `[]` appends a new element, and a
    level whose keys are all numbers becomes a list in index order.
    """
    root: dict[str, Any] = {}
    for key, value in pairs:
        head = key.split("[", 1)[0]
        parts = [head, *_BRACKETS.findall(key[len(head) :])] if "[" in key else [key]
        if len(parts) > MAX_NESTING:
            raise invalid(f"The parameter {head} is nested more than {MAX_NESTING} levels deep.", "request")
        node = root
        for depth, part in enumerate(parts):
            name = part or str(len(node))  # `[]` appends
            if depth == len(parts) - 1:
                node[name] = value
            else:
                child = node.get(name)
                if not isinstance(child, dict):
                    child = {}
                    node[name] = child
                node = child
    return _listify(root)


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {k: _listify(v) for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


def _form_value(node: Any) -> Any:
    # The official clients send "" to mean null.
    if isinstance(node, dict):
        return {k: _form_value(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_form_value(v) for v in node]
    return None if node == "" else node


def parse_body(request: Request) -> dict[str, Any]:
    """The request body as a dict, from JSON or from a form-encoded body."""
    raw = request.body.strip()
    if not raw:
        return {}
    content_type = (request.header("Content-Type") or "").split(";")[0].strip().lower()
    if content_type == "application/json" or (not content_type and raw[:1] in (b"{", b"[")):
        try:
            body = json.loads(raw, parse_float=_json_number)
        except RecursionError:
            raise invalid(_TOO_DEEP, "request") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise invalid(f"The request body is not valid JSON: {exc}", "request") from exc
        if not isinstance(body, dict):
            raise invalid("The request body must be a JSON object.", "request")
        if _depth(body) > MAX_NESTING:
            raise invalid(_TOO_DEEP, "request")
        return body
    try:
        text = raw.decode()
    except UnicodeDecodeError as exc:
        raise invalid("The request body is not valid UTF-8 form data.", "request") from exc
    return _form_value(unflatten(parse_qsl(text, keep_blank_values=True)))


_TOO_DEEP = f"The request body is nested more than {MAX_NESTING} levels deep."


def _json_number(text: str) -> Decimal:
    # A number like 1e999999999 is cheap to parse but makes every later int() or JSON encoding
    # of it run for minutes; refuse it while it is still text.
    number = Decimal(text)
    if number.is_finite() and number.adjusted() > 20:
        raise invalid(f"The number {text[:40]} in the request body is too large.", "request")
    return number


def _depth(value: Any) -> int:
    """How deeply lists and objects nest, measured without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def read_fields(
    body: Mapping[str, Any],
    spec: Mapping[str, Coercer],
    *,
    model: str,
    blocked: Iterable[str] = (),
) -> dict[str, Any]:
    """Coerce the known keys of `body`; refuse read-only ones; ignore the rest like the API does."""
    blocked_set = frozenset(blocked)
    clean: dict[str, Any] = {}
    for key, value in body.items():
        if key in blocked_set:
            raise invalid(f"Mass assignment of {key} on {model} is not allowed", key)
        coerce = spec.get(key)
        if coerce is not None:
            clean[key] = coerce(value, key)
    return clean


def _type_error(param: str, expected: str, value: Any) -> Exception:
    return invalid(f"Invalid value for `{param}`: expected {expected}, got {json.dumps(value, default=str)}.", param)


def string(max_length: int = 255, *, nullable: bool = True, min_length: int = 0, strip: bool = False) -> Coercer:
    def coerce(value: Any, param: str) -> str | None:
        if value is None:
            if nullable:
                return None
            raise invalid(f"{param.replace('_', ' ').capitalize()} missing", param)
        if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
            raise _type_error(param, "a string", value)
        text = str(value).strip() if strip else str(value)
        if len(text) > max_length or len(text) < min_length:
            raise invalid(
                f"`{param}` must be between {min_length} and {max_length} characters long.", param
            )
        return text

    return coerce


def required_string(max_length: int = 255) -> Coercer:
    return string(max_length, nullable=False, min_length=1)


# Customer and invoice numbers: 1-32 characters once trimmed, as they are kept and compared trimmed.
document_number = string(32, nullable=False, min_length=1, strip=True)


def integer(*, nullable: bool = True, minimum: int | None = None) -> Coercer:
    def coerce(value: Any, param: str) -> int | None:
        if value is None and nullable:
            return None
        number = to_int(value)
        if number is None:
            raise _type_error(param, "an integer", value)
        if minimum is not None and number < minimum:
            raise invalid(f"`{param}` must be at least {minimum}.", param)
        if abs(number) > MAX_INTEGER:
            raise invalid(f"`{param}` is out of range: {number}.", param)
        return number

    return coerce


def to_int(value: Any) -> int | None:
    """An int from an int, an integral number or a decimal string; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    # The exponent check keeps int() from expanding something like 1E+999999999.
    if isinstance(value, Decimal) and value.is_finite() and value.adjusted() < 40 and value == int(value):
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,18}", value.strip()):
        return int(value)
    return None


def boolean(value: Any, param: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value in TRUE_WORDS:
        return True
    if isinstance(value, str) and value in FALSE_WORDS:
        return False
    raise _type_error(param, "true or false", value)


def decimal(*, nullable: bool = True, minimum: Decimal | None = None) -> Coercer:
    def coerce(value: Any, param: str) -> Decimal | None:
        if value is None and nullable:
            return None
        number = to_decimal(value)
        if number is None:
            raise _type_error(param, "a number", value)
        if minimum is not None and number < minimum:
            raise invalid(f"`{param}` must be at least {minimum}.", param)
        # adjusted() is the power of ten of the leading digit; abs() would overflow on 1e999999999.
        if number.adjusted() >= MAX_DIGITS:
            raise invalid(f"`{param}` is out of range: {value}. Numbers must be smaller than 10^{MAX_DIGITS}.", param)
        return number

    return coerce


def to_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        value = repr(value)
    try:
        number = Decimal(str(value).strip()) if isinstance(value, (str, int, Decimal)) else None
    except InvalidOperation:
        return None
    if number is None or not number.is_finite():
        return None
    return number


def email(value: Any, param: str) -> str | None:
    text = string(255)(value, param)
    if text is not None and not _EMAIL.match(text):
        raise invalid(f"`{param}` must be a valid email address: {text}", param)
    return text


def code(length: int, *, lower: bool = False) -> Coercer:
    """ISO codes: country (2 letters, upper case) and currency (3 letters, lower case)."""

    def coerce(value: Any, param: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not re.fullmatch(rf"[A-Za-z]{{{length}}}", value):
            raise _type_error(param, f"a {length}-letter ISO code", value)
        return value.lower() if lower else value.upper()

    return coerce


def choice(*options: str) -> Coercer:
    def coerce(value: Any, param: str) -> str | None:
        if value is None:
            return None
        if value not in options:
            raise invalid(f"`{param}` must be one of: {', '.join(options)}.", param)
        return str(value)

    return coerce


def json_object(value: Any, param: str) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    raise _type_error(param, "an object", value)


def _metadata_text(value: Any) -> str | None:
    """A metadata value as the backend stores and later returns it: text, booleans as 1/0, numbers as
    PHP prints them, arrays and objects as JSON. None for a type it refuses (null)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, Decimal, dict, list)):
        return encode_json(value).decode()
    return None


def metadata(value: Any, param: str) -> dict[str, str]:
    """The metadata map with the real limits and messages; every value is kept as text."""
    if value is None or value == []:
        return {}
    if not isinstance(value, dict):
        raise invalid("Metadata must be an object", "metadata")
    if len(value) > METADATA_MAX_KEYS:
        raise invalid(
            f"There can only be up to {METADATA_MAX_KEYS} metadata values. {len(value)} values were provided.",
            "metadata",
        )
    clean: dict[str, str] = {}
    for key, raw in value.items():
        if len(key.encode()) > METADATA_MAX_KEY_LENGTH:
            raise invalid(
                f"The `{key}` metadata key exceeds the {METADATA_MAX_KEY_LENGTH} character limit.", "metadata"
            )
        item = _metadata_text(raw)
        if item is None:
            raise invalid(
                f"The provided value for metadata.{key} is an invalid type. "
                "Valid types are string, boolean, number, object, and array.",
                "metadata",
            )
        if len(item.encode()) > METADATA_MAX_VALUE_LENGTH:
            raise invalid(
                f"The provided value for metadata.{key} exceeds the {METADATA_MAX_VALUE_LENGTH} character limit.",
                "metadata",
            )
        clean[key] = item
    return clean


def object_id(value: str, model: str) -> int:
    """A path id of an integer-keyed object; refuse anything else with a clear 400."""
    number = to_int(value)
    if number is None or number < 1:
        raise invalid(f"Invalid {model.lower()} ID: {value}. {model} IDs are positive integers.", "id")
    return number
