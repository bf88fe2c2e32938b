"""docs/dataflow.rst, generated from the mapping files: the dataflow spec with its property tables filled in.

    customcrm-invoiced-dataflow-docs docs/dataflow.rst          # write it
    customcrm-invoiced-dataflow-docs docs/dataflow.rst --check  # exit 1 when it is stale
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from customcrm_invoiced_mapper.envelope import REJECT, SOURCE
from customcrm_invoiced_mapper.spec import Flow, Row, load_flows
from customcrm_invoiced_mapper.values import (
    INVOICE_STATUS_TO_ORDER,
    METADATA_MAX_VALUE_BYTES,
    METADATA_PREFIX,
    ORDER_STATUS_TO_INVOICE,
)

DIRECTION_LABELS = {"both": "Both ways", "to_invoiced": "To Invoiced only", "to_customcrm": "To Customcrm only"}
TITLE = "Customcrm to Invoiced Dataflow"

INTRODUCTION = f"""\
This technical document provides a detailed overview of the data flow from Customcrm to Invoiced. It serves as a QA \
checklist for testing purposes.

Each table lists the Customcrm property, the Invoiced property and its data type, the direction the value flows in \
once a link exists ("Both ways", or one way only), and how the value is converted. The mapper runs as two Meltano \
mappings of one Singer inline mapper: ``to-invoiced`` (direction ``customcrm_to_invoiced``) and \
``to-customcrm`` (direction ``invoiced_to_customcrm``). Calendar dates become timestamps at the configured \
``business_timezone`` (default UTC). An empty string is no value in either system: it maps to null, like null. A \
required text that is empty or only spaces rejects the record.

