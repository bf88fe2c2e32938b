"""List queries: timestamps, filters and the keyset cursor.

A list walks records in (updated_at, id) order. The cursor holds the position of the last record
returned plus a fingerprint of the query, so it can only continue the walk it came from.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field

from sandbox.customcrm.entities import EXTERNAL_SYSTEM_PATTERN, Entity
from sandbox.customcrm.validation import Invalid

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
ONE_US = dt.timedelta(microseconds=1)
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_FILTER_LENGTH = 255
TIMESTAMP = re.compile(
    r"^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?"
    r"(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))$"
)
EXTERNAL_FILTER = re.compile(r"^external_id\[(.*)\]$")
EXTERNAL_SYSTEM = re.compile(EXTERNAL_SYSTEM_PATTERN)
BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


def format_timestamp(micros: int) -> str:
    """RFC 3339 in UTC with exactly six fractional digits and a Z: fixed width, so text order is time order."""
    return (EPOCH + micros * ONE_US).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str) -> int:
    """Microseconds since the epoch of an RFC 3339 timestamp with an offset; ValueError if it is not one."""
    match = TIMESTAMP.match(text)
    if not match:
        msg = "not an RFC 3339 timestamp"
        raise ValueError(msg)
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    offset = dt.timedelta(0)
    if not zulu:
        offset = dt.timedelta(hours=int(off_h), minutes=int(off_m)) * (-1 if sign == "-" else 1)
    # Digits beyond microseconds are cut off: rounding down keeps an inclusive lower bound inclusive.
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    local = dt.datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second), micros,
        tzinfo=dt.timezone(offset),
    )
    return (local - EPOCH) // ONE_US


@dataclass(frozen=True)
class ListQuery:
    limit: int = DEFAULT_LIMIT
    updated_since: int | None = None
    include_deleted: bool = False
    filters: dict[str, str] = field(default_factory=dict)  # lookup field -> exact value
    external_ids: dict[str, str] = field(default_factory=dict)  # system -> id
    after: tuple[int, str] | None = None  # (updated_at, id) of the last record already returned

    def fingerprint(self, entity: Entity) -> str:
        shape = [entity.name, self.updated_since, self.include_deleted, self.filters, self.external_ids]
        return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]

    def cursor_after(self, entity: Entity, updated_at: int, record_id: str) -> str:
        token = json.dumps({"at": [updated_at, record_id], "q": self.fingerprint(entity)}, separators=(",", ":"))
        return base64.urlsafe_b64encode(token.encode()).decode().rstrip("=")


def parse_list_query(entity: Entity, query: list[tuple[str, str]]) -> ListQuery:  # noqa: PLR0912
    errors: dict[str, str] = {}
    seen: set[str] = set()
    lookups = {f.name: f for f in entity.lookups}
    values: dict[str, object] = {}
    filters: dict[str, str] = {}
    external_ids: dict[str, str] = {}
    cursor: str | None = None
    for name, value in query:
        if name in seen:
            errors[name] = "given more than once; send each query parameter once"
            continue
        seen.add(name)
        external = EXTERNAL_FILTER.match(name)
        if name == "limit":
            if not re.fullmatch(r"[0-9]{1,4}", value) or not 1 <= int(value) <= MAX_LIMIT:
                errors[name] = f"must be a whole number from 1 to {MAX_LIMIT}"
            else:
                values["limit"] = int(value)
        elif name == "updated_since":
            try:
                values["updated_since"] = parse_timestamp(value)
            except (ValueError, OverflowError):
                errors[name] = "must be an RFC 3339 timestamp with an offset, e.g. 2024-05-01T12:00:00.000000Z"
        elif name == "include_deleted":
            if value.lower() not in BOOLEANS:
                errors[name] = "must be true or false"
            else:
                values["include_deleted"] = BOOLEANS[value.lower()]
        elif name == "cursor":
            cursor = value
        elif name in lookups:
            if not 0 < len(value) <= MAX_FILTER_LENGTH:
                errors[name] = f"must be 1 to {MAX_FILTER_LENGTH} characters"
            else:
                filters[name] = value.lower() if lookups[name].fold_case else value
        elif external and EXTERNAL_SYSTEM.match(external.group(1)):
            if not 0 < len(value) <= MAX_FILTER_LENGTH:
                errors[name] = f"must be 1 to {MAX_FILTER_LENGTH} characters"
            else:
                external_ids[external.group(1)] = value
        elif external:
            errors[name] = "the system in external_id[system] is lower-case letters, digits and _, e.g. invoiced"
        else:
            known = ["limit", "cursor", "updated_since", "include_deleted", *lookups, "external_id[system]"]
            errors[name] = f"unknown query parameter; known ones are: {', '.join(known)}"
    if errors:
        raise Invalid(errors, "the list query is invalid; see `fields` for each parameter")
    result = ListQuery(filters=filters, external_ids=external_ids, **values)  # type: ignore[arg-type]
    if cursor is not None:
        result = ListQuery(**{**result.__dict__, "after": _decode_cursor(entity, result, cursor)})
    return result


def _decode_cursor(entity: Entity, query: ListQuery, cursor: str) -> tuple[int, str]:
    try:
        token = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        updated_at, record_id = token["at"]
        fingerprint = token["q"]
        if not isinstance(updated_at, int) or not isinstance(record_id, str) or not isinstance(fingerprint, str):
            raise TypeError
        if not -(2**62) < updated_at < 2**62:
            raise ValueError
        record_id.encode("utf-8")
    except (ValueError, TypeError, KeyError, binascii.Error, RecursionError):
        msg = "not a cursor this service issued; pass next_cursor exactly as returned, or leave it out"
        raise Invalid({"cursor": msg}) from None
    if fingerprint != query.fingerprint(entity):
        msg = (
            "this cursor belongs to a different query: repeat the filters of the first page "
            "(updated_since, include_deleted, look-ups) unchanged, or start again without a cursor"
        )
        raise Invalid({"cursor": msg})
    return updated_at, record_id
