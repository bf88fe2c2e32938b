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
        self._by_rule: list[dict[Any, dict[str, Live]]] = [{} for _ in rules]
        self._keys: list[dict[str, Any]] = [{} for _ in rules]  # per rule: record id -> its key, to replace it
        self._keys_only: set[str] = set()  # ids held by their match keys alone
        self._lock = threading.Lock()
        for live in records:
            self.add(live)

    def add(self, live: Live, *, whole: bool = True) -> None:
        """Add a record, or replace the version held of it. A record this run wrote is held by its match keys alone
        (`whole=False`): a run may write tens of thousands, and few of them are matched again (`is_whole` says
        which to fetch then), so the index grows by keys, not by whole records."""
        if not whole:
            live = Live(live.id, {rule.field: live.values.get(rule.field) for rule in self.rules}, live.updated_at)
        with self._lock:
            if whole:
                self._keys_only.discard(live.id)
            else:
                self._keys_only.add(live.id)
            for rule, keyed, keys in zip(self.rules, self._by_rule, self._keys, strict=True):
                old = keys.pop(live.id, None)
                if old is not None:
                    keyed[old].pop(live.id, None)
                key = rule.same(live.values.get(rule.field))
                if key is not None:
                    keyed.setdefault(key, {})[live.id] = live
                    keys[live.id] = key

    def get(self, rule_index: int, key: Any) -> list[Live]:
        with self._lock:
            return list(self._by_rule[rule_index].get(key, {}).values())

    def is_whole(self, record_id: str) -> bool:
        with self._lock:
            return record_id not in self._keys_only