Every output record carries ``{SOURCE}``: the source system, stream, id, ``updated_at`` and ``deleted_at``. A record \
whose ``deleted_at`` is set is a tombstone and keeps only its identity fields. A record that cannot be mapped is not \
dropped: it leaves the mapper in its usual stream with ``{REJECT}`` (the source field, the reason and the fix, then \
every problem found) and only its identity fields, for the target to record. STATE messages pass through unchanged.
"""


def render(flows: Iterable[Flow]) -> str:
    parts = [_heading(TITLE, "=", overline=True), "Generated from the mapping files in "
             "``transforms/customcrm_invoiced_mapper/mappings/`` by ``customcrm-invoiced-dataflow-docs "
             "docs/dataflow.rst``. Do not edit by hand: a test fails when this file is stale.\n",
             _heading("Introduction", "-"), INTRODUCTION]
    flows = tuple(flows)
    parts += ["Streams in and out of each mapping:", "", *_list_table(
        ["Mapping", "Input stream (tap)", "Output stream (target)", "Flow"],
        [
            [name, flow.source_stream(direction), flow.target_stream(direction), flow.title]
            for direction, name in (("to_invoiced", "to-invoiced"), ("to_customcrm", "to-customcrm"))
            for flow in flows
            if flow.flows(direction)
        ],
    ), "", ""]
    parts.extend(_section(flow) for flow in flows)
    return "\n".join(parts).rstrip() + "\n"


def _section(flow: Flow) -> str:
    crm, inv = f"Customcrm {flow.customcrm.entity}", f"Invoiced {flow.invoiced.entity}"
    lines = [
        _heading(flow.title, "-").rstrip("\n"),
        f"Every {crm} will be synchronized with a {inv}.",
        "",
        f"Once a link between a {crm} and a {inv} is established, it will keep in sync between the two systems, "
        "regardless of where it is edited.",
        "",
        *_list_table(["Rule", "What the sync does"],
                     [[rule.capitalize(), text] for rule, text in flow.sync.items()]),
        "",
        f"The following properties are synchronized between a {crm} and a {inv}:",
        "",
    ]
    rows = [_row_cells(row, "") for row in flow.rows]
    for spec in flow.lists:
        rows.append([spec.customcrm, spec.invoiced, "Array", DIRECTION_LABELS[spec.direction], spec.notes])
        rows.extend(_row_cells(row, f"{spec.customcrm}[].", f"{spec.invoiced}[].") for row in spec.rows)
    header = [f"{crm} Property", f"{inv} Property", "Invoiced Data Type", "Direction", "Notes"]
    lines += _list_table(header, rows)
    if any(row.converter.name == "order_status" for row in flow.rows):
        lines += ["", _heading("Order status", "~").rstrip("\n"), "", *_status_table()]
    if flow.notes:
        lines += ["", _heading("Notes", "~").rstrip("\n"), ""]
        lines += [f"* {' '.join(note.split())}" for note in flow.notes]
    if flow.unmapped:
        lines += ["", _heading("Not synchronized", "~").rstrip("\n"), ""]
        lines += [f"* {u.system.capitalize()} ``{u.field}``: {u.reason}" for u in flow.unmapped]
    return "\n".join(lines) + "\n\n"


def _row_cells(row: Row, crm_prefix: str, inv_prefix: str | None = None) -> list[str]:
    inv_prefix = crm_prefix if inv_prefix is None else inv_prefix
    notes = [row.converter.describe()]
    if row.required:
        one_way = "Invoiced" if "to_invoiced" in row.required else "Customcrm"
        notes.append("Required." if len(row.required) == 2 else f"Required toward {one_way}.")
    if row.fallback:
        notes.append("Used only when the rows above left the property empty.")
    if row.applies("to_invoiced") and any(p.startswith(METADATA_PREFIX) for p in row.invoiced):
        notes.append(f"Refused when longer than Invoiced's metadata limit of {METADATA_MAX_VALUE_BYTES} bytes (UTF-8).")
    if row.key:
        notes.append("Identity: kept on tombstones and rejected records.")
    if row.notes:
        notes.append(row.notes)
    return [
        crm_prefix + row.customcrm if row.customcrm else "(none)",
        ", ".join(inv_prefix + p for p in row.invoiced),
        row.type_label,
        DIRECTION_LABELS[row.direction],
        " ".join(notes),
    ]


def _status_table() -> list[str]:
    read_back: dict[str, list[str]] = {}
    for invoice_status, order_status in INVOICE_STATUS_TO_ORDER.items():
        read_back.setdefault(order_status, []).append(invoice_status)
    rows = [
        [
            status,
            ", ".join(f"{name}: {str(value).lower()}" for name, value in fields.items()),
            ", ".join(read_back.get(status, [])) or "(not read back: an issued invoice reads as invoiced)",
        ]
        for status, fields in ORDER_STATUS_TO_INVOICE.items()
    ]
    return _list_table(["Customcrm Order status", "Written to the Invoiced invoice", "Read from Invoiced status"], rows)


def _list_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for cells in [header, *rows]:
        lines.append(f"   * - {_cell(cells[0])}")
        lines.extend(f"     - {_cell(cell)}" for cell in cells[1:])
    return lines


def _cell(text: str) -> str:
    return " ".join(str(text).split()) or "\\ "  # an escaped space keeps an empty cell a cell


def _heading(text: str, char: str, *, overline: bool = False) -> str:
    rule = char * len(text)
    return f"{rule}\n{text}\n{rule}\n" if overline else f"{text}\n{rule}\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="customcrm-invoiced-dataflow-docs", description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, nargs="?", default=Path("docs/dataflow.rst"))
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs from the mapping files")
    args = parser.parse_args(argv)
    text = render(load_flows())
    if args.check:
        current = args.path.read_text("utf-8") if args.path.exists() else ""
        if current != text:
            print(f"{args.path} is stale: run customcrm-invoiced-dataflow-docs {args.path}", file=sys.stderr)
            return 1
        return 0
    args.path.parent.mkdir(parents=True, exist_ok=True)
    args.path.write_text(text, "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
