"""Derive the tap's stream schemas from the Customcrm OpenAPI document.

    python tap-customcrm/scripts/derive_schemas.py sandbox/customcrm/openapi.json          # rewrite
    python tap-customcrm/scripts/derive_schemas.py sandbox/customcrm/openapi.json --check  # fail if stale

The tap ships the result (tap_customcrm/schemas/*.json) and never reads the contract at run time. The
conversion keeps what a Singer target can use and drops what only validates requests:
- `$ref`s are inlined and `anyOf [X, null]` becomes a nullable X;
- decimal strings stay strings (the contract's exact representation, no float rounding anywhere), marked
  `format: x-singer.decimal` (SDK-based SQL targets map it to DECIMAL) with the string's `maxLength`; the SDK's
  schema model drops `precision`/`scale` keywords, so the scale is stated in each field's description;
- the ISO country and currency code lists become 2- and 3-letter strings (the codes stay the service's job);
- status enums, date and date-time formats, lengths and bounds are kept; other patterns are dropped;
- every stream gains `_sdc_deleted_at`, the tombstone's `deleted_at` under the Singer SDK's name for it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

STREAMS = {"customers": "Customer", "products": "Product", "orders": "Order", "users": "User"}
SCHEMAS_DIR = Path(__file__).resolve().parents[1] / "tap_customcrm" / "schemas"
CODE_LISTS = {"CountryCode": 2, "CurrencyCode": 3}
DECIMAL_PATTERN = re.compile(r"^\^(-\?)?\[0-9\]\{1,(\d+)\}(?:\\\\?\.\[0-9\]\{(\d+)\})?\$$")
KEPT = ("description", "format", "enum", "minimum", "maximum", "minLength", "maxLength", "required")

Schema = dict[str, Any]


# The Singer name for a record's delete time: loaders soft-delete (or with hard_delete remove) a row that has it.
SDC_DELETED_AT = {"type": ["string", "null"], "format": "date-time", "description": (
    "When the record was deleted in Customcrm (the same as deleted_at), else null: the Singer convention that loaders "
    "read to soft-delete or remove the row.")}


def derive(document: Schema) -> dict[str, Schema]:
    components = document["components"]["schemas"]
    derived = {stream: _convert(components[title], components) for stream, title in STREAMS.items()}
    for schema in derived.values():
        schema["properties"]["_sdc_deleted_at"] = SDC_DELETED_AT
    return derived


def _convert(schema: Schema, components: Schema) -> Schema:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in CODE_LISTS:
            size = CODE_LISTS[name]
            description = components[name]["description"]
            return {"type": ["string"], "minLength": size, "maxLength": size, "description": description}
        return _convert(components[name], components)
    if "anyOf" in schema:
        (inner,) = [option for option in schema["anyOf"] if option != {"type": "null"}]
        return _nullable(_convert(inner, components))
    out: Schema = {"type": schema["type"] if isinstance(schema["type"], list) else [schema["type"]]}
    out.update({key: schema[key] for key in KEPT if key in schema})
    decimal = DECIMAL_PATTERN.match(schema.get("pattern", "")) if "string" in out["type"] else None
    if decimal:
        sign, digits, scale = decimal.group(1), int(decimal.group(2)), int(decimal.group(3) or 0)
        out.update({"format": "x-singer.decimal", "maxLength": len(sign or "") // 2 + digits + (scale and scale + 1)})
    if "properties" in schema:
        out["properties"] = {name: _convert(prop, components) for name, prop in schema["properties"].items()}
    if "items" in schema:
        out["items"] = _convert(schema["items"], components)
    if isinstance(schema.get("additionalProperties"), dict):
        out["additionalProperties"] = _convert(schema["additionalProperties"], components)
    return out


def _nullable(schema: Schema) -> Schema:
    out = {**schema, "type": [*schema["type"], "null"] if "null" not in schema["type"] else schema["type"]}
    if "enum" in out and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    return out


def render(schema: Schema) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("openapi", type=Path, help="the Customcrm OpenAPI 3.1 document (JSON)")
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if a shipped schema is stale")
    args = parser.parse_args(argv)
    stale = []
    for stream, schema in derive(json.loads(args.openapi.read_text())).items():
        path = SCHEMAS_DIR / f"{stream}.json"
        text = render(schema)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.write_text(text)
    if stale:
        sys.stderr.write(f"stale schemas: {', '.join(stale)}; rerun without --check\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
