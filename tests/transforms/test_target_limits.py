"""Every text the mapper lets through, the other system accepts.

For each text row and direction, the longest value the source system can hold is offered (in two-byte characters,
because Invoiced counts metadata in bytes). Whatever length the mapper still accepts must pass the receiving system's
own validation, here the sandboxes' validators, which follow each API's documented limits. A row missing its limit
shows up as a value the mapper passes and the other system refuses, which a target could only record as a failed write.
"""

from __future__ import annotations

import itertools
import json
import string
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from customcrm_invoiced_mapper.converters import Direction
from customcrm_invoiced_mapper.engine import map_record
from customcrm_invoiced_mapper.spec import Flow, ListSpec, Row, load_flows
from customcrm_invoiced_mapper.values import Unmappable

from sandbox.common.process import REPO_ROOT
from sandbox.customcrm.entities import ENTITIES
from sandbox.customcrm.validation import Invalid, validate_patch
from sandbox.invoiced.errors import ApiError
from sandbox.invoiced.resources import customers, invoices, items, lines
from sandbox.invoiced.validation import metadata

UTC = ZoneInfo("UTC")
CHAR = "ø"  # one character, two bytes in UTF-8
CUSTOMCRM_SCHEMAS = REPO_ROOT / "tap-customcrm" / "tap_customcrm" / "schemas"
INVOICED_FIELDS = {"customers": customers.FIELDS, "invoices": invoices.FIELDS, "items": items.FIELDS}
PROBE_CAP = 20_000  # longer than any text either system keeps


Case = tuple[Flow, ListSpec | None, Row, Direction]


def _text_rows() -> list[Case]:
    found: list[Case] = []
    for flow in load_flows():
        for spec, rows in [(None, flow.rows), *((spec, spec.rows) for spec in flow.lists)]:
            for row in rows:
                for direction in ("to_invoiced", "to_customcrm"):
                    if row.converter.name == "text" and row.applies(direction):
                        found.append((flow, spec, row, direction))
    return found


def _id(case: Case) -> str:
    flow, spec, row, direction = case
    prefix = f"{spec.customcrm}[]." if spec else ""
    return f"{flow.name}:{prefix}{row.customcrm}->{row.invoiced[0]}:{direction}"


def _invoiced_accepts(stream: str, path: str, value: str, *, line: bool) -> bool:
    try:
        if path.startswith("metadata."):
            metadata({path.removeprefix("metadata."): value}, "metadata")
        else:
            fields = lines.LINE_FIELDS if line else INVOICED_FIELDS[stream]
            fields[path](value, path)
    except ApiError:
        return False
    return True


def _customcrm_accepts(stream: str, path: str, value: str, *, line: bool) -> bool:
    body: dict[str, Any] = {}
    node = body
    *parents, leaf = path.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    if line:
        body = {"lines": [{"description": "x", "quantity": "1.000", "unit_price": "1.00", **body}]}
    try:
        validate_patch(ENTITIES[stream], body)
    except Invalid as exc:
        return not exc.fields
    return True


def _customcrm_capacity(stream: str, path: str) -> int:
    schema = json.loads((CUSTOMCRM_SCHEMAS / f"{stream}.json").read_text())
    node = schema
    for part in path.replace("[].", ".").split("."):
        node = node.get("items", node)["properties"][part]
    return node.get("maxLength", PROBE_CAP)


def _longest(accepts: Callable[[int], bool]) -> int:
    """The longest length in 0..PROBE_CAP that `accepts`, which holds for every length up to some bound."""
    low, high = 0, PROBE_CAP
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if accepts(middle) else (low, middle - 1)
    return low


def _nested(path: str, value: str) -> dict[str, Any]:
    """A record holding only `value` at `path` (dots for objects, [] for the first list element)."""
    if "[]." in path:
        outer, inner = path.split("[].", 1)
        return {outer: [_nested(inner, value)]}
    head, _, rest = path.partition(".")
    return {head: _nested(rest, value) if rest else value}


def _maker(path: str, char: str) -> Callable[[int], str]:
    """Texts of a given length in the shape the field requires (an e-mail field takes only addresses)."""
    if path.rsplit(".", 1)[-1].endswith("email"):
        return lambda n: char * max(n - 5, 1) + "@x.no"
    return lambda n: char * n


