"""What was already emitted at the bookmark's instant, so an inclusive `updated_since` never re-sends it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Kept in the stream's state next to the SDK's bookmark.
EMITTED_AT_BOOKMARK = "emitted_at_bookmark"


class EmittedAtBookmark:
    """The (id, version) pairs already emitted at the bookmark's exact updated_at.

    The next run asks again from that instant (inclusive), so these come back: dropping them keeps a record
    from being re-sent on every run, while a record that shares the instant but was not emitted yet still
    passes. Kept in the stream state next to the SDK's bookmark, and advanced in step with it.
    """

    def __init__(self, state: dict[str, Any]) -> None:
        self._state = state  # the stream's own state dict: what is written here goes out in STATE messages
        self.updated_at: str | None = state.get("replication_key_value")
        self.emitted: list[list[Any]] = list(state.get(EMITTED_AT_BOOKMARK) or [])
        self._keys = {(record_id, version) for record_id, version in self.emitted}

    def admit(self, record: Mapping[str, Any]) -> bool:
        """True if the record is to be emitted (and is then counted as emitted)."""
        key = (record["id"], record["version"])
        updated_at = record["updated_at"]
        if updated_at != self.updated_at:  # the walk is sorted: a later instant starts a new set
            self.updated_at, self.emitted, self._keys = updated_at, [], set()
        elif key in self._keys:
            return False
        self._keys.add(key)
        self.emitted.append(list(key))
        self._state[EMITTED_AT_BOOKMARK] = self.emitted
        return True
