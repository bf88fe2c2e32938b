"""What a stream remembers between runs besides the SDK's `updated_at` bookmark.

Invoiced timestamps are whole seconds and `updated_after` is strict, so each run re-reads the last
`overlap_seconds` below the bookmark. `RecentlyEmitted` keeps a fingerprint of every record version emitted in
that window, so re-read records are dropped unless they changed, even within the same second. `EventCursor`
is the same idea for the events feed: the newest event time processed plus the event ids seen near it.

Both are saved as plain JSON inside the stream's state entry, next to the SDK's keys.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Mapping
from typing import Any

RECENT = "recently_emitted"  # {record key: [updated_at, fingerprint]}
EVENTS = "events"  # {"since": unix seconds, "seen": [event ids]}


def fingerprint(row: Mapping[str, Any]) -> str:
    """A short, stable digest of a record as Invoiced sent it (decimals and all)."""
    text = json.dumps(row, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


class RecentlyEmitted:
    """Record versions emitted within `overlap` seconds of the newest change seen, to drop repeats.

    A repeat is the same key, the same `updated_at` and the same content; a record changed again within the
    same second has new content and passes. Entries from this run hold the row itself (compared by
    equality, which is cheap); entries loaded from state hold its fingerprint. Memory stays bounded by
    the number of changes in `overlap` seconds, not by the size of the list, when the walk is ascending
    (`ascending=True`: an entry can be forgotten once the walk is `overlap` seconds past it).
    """

    def __init__(
        self, saved: Mapping[str, Any] | None, *, overlap: int, newest: int | None, ascending: bool = True
    ) -> None:
        self._overlap, self._ascending = overlap, ascending
        self._entries: dict[str, tuple[int, str | Mapping[str, Any]]] = {}
        self._order: deque[tuple[int, str]] = deque()
        for key, (updated_at, digest) in sorted((saved or {}).items(), key=lambda item: item[1][0]):
            self._entries[key] = (updated_at, digest)
            self._order.append((updated_at, key))
        self.newest = max([newest or 0, *(u for u, _ in self._entries.values())])

    def admit(self, key: str, updated_at: int, row: Mapping[str, Any]) -> bool:
        """True when this version was not emitted yet; it then counts as emitted."""
        previous = self._entries.get(key)
        if previous is not None and previous[0] == updated_at:
            content = previous[1]
            if content == row if not isinstance(content, str) else content == fingerprint(row):
                return False
        self._entries[key] = (updated_at, row)
        self._order.append((updated_at, key))
        if updated_at > self.newest:
            self.newest = updated_at
            if self._ascending:
                self._forget_older_than(updated_at - self._overlap)
        return True

    def saved(self, bookmark: int) -> dict[str, list[Any]]:
        """The entries the next run needs: it re-reads from `bookmark - overlap`."""
        return {
            key: [updated_at, content if isinstance(content, str) else fingerprint(content)]
            for key, (updated_at, content) in self._entries.items()
            if updated_at >= bookmark - self._overlap
        }

    def _forget_older_than(self, horizon: int) -> None:
        while self._order and self._order[0][0] < horizon:
            updated_at, key = self._order.popleft()
            entry = self._entries.get(key)
            if entry is not None and entry[0] == updated_at:
                del self._entries[key]


class EventCursor:
    """Position in `/events`: read again from `since - overlap` (inclusive) and drop the event ids seen."""

    def __init__(self, saved: Mapping[str, Any] | None, *, overlap: int, since: int) -> None:
        self._overlap = overlap
        self.since: int = int(saved["since"]) if saved else since
        self._seen: dict[int, int] = {int(event_id): self.since for event_id in (saved or {}).get("seen", [])}

    @property
    def start_date(self) -> int:
        return max(0, self.since - self._overlap)

    def admit(self, event: Mapping[str, Any]) -> bool:
        """True the first time an event is seen."""
        event_id, timestamp = int(event["id"]), int(event["timestamp"])
        if event_id in self._seen:
            return False
        self._seen[event_id] = timestamp
        self.since = max(self.since, timestamp)
        return True

    def saved(self) -> dict[str, Any]:
        horizon = self.start_date
        return {"since": self.since, "seen": sorted(i for i, ts in self._seen.items() if ts >= horizon)}
