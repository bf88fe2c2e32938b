"""What a resource handler gets for one request."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from sandbox.common.http import Request, Response
from sandbox.invoiced.store import Store
from sandbox.invoiced.validation import object_id, parse_body


@dataclass
class Call:
    request: Request
    store: Store
    base_url: str
    path_params: dict[str, str] = field(default_factory=dict)
    now: int = field(default_factory=lambda: int(time.time()))
    _body: dict[str, Any] | None = None

    def body(self) -> dict[str, Any]:
        if self._body is None:
            self._body = parse_body(self.request)
        return self._body

    def text_param(self, name: str) -> str:
        return unquote(self.path_params[name])

    def id_param(self, name: str, model: str) -> int:
        return object_id(self.text_param(name), model)


Handler = Callable[[Call], Response]
