"""First links: the rules that say two records are the same, and an index of a destination's records by them."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sync_core.planner import Live
from sync_core.values import Canonical, canonical


@dataclass(frozen=True)
class MatchRule:
    """One first-link rule: records whose `field` is the same (by `same`) are the same record."""

    field: str
    same: Canonical = canonical


class MatchIndex:
    """Live records of one destination by each match rule's key, built from one full list read."""

    def __init__(self, rules: Sequence[MatchRule], records: Iterable[Live]) -> None:
        self.rules = rules
        self._whole: dict[str, Live] = {}  # id -> the record as read
        # id -> its match fields' values, for a record this run wrote: a run may write tens of thousands and few
        # are matched again, so one is held by a tuple of its keys, not as a whole record (`is_whole` says which).
        self._written: dict[str, tuple[Any, ...]] = {}
        self._ids: list[dict[Any, list[str]]] = [{} for _ in rules]  # per rule: key -> the ids that have it
        self._lock = threading.Lock()
        for live in records:
            self.add(live)

    def add(self, live: Live, *, whole: bool = True) -> None:
        """Add a record, or replace the version held of it; `whole=False` holds it by its match keys alone."""
        values = tuple(live.values.get(rule.field) for rule in self.rules)
        with self._lock:
            before = self._values(live.id)
            self._whole.pop(live.id, None)
            self._written.pop(live.id, None)
            if whole:
                self._whole[live.id] = live
            else:
                self._written[live.id] = values
            for position, (rule, ids) in enumerate(zip(self.rules, self._ids, strict=True)):
                key = rule.same(values[position])
                if before is not None:
                    old_key = rule.same(before[position])
                    if old_key == key:
                        continue
                    having = ids.get(old_key)
                    if having is not None:
                        having.remove(live.id)
                        if not having:
                            del ids[old_key]
                if key is not None:
                    ids.setdefault(key, []).append(live.id)

    def get(self, rule_index: int, key: Any) -> list[Live]:
        with self._lock:
            return [self._live(record_id) for record_id in self._ids[rule_index].get(key, ())]

    def is_whole(self, record_id: str) -> bool:
        with self._lock:
            return record_id not in self._written

    def _values(self, record_id: str) -> tuple[Any, ...] | None:
        """Under the lock: the match fields' values held of a record, or None when none is held."""
        if record_id in self._written:
            return self._written[record_id]
        live = self._whole.get(record_id)
        if live is None:
            return None
        return tuple(live.values.get(rule.field) for rule in self.rules)

    def _live(self, record_id: str) -> Live:
        """Under the lock: the record as held; a written one by its match fields alone."""
        if record_id in self._written:
            return Live(record_id, {rule.field: value for rule, value in zip(self.rules, self._written[record_id],
                                                                            strict=True)}, None)
        return self._whole[record_id]
