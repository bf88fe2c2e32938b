"""What the demo prints: headings, the targets' summaries as one table, the rejects grouped by cause."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

# The summary's columns, in the order a reader asks about them; a column that is zero in every row is left out.
COLUMNS = ("created", "updated", "unchanged", "conflicts", "waiting", "rejected", "deleted", "skipped")
DIRECTIONS = {"target-invoiced": "Customcrm -> Invoiced", "target-customcrm": "Invoiced -> Customcrm"}
STARTED = time.monotonic()


def heading(text: str) -> None:
    print(f"\n[{time.monotonic() - STARTED:5.0f} s] == {text}")


def say(text: str = "") -> None:
    print(f"  {text}" if text else "")


def summary_table(summaries: dict[str, dict[str, Any]]) -> str:
    """One row per direction and stream, one column per outcome that happened."""
    rows = [(DIRECTIONS[target], stream, row) for target, summary in summaries.items()
            for stream, row in summary["streams"].items()]
    columns = [name for name in COLUMNS if any(row.get(name) for _, _, row in rows)] or ["unchanged"]
    cells = [("direction", "stream", *columns)]
    cells += [(direction, stream, *(str(row.get(name, 0)) for name in columns)) for direction, stream, row in rows]
    cells.append(("", "total", *(str(sum(row.get(name, 0) for _, _, row in rows)) for name in columns)))
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    lines = ["  ".join(cell.rjust(width) if i > 1 else cell.ljust(width) for i, (cell, width) in
                       enumerate(zip(row, widths, strict=True))) for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(f"    {line.rstrip()}" for line in lines)


def writes(summaries: dict[str, dict[str, Any]]) -> int:
    return sum(summary["total"].get(name, 0) for summary in summaries.values()
               for name in ("created", "updated", "deleted"))


def skipped(summaries: dict[str, dict[str, Any]]) -> list[str]:
    """Why records were left alone on purpose, grouped by cause, as each target's summary lists them."""
    causes = Counter((DIRECTIONS[target], stream, _cause(entry["reason"])) for target, summary in summaries.items()
                     for stream, entries in summary.get("skipped", {}).items() for entry in entries)
    return [f"{count:>4} x {direction} {stream}: {cause}" for (direction, stream, cause), count in causes.most_common()]


def rejects(path: Path, *, shown: int = 3) -> list[str]:
    """The rejects file, grouped by cause (the reason with the record's own values taken out), largest first."""
    if not path.exists():
        return []
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    causes = Counter((entry["stream"], _cause(entry["reason"])) for entry in entries)
    lines = [f"{count:>4} x {stream}: {cause}" for (stream, cause), count in causes.most_common(shown)]
    if len(causes) > shown:
        lines.append(f"       … and {len(causes) - shown} other cause(s)")
    example = entries[0]
    lines.append(f"  one in full: {example['stream']} {example['source_id']}: {example['reason']}")
    return lines


def _cause(reason: str) -> str:
    # Reasons name the record ('customer 6f1c…', 'SO-10042'); grouping wants what went wrong, not which record.
    return re.sub(r"'[^']*'|\"[^\"]*\"|\b[\w-]*\d[\w-]*\b", "…", reason)
