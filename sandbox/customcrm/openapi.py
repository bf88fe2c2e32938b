"""Generate the OpenAPI 3.1 document of the Customcrm contract from the entity definitions.

`python -m sandbox.customcrm.openapi` rewrites sandbox/customcrm/openapi.json; `--check` only
compares and fails when the committed file is stale (a test does the same).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sandbox.customcrm.codes import COUNTRIES, CURRENCIES
from sandbox.customcrm.entities import (
    ADDRESS,
    ENTITIES,
    EXTERNAL_ID_MAX_LENGTH,
    EXTERNAL_IDS_MAX_KEYS,
    EXTERNAL_SYSTEM_PATTERN,
    ORDER_LINE,
    Entity,
    Field,
)
from sandbox.customcrm.errors import REFUSALS, openapi_description
from sandbox.customcrm.paging import DEFAULT_LIMIT, MAX_FILTER_LENGTH, MAX_LIMIT
from sandbox.customcrm.validation import EMAIL, ID_MAX_LENGTH

DOCUMENT_PATH = Path(__file__).with_name("openapi.json")
VERSION = "1.0.0"
Schema = dict[str, Any]

INTRO = """\
The contract a CRM exposes so the Customcrm ⇄ Invoiced connector can sync it. Every collection behaves the same:

- **Auth**: `Authorization: Bearer <token>`; without a valid token every `/v1` call answers 401.
- **Records** carry `id`, `version` (+1 on every change), `created_at`, `updated_at`, `deleted_at` and
  `external_ids` (ids of the same record in other systems, e.g. `{"invoiced": "15444"}`).
- **Timestamps** are RFC 3339 in UTC with six fractional digits and a `Z`. `updated_at` strictly increases with
  every write across the whole service, so no two writes share one.
