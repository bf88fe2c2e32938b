"""The mapping files as typed, checked data: one `Flow` per file in `mappings/`.

A row pairs one Customcrm property with one Invoiced property (or a few, for the order status), names the converter
and the direction it flows in. Loading refuses a file that names an unknown converter, a direction the converter
cannot go, or a key it does not know, so a typo in a mapping file fails at start-up, not in the middle of a sync.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

from customcrm_invoiced_mapper.converters import Converter, Direction, build_converter

RowDirection = Literal["both", "to_invoiced", "to_customcrm"]
DIRECTIONS: tuple[Direction, ...] = ("to_invoiced", "to_customcrm")
FLOW_ORDER = ("customer", "order", "product", "user")  # the order of the spec's sections

_ROW_KEYS = {"customcrm", "invoiced", "converter", "args", "direction", "required", "key", "fallback", "type", "notes"}
_LIST_KEYS = {"customcrm", "invoiced", "direction", "notes", "rows", "key"}
_FLOW_KEYS = {"flow", "customcrm", "invoiced", "notes", "sync", "scope", "rows", "lists", "unmapped"}
SYNC_RULES = ("create", "conflict", "delete")  # what each flow's `sync:` states, one sentence or more each


@dataclass(frozen=True)
class Row:
    customcrm: str | None  # None for a constant written to Invoiced
    invoiced: tuple[str, ...]  # more than one only for converters that read and write several fields
    converter: Converter
    direction: RowDirection
    required: frozenset[Direction]
    key: bool  # identity: kept on tombstones and on rejected records
    fallback: bool  # only fills the target field when an earlier row left it empty
    type_label: str
    notes: str

    def applies(self, direction: Direction) -> bool:
        return self.direction in ("both", direction)

    def source(self, direction: Direction) -> tuple[str, ...]:
        if direction == "to_invoiced":
            return () if self.customcrm is None else (self.customcrm,)
        return self.invoiced

    def target(self, direction: Direction) -> tuple[str, ...]:
        return self.invoiced if direction == "to_invoiced" else (self.customcrm or "",)


@dataclass(frozen=True)
class ListSpec:
    """A list of sub-records mapped element by element, such as order lines ⇄ invoice line items."""

    customcrm: str
    invoiced: str
    direction: RowDirection
    rows: tuple[Row, ...]
    notes: str

    def applies(self, direction: Direction) -> bool:
        return self.direction in ("both", direction)

    def source(self, direction: Direction) -> str:
        return self.customcrm if direction == "to_invoiced" else self.invoiced

    def target(self, direction: Direction) -> str:
        return self.invoiced if direction == "to_invoiced" else self.customcrm


@dataclass(frozen=True)
class Side:
    entity: str  # as the spec names it, e.g. "Customers company"
    stream: str  # the Singer stream: the tap's stream when reading this side, the output stream when writing it


@dataclass(frozen=True)
class Unmapped:
    system: Literal["customcrm", "invoiced"]
    field: str
    reason: str


@dataclass(frozen=True)
class Flow:
    name: str
    customcrm: Side
    invoiced: Side
    notes: tuple[str, ...]  # one paragraph each
    scope: dict[Direction, dict[str, tuple[Any, ...]]]  # source field → allowed values; others are out of scope
    rows: tuple[Row, ...]
    lists: tuple[ListSpec, ...]
    unmapped: tuple[Unmapped, ...]
    sync: dict[str, str] = field(default_factory=dict)  # SYNC_RULES → what the targets do

    @property
    def title(self) -> str:
        return f"Customcrm {self.customcrm.entity} to Invoiced {self.invoiced.entity}"

    def flows(self, direction: Direction) -> bool:
        return any(r.applies(direction) for r in self.rows)

    def source_stream(self, direction: Direction) -> str:
        return self.customcrm.stream if direction == "to_invoiced" else self.invoiced.stream

    def target_stream(self, direction: Direction) -> str:
        return self.invoiced.stream if direction == "to_invoiced" else self.customcrm.stream

    def in_scope(self, direction: Direction, record: dict[str, Any]) -> bool:
        """A record that does not carry a scoped field is kept: better mapped than silently left out."""
        rules = self.scope.get(direction, {}).items()
        return all(name not in record or record[name] in allowed for name, allowed in rules)


class MappingFileError(ValueError):
    """A mapping file that does not describe a valid flow; the message names the file and the entry."""


def load_flows(directory: Path | None = None) -> tuple[Flow, ...]:
    """Every mapping file, in the spec's section order (the packaged files unless a directory is given)."""
    if directory is None:
        packaged = resources.files("customcrm_invoiced_mapper") / "mappings"
        files = {p.name: p.read_text("utf-8") for p in packaged.iterdir() if _is_yaml(p.name)}
    else:
        files = {p.name: p.read_text("utf-8") for p in sorted(directory.iterdir()) if _is_yaml(p.name)}
    flows = [parse_flow(_yaml(text, name), name) for name, text in files.items()]
    return tuple(sorted(flows, key=lambda f: (FLOW_ORDER.index(f.name) if f.name in FLOW_ORDER else 99, f.name)))


