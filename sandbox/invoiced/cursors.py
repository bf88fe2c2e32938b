"""Cursor paging under a primary-key sort, as Invoiced's backend does it.

When a list is sorted by its primary key alone (the default order, or `sort=id asc|desc`), the backend
remembers for 5 minutes the key of the last row of every non-empty page it serves, filed under the list's
conditions (path and filters, not `sort` or `per_page`) and the offset just past that page. A later page
starting at that offset continues after that key instead of counting rows, so rows removed meanwhile do not
shift it. From offset 10 000 on, a page with no remembered key is refused: clients must read the pages in
order. The memory belongs to the account, which every API key of this sandbox shares.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

DEEP_OFFSET = 10_000
TTL_SECONDS = 300  # the backend's cache lifetime for a cursor
MAX_CURSORS = 10_000  # only a bound on memory; the oldest go first
PRECEDING_PAGES_MESSAGE = "You must retrieve all preceding page numbers before retrieving this page."


class PageCursors:
    """Last keys of served pages by (list conditions, offset after the page), each kept `ttl` seconds."""

    def __init__(
        self, ttl: float = TTL_SECONDS, limit: int = MAX_CURSORS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl, self._limit, self._clock = ttl, limit, clock
        self._cursors: OrderedDict[tuple[Hashable, int], tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def find(self, conditions: Hashable, offset: int) -> Any | None:
        """The key the page ending at `offset` ended with, if one was served recently."""
        with self._lock:
            found = self._cursors.get((conditions, offset))
            if found is None:
                return None
            expires, key = found
            if expires <= self._clock():
                del self._cursors[(conditions, offset)]
                return None
            return key

    def remember(self, conditions: Hashable, offset: int, key: Any) -> None:
        with self._lock:
            now = self._clock()
            entry = (conditions, offset)
            self._cursors[entry] = (now + self._ttl, key)
            self._cursors.move_to_end(entry)
            # Every entry lives equally long, so the oldest are the expired ones, and the first to drop.
            while self._cursors and (len(self._cursors) > self._limit or next(iter(self._cursors.values()))[0] <= now):
                self._cursors.popitem(last=False)