- **Lists** are ordered by (`updated_at`, `id`) and paged with an opaque keyset cursor (`next_cursor`, null on
  the last page). A record changed during a walk comes again later in its newer version; none is skipped and
  no older version ever follows a newer one. `updated_since` is inclusive. A cursor only continues the query
  that produced it: repeat the same filters with it. A cursor stays valid at least 24 hours, across restarts
  (the reference service's never expire); past that, restart with `updated_since` = the last `updated_at` seen.
- **Deletes are soft**: `DELETE` sets `deleted_at`; lists show deleted records only with `include_deleted=true`;
  `GET /v1/{collection}/{id}` still returns them (200, `deleted_at` set). Deleted records cannot be changed (410).
  Tombstones stay listable at least 30 days after `deleted_at` (the reference service keeps them forever); a
  reader offline for longer must re-read in full with `include_deleted=true`.
- **Concurrency**: `If-Match: "<version>"` on PATCH and DELETE; a stale version answers 412 with
  `current_version`. Responses carrying a record send its version as `ETag`.
- **Idempotent creates**: POST with `Idempotency-Key` replays the first answer for the same key and body;
  the same key with a different body answers 422 `idempotency_key_reused`.
- **Money and quantities** are decimal strings with a fixed scale (money 2, quantity 3), never JSON numbers.
- **Errors** are `{"error": {"code", "message", "fields"?, "current_version"?}}`.
"""


def build_document() -> dict[str, Any]:
    schemas: dict[str, Schema] = {**_shared_schemas()}
    paths: dict[str, Any] = {}
    for entity in ENTITIES.values():
        schemas.update(_entity_schemas(entity))
        paths.update(_entity_paths(entity))
    return {
        "openapi": "3.1.0",
        "info": {"title": "Customcrm API", "version": VERSION, "description": INTRO},
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
            "parameters": _parameters(),
            "headers": _headers(),
            "responses": _error_responses(),
        },
    }


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: Schema) -> Schema:
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    out = {**schema, "type": [schema["type"], "null"]}
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


def _decimal_pattern(field: Field, *, exact: bool) -> str:
    sign = "-?" if field.signed else ""
    if not field.scale:
        return f"^{sign}[0-9]{{1,{field.int_digits}}}$"
    fraction = f"\\.[0-9]{{{field.scale}}}" if exact else f"(\\.[0-9]{{1,{field.scale}}})?"
    return f"^{sign}[0-9]{{1,{field.int_digits}}}{fraction}$"


def _field_schema(field: Field, mode: str) -> Schema:  # noqa: PLR0911
    """The schema of one field; mode is `input` (POST/PATCH bodies) or `output` (records)."""
    kind, described = field.kind, {"description": field.description}
    if kind in ("country", "currency"):
        return _ref("CountryCode" if kind == "country" else "CurrencyCode")
    if kind == "object":
        return _ref(_object_name(field, mode))
    if kind == "list":
        return {"type": "array", "maxItems": field.max_items, "items": _ref(_object_name(field, mode)), **described}
    if kind == "decimal":
        return {"type": "string", "pattern": _decimal_pattern(field, exact=mode == "output"), **described}
    if kind == "integer":
        return {"type": "integer", "minimum": field.minimum, "maximum": field.maximum, **described}
    if kind == "boolean":
        return {"type": "boolean", **described}
    if kind == "date":
        return {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", **described}
    if kind == "enum":
        return {"type": "string", "enum": list(field.choices), **described}
    if kind in ("ref", "id"):
        return {"type": "string", "minLength": 1, "maxLength": ID_MAX_LENGTH, **described}
    schema: Schema = {"type": "string", "maxLength": field.max_length, **described}
    if kind == "email":
        schema["pattern"] = EMAIL.pattern
    elif mode == "input" and (field.required or field.unique):
        schema.update(minLength=1, pattern="\\S")
    return schema


def _object_name(field: Field, mode: str) -> str:
    return field.title + ("Input" if mode == "input" else "")


def _object_schema(fields: tuple[Field, ...], mode: str, *, required: list[str], description: str) -> Schema:
    properties: dict[str, Schema] = {}
    for field in fields:
        if mode == "input" and field.computed:
            continue
        schema = _field_schema(field, mode)
        nullable = field.accepts_null if mode == "input" else field.nullable
        properties[field.name] = _nullable(schema) if nullable else schema
    return {
        "type": "object",
        "description": description,
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _entity_schemas(entity: Entity) -> dict[str, Schema]:
    title = entity.title
    record = _object_schema(
        entity.fields, "output", required=[f.name for f in entity.fields], description=entity.description
    )
    record["properties"] = {
        "id": {"type": "string", "minLength": 1, "maxLength": ID_MAX_LENGTH, "description": "Server-assigned id."},
        **record["properties"],
        "external_ids": _ref("ExternalIds"),
        "version": {"type": "integer", "minimum": 1, "description": "Starts at 1; +1 on every change."},
        "created_at": _ref("Timestamp"),
        "updated_at": _ref("Timestamp"),
        "deleted_at": _nullable(_ref("Timestamp")),
    }
    record["required"] = list(record["properties"])
    writable = entity.writable
    create = _object_schema(
        writable, "input", required=[f.name for f in writable if f.required],
        description=f"A new {title.lower()}. Unknown and read-only fields are rejected (422).",
    )
    create["properties"]["external_ids"] = _ref("ExternalIdsInput")
    patch = _object_schema(
        writable, "input", required=[],
        description=f"Fields of a {title.lower()} to change; absent fields stay, null clears an optional field.",
    )
    patch["properties"]["external_ids"] = _ref("ExternalIdsPatch")
    page = {
        "type": "object",
        "properties": {
            "data": {"type": "array", "items": _ref(title)},
            "next_cursor": {
                "type": ["string", "null"],
                "description": "Pass as `cursor` (with the same filters) for the next page; null on the last page.",
            },
        },
        "required": ["data", "next_cursor"],
        "additionalProperties": False,
    }
    return {title: record, f"{title}Create": create, f"{title}Patch": patch, f"{title}Page": page}


def _shared_schemas() -> dict[str, Schema]:
    system_names = {"pattern": EXTERNAL_SYSTEM_PATTERN}
    external_id = {"type": "string", "minLength": 1, "maxLength": EXTERNAL_ID_MAX_LENGTH}
    error_fields = {"type": "object", "additionalProperties": {"type": "string"}}
    return {
        "Timestamp": {
            "type": "string",
            "format": "date-time",
            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$",
            "description": "RFC 3339, UTC, microseconds, trailing Z.",
        },
        "CountryCode": {"type": "string", "enum": sorted(COUNTRIES), "description": "ISO 3166-1 alpha-2."},
        "CurrencyCode": {"type": "string", "enum": sorted(CURRENCIES), "description": "ISO 4217."},
        "ExternalIds": {
            "type": "object",
            "description": 'Ids of this record in other systems, by system name, e.g. {"invoiced": "15444"}.',
            "propertyNames": system_names,
            "additionalProperties": {"type": "string"},
        },
        "ExternalIdsInput": {
            "type": "object",
            "propertyNames": system_names,
            "maxProperties": EXTERNAL_IDS_MAX_KEYS,
            "additionalProperties": external_id,
        },
        "ExternalIdsPatch": {
            "type": "object",
            "description": "Merged key by key into the stored ids; null removes a key.",
            "propertyNames": system_names,
            "maxProperties": EXTERNAL_IDS_MAX_KEYS,
            "additionalProperties": {"type": ["string", "null"], "minLength": 1, "maxLength": EXTERNAL_ID_MAX_LENGTH},
        },
        "Address": _object_schema(ADDRESS, "output", required=[f.name for f in ADDRESS], description="An address."),
        "AddressInput": _object_schema(
            ADDRESS, "input", required=[], description="Address members to set; PATCH merges them key by key."
        ),
        "OrderLine": _object_schema(
            ORDER_LINE, "output", required=[f.name for f in ORDER_LINE], description="One order line."
        ),
        "OrderLineInput": _object_schema(
            ORDER_LINE, "input", required=[f.name for f in ORDER_LINE if f.required],
            description="A whole order line; include `id` to keep an existing line.",
        ),
        "Error": {
            "type": "object",
            "properties": {
                "error": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "string", "description": "Stable machine-readable reason."},
                        "message": {"type": "string", "description": "What went wrong and what to do."},
                        "fields": {**error_fields, "description": "Field or parameter path -> reason."},
                        "current_version": {"type": "integer", "description": "On 412: the version to use."},
                    },
                    "required": ["code", "message"],
                    "additionalProperties": False,
                }
            },
            "required": ["error"],
            "additionalProperties": False,
        },
    }


def _parameters() -> dict[str, Schema]:
    return {
        "Id": {"name": "id", "in": "path", "required": True,
               "schema": {"type": "string", "minLength": 1, "maxLength": ID_MAX_LENGTH}},
        "Limit": {"name": "limit", "in": "query", "description": "Page size.",
                  "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}},
        "Cursor": {"name": "cursor", "in": "query", "schema": {"type": "string", "maxLength": 2000},
                   "description": "`next_cursor` of the previous page; send the same filters with it. "
                   "Valid at least 24 hours, across restarts."},
        "UpdatedSince": {"name": "updated_since", "in": "query", "schema": {"type": "string", "format": "date-time"},
                         "description": "Only records with updated_at >= this instant (inclusive)."},
        "IncludeDeleted": {"name": "include_deleted", "in": "query",
                           "schema": {"type": "boolean", "default": False},
                           "description": "Also return soft-deleted records (deleted_at set), kept at least 30 days."},
        "ExternalId": {
            "name": "external_id", "in": "query", "style": "deepObject", "explode": True,
            "description": "Look-up by external id, e.g. `external_id[invoiced]=15444` (exact match).",
            "schema": {"type": "object", "propertyNames": {"pattern": EXTERNAL_SYSTEM_PATTERN},
                       "additionalProperties": {"type": "string", "minLength": 1, "maxLength": MAX_FILTER_LENGTH}},
        },
        "IdempotencyKey": {
            "name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            "description": "Replays the first answer for the same key and body; another body -> 422.",
        },
        "IfMatch": {
            "name": "If-Match", "in": "header", "schema": {"type": "string", "pattern": '^(\\*|"[0-9]{1,18}")$'},
            "description": 'Expected version as an entity tag, e.g. `"3"`; a stale version answers 412.',
        },
    }


def _headers() -> dict[str, Schema]:
    return {
        "ETag": {"required": True, "description": 'The record version, e.g. `"3"`.', "schema": {"type": "string"}},
        "RetryAfter": {"required": True, "description": "Seconds to wait.", "schema": {"type": "string"}},
    }


def _error_responses() -> dict[str, Schema]:
    out: dict[str, Schema] = {}
    for refusal in REFUSALS:
        if refusal.response is not None:
            out[refusal.response] = {
                "description": openapi_description(refusal),
                "content": {"application/json": {"schema": _ref("Error")}},
            }
    out["RateLimited"]["headers"] = {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}}
    return out


def _errors(*names: str) -> dict[str, Schema]:
    """The error answers of one operation, by response name, plus those every operation can give."""
    statuses = {r.response: str(r.status) for r in REFUSALS if r.response is not None}
    chosen = ("Unauthorized", *names, "RateLimited", "ServerError")
    return {statuses[n]: {"$ref": f"#/components/responses/{n}"} for n in sorted(chosen, key=statuses.__getitem__)}


def _record_response(
    title: str, description: str, *, extra_headers: dict[str, Schema] | None = None, links: tuple[str, ...] = ()
) -> Schema:
    response: Schema = {
        "description": description,
        "headers": {"ETag": {"$ref": "#/components/headers/ETag"}, **(extra_headers or {})},
        "content": {"application/json": {"schema": _ref(title)}},
    }
    if links:
        # Links say which calls can follow with this record's id: clients and stateful fuzzers chain them.
        response["links"] = {
            f"{verb.capitalize()}{title}": {
                "operationId": f"{verb}_{title.lower()}",
                "parameters": {"id": "$response.body#/id"},
            }
            for verb in links
        }
    return response


def _param(name: str) -> Schema:
    return {"$ref": f"#/components/parameters/{name}"}


def _entity_paths(entity: Entity) -> dict[str, Any]:
    title, name = entity.title, entity.name
    lookups = [
        {"name": f.name, "in": "query", "schema": {"type": "string", "minLength": 1, "maxLength": MAX_FILTER_LENGTH},
         "description": f"Exact match on {f.name}" + (", ignoring case." if f.fold_case else ".")}
        for f in entity.lookups
    ]
    body = {"required": True, "content": {"application/json": {"schema": _ref(f"{title}Create")}}}
    patch_body = {"required": True, "content": {"application/json": {"schema": _ref(f"{title}Patch")}}}
    location = {"Location": {"description": "URL of the new record.", "schema": {"type": "string"}}}
    return {
        f"/v1/{name}": {
            "get": {
                "operationId": f"list_{name}",
                "summary": f"List {name} in (updated_at, id) order, keyset-paged.",
                "parameters": [
                    _param("Limit"), _param("Cursor"), _param("UpdatedSince"), _param("IncludeDeleted"),
                    *lookups, _param("ExternalId"),
                ],
                "responses": {
                    "200": {
                        "description": "One page.",
                        "content": {"application/json": {"schema": _ref(f"{title}Page")}},
                    },
                    **_errors("ValidationFailed"),
                },
            },
            "post": {
                "operationId": f"create_{title.lower()}",
                "summary": f"Create a {title.lower()}.",
                "parameters": [_param("IdempotencyKey")],
                "requestBody": body,
                "responses": {
                    "201": _record_response(
                        title, "Created (or the replay of an earlier create).", extra_headers=location,
                        links=("get", "update", "delete"),
                    ),
                    **_errors("BadRequest", "Conflict", "ValidationFailed"),
                },
            },
        },
        f"/v1/{name}/{{id}}": {
            "parameters": [_param("Id")],
            "get": {
                "operationId": f"get_{title.lower()}",
                "summary": f"Get one {title.lower()}, also when deleted (then deleted_at is set).",
                "responses": {"200": _record_response(title, "The record."), **_errors("NotFound")},
            },
            "patch": {
                "operationId": f"update_{title.lower()}",
                "summary": f"Change some fields of a {title.lower()}.",
                "parameters": [_param("IfMatch")],
                "requestBody": patch_body,
                "responses": {
                    "200": _record_response(
                        title, "The record after the change (unchanged if nothing differed).",
                        links=("get", "delete"),
                    ),
                    **_errors("BadRequest", "NotFound", "Conflict", "Gone", "PreconditionFailed", "ValidationFailed"),
                },
            },
            "delete": {
                "operationId": f"delete_{title.lower()}",
                "summary": f"Soft-delete a {title.lower()} (deleting a deleted record again is a no-op).",
                "parameters": [_param("IfMatch")],
                "responses": {
                    "204": {"description": "Deleted."},
                    **_errors("NotFound", "PreconditionFailed", "ValidationFailed"),
                },
            },
        },
    }


def render() -> str:
    return json.dumps(build_document(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed document is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = DOCUMENT_PATH.read_text() if DOCUMENT_PATH.exists() else ""
        if current != text:
            sys.stderr.write(f"{DOCUMENT_PATH} is stale; run: python -m sandbox.customcrm.openapi\n")
            return 1
        return 0
    DOCUMENT_PATH.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
