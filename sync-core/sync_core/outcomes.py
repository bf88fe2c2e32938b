"""Every record's outcome, kept for the operator: the summary, the rejects file and the audit trail.

One `Outcomes` per run, shared by the target's sinks and the executor's threads.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from sync_core.values import jsonable

COLUMNS = ("created", "updated", "unchanged", "conflicts", "waiting", "rejected", "deleted", "skipped")
# Every kind of record the link store may hold set aside (sync_core.store.RetryKind), in the order they are shown.
SET_ASIDE_KINDS = ("rejected", "quarantined", "blocked", "waiting", "held", "transient")
SKIPPED_LISTED = 100  # per stream: the summary names the first skipped records and why; the count has them all


@dataclass
class Outcomes:
    run_id: str
    logger: logging.Logger
    rejects_path: Path | None = None
    audit_path: Path | None = None
    plan_out: TextIO | None = None  # dry runs print their plan here
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    audit_entries: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    set_aside: int = 0  # records rejected, quarantined or refused in this run (not the ones waiting)
    # After the run: what the link store still holds set aside, this run's and earlier runs', per stream and kind.
    still_set_aside: dict[str, dict[str, tuple[int, datetime | None]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, stream: str, outcome: str, amount: int = 1) -> None:
        assert outcome in COLUMNS, outcome
        with self._lock:
            self.counts.setdefault(stream, Counter())[outcome] += amount

    def skip(self, stream: str, source_id: str, reason: str) -> None:
        """A record left alone on purpose (e.g. an invoice typed in Invoiced): listed in the summary with why."""
        with self._lock:
            listed = self.skipped.setdefault(stream, [])
            if len(listed) < SKIPPED_LISTED:
                listed.append({"source_id": source_id, "reason": reason})

    def uncount(self, stream: str, outcome: str) -> None:
        """A record counted as waiting earlier in the run was written after all."""
        with self._lock:
            self.counts.setdefault(stream, Counter())[outcome] -= 1

    def total(self, outcome: str) -> int:
        return sum(counter[outcome] for counter in self.counts.values())

    def reject(self, stream: str, source_id: str, record: Mapping[str, Any], reason: str, answer: Any = None) -> None:
        entry = {
            "stream": stream, "source_id": source_id, "reason": reason, "answer": answer, "record": record,
            "at": datetime.now(timezone.utc).isoformat(),
        }
        with self._lock:
            self.set_aside += 1
        self._append(self.rejects_path, entry)

    def audit(self, entry: dict[str, Any]) -> None:
        entry = {"run_id": self.run_id, "at": datetime.now(timezone.utc).isoformat(), **entry}
        with self._lock:
            self.audit_entries.append(entry)

    def audit_held(self) -> int:
        """How many audit entries wait to be taken."""
        with self._lock:
            return len(self.audit_entries)

    def take_audit(self) -> list[dict[str, Any]]:
        """The audit entries held, for the link store, once appended to the audit file (one write for them all)."""
        with self._lock:
            entries, self.audit_entries = self.audit_entries, []
        self._append(self.audit_path, *entries)
        return entries

    def show_plan(self, entry: dict[str, Any]) -> None:
        out = self.plan_out or sys.stderr
        with self._lock:
            out.write(json.dumps(jsonable(entry), ensure_ascii=False) + "\n")
            out.flush()

    def _append(self, path: Path | None, *entries: dict[str, Any]) -> None:
        if path is None or not entries:
            return
        lines = "".join(json.dumps(jsonable(entry), ensure_ascii=False, default=str) + "\n" for entry in entries)
        with self._lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as out:
                out.write(lines)

    # The summary.

    def hold(self, stream: str, kind: str, count: int, since: datetime | None) -> None:
        """One line of what the link store still holds set aside once the run is over."""
        with self._lock:
            self.still_set_aside.setdefault(stream, {})[kind] = (count, since)

    def still_set_aside_total(self) -> dict[str, dict[str, Any]]:
        """Per kind: how many records are still set aside, and since when the oldest of them."""
        now = datetime.now(timezone.utc)
        totals: dict[str, dict[str, Any]] = {}
        for kind in SET_ASIDE_KINDS:
            held = [entry[kind] for entry in self.still_set_aside.values() if kind in entry]
            if not held:
                continue
            since = min((s for _, s in held if s is not None), default=None)
            totals[kind] = {"count": sum(count for count, _ in held), "oldest": since and since.isoformat(),
                            "oldest_age_seconds": since and round((now - since).total_seconds())}
        return totals

    def summary(self) -> dict[str, Any]:
        streams = {stream: {name: counter[name] for name in COLUMNS} for stream, counter in sorted(self.counts.items())}
        totals = {name: sum(row[name] for row in streams.values()) for name in COLUMNS}
        skipped = {stream: list(records) for stream, records in sorted(self.skipped.items())}
        held = {stream: {kind: count for kind, (count, _) in sorted(kinds.items())}
                for stream, kinds in sorted(self.still_set_aside.items())}
        return {"run_id": self.run_id, "streams": streams, "total": totals, "skipped": skipped,
                "still_set_aside": {"total": self.still_set_aside_total(), "streams": held}}

    def table(self) -> str:
        summary = self.summary()
        rows = [("stream", *COLUMNS)]
        rows += [(stream, *(str(row[name]) for name in COLUMNS)) for stream, row in summary["streams"].items()]
        rows.append(("total", *(str(summary["total"][name]) for name in COLUMNS)))
        text = _aligned(rows)
        if self.still_set_aside:
            now = datetime.now(timezone.utc)
            held = [("still set aside", "kind", "records", "oldest")]
            held += [(stream, kind, str(count), _age(now, since))
                     for stream, kinds in sorted(self.still_set_aside.items())
                     for kind, (count, since) in sorted(kinds.items(), key=lambda k: SET_ASIDE_KINDS.index(k[0]))]
            text += "\n" + _aligned(held)
        return text

    def write_summary(self, path: Path | None) -> None:
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.summary(), indent=2) + "\n", encoding="utf-8")


def _aligned(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.rjust(width) if i else cell.ljust(width) for i, (cell, width) in
                               enumerate(zip(row, widths, strict=True))) for row in rows)


def _age(now: datetime, since: datetime | None) -> str:
    if since is None:
        return "?"
    seconds = max(0, int((now - since).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"