def _yaml(text: str, where: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MappingFileError(f"{where}: not valid YAML: {exc}") from exc


def _is_yaml(name: str) -> bool:
    return name.endswith((".yaml", ".yml"))


def parse_flow(data: Any, where: str) -> Flow:
    if not isinstance(data, dict):
        raise MappingFileError(f"{where}: expected a mapping at the top level")
    _only(data, _FLOW_KEYS, where)
    name = _required(data, "flow", where)
    scope: dict[Direction, dict[str, tuple[Any, ...]]] = {}
    for direction, fields in (data.get("scope") or {}).items():
        if direction not in DIRECTIONS:
            raise MappingFileError(f"{where}: scope direction {direction!r} is not one of {DIRECTIONS}")
        scope[direction] = {k: tuple(_as_list(v)) for k, v in fields.items()}
    return Flow(
        name=name,
        customcrm=_side(data, "customcrm", where),
        invoiced=_side(data, "invoiced", where),
        notes=tuple(str(n).strip() for n in _as_list(data.get("notes"))),
        scope=scope,
        rows=tuple(_row(r, f"{where} rows[{i}]") for i, r in enumerate(data.get("rows") or [])),
        lists=tuple(_list(item, f"{where} lists[{i}]") for i, item in enumerate(data.get("lists") or [])),
        unmapped=tuple(
            Unmapped(system, field, str(reason).strip())
            for system in ("customcrm", "invoiced")
            for field, reason in ((data.get("unmapped") or {}).get(system) or {}).items()
        ),
        sync=_sync_rules(data.get("sync"), where),
    )


def _sync_rules(data: Any, where: str) -> dict[str, str]:
    """Who creates, who wins a conflict, what a delete does: stated for every flow, so the docs say it."""
    if not isinstance(data, dict) or set(data) != set(SYNC_RULES):
        raise MappingFileError(f"{where}: `sync` must state exactly {', '.join(SYNC_RULES)}")
    return {rule: " ".join(str(data[rule]).split()) for rule in SYNC_RULES}


def _side(data: dict[str, Any], key: str, where: str) -> Side:
    side = _required(data, key, where)
    return Side(entity=_required(side, "entity", f"{where} {key}"), stream=_required(side, "stream", f"{where} {key}"))


def _row(data: dict[str, Any], where: str) -> Row:
    _only(data, _ROW_KEYS, where)
    direction = data.get("direction", "both")
    if direction not in get_args(RowDirection):
        raise MappingFileError(f"{where}: direction {direction!r} is not one of {get_args(RowDirection)}")
    try:
        converter = build_converter(_required(data, "converter", where), dict(data.get("args") or {}), where)
    except ValueError as exc:
        raise MappingFileError(str(exc)) from exc
    flows = DIRECTIONS if direction == "both" else (direction,)
    missing = [d for d in flows if d not in converter.directions]
    if missing:
        raise MappingFileError(f"{where}: converter {converter.name!r} cannot convert {', '.join(missing)}")
    invoiced = data.get("invoiced")
    paths = tuple(invoiced) if isinstance(invoiced, list) else (invoiced,)
    if not all(isinstance(p, str) and p for p in paths):
        raise MappingFileError(f"{where}: 'invoiced' must name a property or a list of properties")
    customcrm = data.get("customcrm")
    if customcrm is None and (converter.name != "constant" or direction != "to_invoiced"):
        raise MappingFileError(f"{where}: only a constant written to Invoiced may leave 'customcrm' empty")
    required = data.get("required", False)
    return Row(
        customcrm=customcrm,
        invoiced=paths,
        converter=converter,
        direction=direction,
        required=frozenset(flows if required is True else () if required is False else (required,)),
        key=bool(data.get("key", False)),
        fallback=bool(data.get("fallback", False)),
        type_label=str(data.get("type") or converter.invoiced_type),
        notes=str(data.get("notes") or "").strip(),
    )


def _list(data: dict[str, Any], where: str) -> ListSpec:
    _only(data, _LIST_KEYS, where)
    return ListSpec(
        customcrm=_required(data, "customcrm", where),
        invoiced=_required(data, "invoiced", where),
        direction=data.get("direction", "both"),
        rows=tuple(_row(r, f"{where} rows[{i}]") for i, r in enumerate(data.get("rows") or [])),
        notes=str(data.get("notes") or "").strip(),
    )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _required(data: dict[str, Any], key: str, where: str) -> Any:
    value = data.get(key)
    if value in (None, ""):
        raise MappingFileError(f"{where}: {key!r} is required")
    return value


def _only(data: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise MappingFileError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