@pytest.mark.parametrize("case", _text_rows(), ids=_id)
def test_text_the_mapper_passes_is_accepted_by_the_other_system(case: Case) -> None:
    flow, spec, row, direction = case
    line = spec is not None
    source_path = (f"{spec.source(direction)}[]." if spec else "") + row.source(direction)[0]
    invoiced_path = row.invoiced[0]
    invoiced_stream = "invoices" if flow.name == "user" else flow.invoiced.stream
    make = _maker(source_path, CHAR)
    if direction == "to_invoiced":
        capacity = _customcrm_capacity(flow.customcrm.stream, source_path)
    else:
        capacity = _longest(lambda n: _invoiced_accepts(invoiced_stream, invoiced_path, make(n), line=line))
        if capacity == 0:  # Invoiced keeps only ASCII here (item ids)
            make = _maker(source_path, "x")
            capacity = _longest(lambda n: _invoiced_accepts(invoiced_stream, invoiced_path, make(n), line=line))

    def mapper_passes(length: int) -> bool:
        out = map_record(flow, direction, _nested(source_path, make(length)), UTC)
        return all(p["field"] != source_path.replace("[]", "[0]") for p in out.get("_reject", {}).get("problems", []))

    passed = min(capacity, _longest(mapper_passes))
    assert passed > 0
    value = row.converter.convert(direction, make(passed), UTC)
    if direction == "to_invoiced":
        accepted = _invoiced_accepts(invoiced_stream, invoiced_path, value, line=line)
    elif row.customcrm == "id":  # the record's identity: the target addresses the record by it, never writes it
        accepted = len(value) <= _customcrm_capacity(flow.customcrm.stream, "id")
    else:
        accepted = _customcrm_accepts(flow.customcrm.stream, row.customcrm or "", value, line=line)
    assert accepted, f"the mapper passes {len(value)} characters that the receiving system refuses"


def _customcrm_refuses(stream: str, body: dict[str, Any]) -> bool:
    try:
        validate_patch(ENTITIES[stream], body)
    except Invalid:
        return True
    return False


def _row(flow: Flow, converter: str, spec: ListSpec | None = None) -> list[Row]:
    return [row for row in (spec.rows if spec else flow.rows) if row.converter.name == converter]


def _passes(row: Row, value: Any) -> Any:
    try:
        return row.converter.convert("to_customcrm", value, UTC)
    except Unmappable:
        return None


@pytest.mark.parametrize(("flow_name", "converter", "length"), [("customer", "country", 2), ("order", "currency", 3)])
def test_the_codes_the_mapper_passes_are_exactly_the_codes_customcrm_accepts(
    flow_name: str, converter: str, length: int
) -> None:
    flow = next(f for f in load_flows() if f.name == flow_name)
    (row,) = _row(flow, converter)
    candidates = ["".join(c) for c in itertools.product(string.ascii_lowercase, repeat=length)]
    passed = {code for code in (_passes(row, c) for c in candidates) if code is not None}
    accepted = {
        c.upper() for c in candidates
        if not _customcrm_refuses(flow.customcrm.stream, _nested(row.customcrm or "", c.upper()))
    }
    assert passed == accepted


def test_the_payment_terms_the_mapper_passes_are_those_customcrm_accepts() -> None:
    flow = next(f for f in load_flows() if f.name == "customer")
    (row,) = _row(flow, "payment_terms")
    for days in range(10_000):
        passed = _passes(row, f"NET {days}")
        assert (passed is not None) is not _customcrm_refuses("customers", {"payment_terms_days": days}), days


@pytest.mark.parametrize("digits", range(20))
def test_the_amounts_the_mapper_passes_are_those_customcrm_accepts(digits: int) -> None:
    for flow in load_flows():
        for spec in (None, *flow.lists):
            for row in _row(flow, "decimal", spec):
                for number in (Decimal(10) ** digits - Decimal("0.01"), Decimal(10) ** digits):
                    body: dict[str, Any] = {row.customcrm or "": f"{number:.{row.converter.args['scale']}f}"}
                    if spec is not None:
                        body = {"lines": [{"description": "x", "quantity": "1.000", "unit_price": "1.00", **body}]}
                    accepted = not _customcrm_refuses(flow.customcrm.stream, body)
                    assert (_passes(row, number) is not None) is accepted, (row.customcrm, number)
