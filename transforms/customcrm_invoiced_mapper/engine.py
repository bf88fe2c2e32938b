"""Applies a flow's rows to one record in one direction: a pure function from source record to output record.

Rules, in the order the rows are written:
- an absent source field leaves the target field absent (the target leaves it alone); `None` and `""` map to `None`;
- a `fallback` row only fills a target field an earlier row left empty;
- a tombstone (`deleted_at` set) maps only its `key` rows: the targets need its identity, not its last values;
- any problem (an unconvertible value, a missing required one) turns the record into a reject: identity rows,
  `_source`, and `_reject` naming every problem. The stream goes on.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from customcrm_invoiced_mapper.converters import Direction
from customcrm_invoiced_mapper.envelope import REJECT, SOURCE, Problem, reject_of, source_of
from customcrm_invoiced_mapper.spec import Flow, ListSpec, Row
from customcrm_invoiced_mapper.values import METADATA_PREFIX, Unmappable, metadata_value

MISSING: Any = object()

SYSTEMS: dict[Direction, tuple[str, str]] = {
    "to_invoiced": ("customcrm", "invoiced"),
    "to_customcrm": ("invoiced", "customcrm"),
}
DISPLAY = {"customcrm": "Customcrm", "invoiced": "Invoiced"}


def map_record(flow: Flow, direction: Direction, record: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    tombstone = record.get("deleted_at") is not None
    problems: list[Problem] = []
    out = _map_rows(flow.rows, direction, record, zone, problems, keys_only=tombstone)
    if not tombstone:
        for spec in flow.lists:
            if spec.applies(direction):
                _map_list(spec, direction, record, zone, problems, out)
    if problems:
        out = _map_rows(flow.rows, direction, record, zone, [], keys_only=True)
        out[REJECT] = reject_of(problems)
    source_system = SYSTEMS[direction][0]
    out[SOURCE] = source_of(source_system, flow.source_stream(direction), record)
    return out


def _map_list(  # noqa: PLR0917 -- a private step of map_record, called once
    spec: ListSpec,
    direction: Direction,
    record: dict[str, Any],
    zone: ZoneInfo,
    problems: list[Problem],
    out: dict[str, Any],
) -> None:
    source = spec.source(direction)
    items = get_path(record, source)
    if items is MISSING:
        return
    if items is None:
        set_path(out, spec.target(direction), [])
        return
    if not isinstance(items, list):
        problems.append(Problem(source, f"{type(items).__name__} is not a list", _correct(direction, source)))
        return
    mapped = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(Problem(f"{source}[{index}]", "is not an object", _correct(direction, source)))
            continue
        mapped.append(_map_rows(spec.rows, direction, item, zone, problems, prefix=f"{source}[{index}]."))
    set_path(out, spec.target(direction), mapped)


def _map_rows(
    rows: tuple[Row, ...],
    direction: Direction,
    record: dict[str, Any],
    zone: ZoneInfo,
    problems: list[Problem],
    *,
    keys_only: bool = False,
    prefix: str = "",
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for row in rows:
        if not row.applies(direction) or (keys_only and not row.key):
            continue
        targets = row.target(direction)
        if row.fallback and any(get_path(out, t) not in (MISSING, None) for t in targets):
            continue
        field = prefix + ", ".join(row.source(direction) or targets)
        value = _read(record, row.source(direction))
        if value == "":
            value = None  # neither system tells an empty string from no value, so neither does any converter
        if value is MISSING:
            if direction in row.required:
                problems.append(_missing(row, direction, field))
            continue
        constant = not row.source(direction)
        try:
            converted = None if value is None and not constant else row.converter.convert(direction, value, zone)
            if direction == "to_invoiced" and any(t.startswith(METADATA_PREFIX) for t in targets):
                converted = metadata_value(converted, DISPLAY[SYSTEMS[direction][0]])
        except Unmappable as exc:
            problems.append(Problem(field, exc.reason, exc.fix or _correct(direction, field)))
            continue
        if direction in row.required and (converted is None or (isinstance(converted, str) and not converted.strip())):
            # Customcrm refuses a blank required text; better named here than refused by the target
            problems.append(_missing(row, direction, field))
            continue
        _write(out, targets, converted)
    return out


def _read(record: dict[str, Any], paths: tuple[str, ...]) -> Any:
    if not paths:
        return None  # a constant: the converter supplies the value
    if len(paths) == 1:
        return get_path(record, paths[0])
    found = {p: get_path(record, p) for p in paths}
    present = {p: v for p, v in found.items() if v is not MISSING}
    if not present:
        return MISSING
    return None if all(v is None for v in present.values()) else present


def _write(out: dict[str, Any], targets: tuple[str, ...], value: Any) -> None:
    if len(targets) == 1:
        set_path(out, targets[0], value)
        return
    for path in targets:
        if isinstance(value, dict) and path in value:
            set_path(out, path, value[path])


def _missing(row: Row, direction: Direction, field: str) -> Problem:
    source, target = (DISPLAY[s] for s in SYSTEMS[direction])
    required = ", ".join(row.target(direction))
    return Problem(field, f"has no value and {target} requires {required}", f"fill it in {source}")


def _correct(direction: Direction, field: str) -> str:
    return f"correct {field} in {DISPLAY[SYSTEMS[direction][0]]}"


def get_path(record: dict[str, Any], path: str) -> Any:
    """`a.b` inside nested objects; a `None` on the way means the leaf is `None`, a missing key means MISSING."""
    value: Any = record
    for part in path.split("."):
        if value is None:
            return None
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return value


def set_path(out: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = out
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
