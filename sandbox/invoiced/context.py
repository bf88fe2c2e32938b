"""What a resource handler gets for one request."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from sandbox.common.http import Request, Response
from sandbox.invoiced.cursors import PageCursors
from sandbox.invoiced.store import Store
from sandbox.invoiced.validation import object_id, parse_body


@dataclass
class Call:
    request: Request
    store: Store
    cursors: PageCursors
    base_url: str
    path_params: dict[str, str] = field(default_factory=dict)
    now: int = field(default_factory=lambda: int(time.time()))
    _body: dict[str, Any] | None = None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Store]:
        """One write, with `now` read once the store's lock is held.

        Read before, a write that waited behind another could stamp an older `updated_at` than the
        one committed ahead of it, and a reader polling `updated_after` would never see it.
        """
        with self.store.transaction() as store:
            self.now = int(time.time())
            yield store

    def body(self) -> dict[str, Any]:
        if self._body is None:
            self._body = parse_body(self.request)
        return self._body

    def text_param(self, name: str) -> str:
        return unquote(self.path_params[name])

    def id_param(self, name: str, model: str) -> int:
        return object_id(self.text_param(name), model)


Handler = Callable[[Call], Response]
