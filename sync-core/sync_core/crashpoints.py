"""Named moments at which a target can be made to die, for the crash tests alone.

`SYNC_CRASH_AT=<plugin>:<point>[@<n>]` makes that plugin exit at once (no cleanup, no flush, as a SIGKILL would)
the n-th time it reaches the point (the first time without `@n`). The plugins' crash tests set it
(tests/two_way/test_crash_points.py, the crash soak); nothing else does, and unset it does nothing: every check is
one comparison with None. A value naming another plugin, or no point at all, arms nothing here.

The points are where a crash once stranded a record, or could:
"""

from __future__ import annotations

import http.client
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests

VARIABLE = "SYNC_CRASH_AT"
EXIT_CODE = 86  # what a crashed plugin exits with, so a test can tell its crash from any other failure
POINTS = {
    "create-headers-sent": "a create's headers are sent, its body is not",
    "create-answered": "a create was answered, its link is not saved yet",
    "create-refused": "a create was refused, its idempotency key is not cleared yet",
    "parent-written": "the input's parents are written, the children that waited or were blocked are not retried yet",
    "state-half-written": "half of a STATE message is on stdout",
}
__doc__ += "".join(f"\n- `{name}`: {what}" for name, what in POINTS.items())


@dataclass
class CrashPoints:
    """The one point armed for this plugin, if any, and how often it has been reached."""

    point: str | None = None
    at: int = 1
    _reached: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def armed_for(cls, plugin: str) -> CrashPoints:
        value = os.environ.get(VARIABLE, "")
        name, _, rest = value.partition(":")
        if name != plugin or not rest:
            return cls()
        point, _, count = rest.partition("@")
        if point not in POINTS:
            msg = f"{VARIABLE}={value!r} names no crash point; the points are {', '.join(POINTS)}"
            raise SystemExit(msg)
        return cls(point, int(count or 1))

    def armed(self, point: str) -> bool:
        return self.point == point

    def reach(self, point: str, last_words: Callable[[], None] | None = None) -> None:
        """Die here if this is the armed point's n-th time; `last_words` runs just before (e.g. half a write)."""
        if self.point != point:
            return
        with self._lock:
            self._reached += 1
            if self._reached != self.at:
                return
            sys.stderr.write(f"crash test: exiting at {point} (time {self.at}), as {VARIABLE} asks\n")
            sys.stderr.flush()
            if last_words is not None:
                last_words()
            os._exit(EXIT_CODE)


def send_headers_only(request: requests.PreparedRequest, timeout: float) -> None:
    """What a client killed between its two writes leaves on the wire: a request's headers, none of its body."""
    where = urlsplit(request.url or "")
    kind = http.client.HTTPSConnection if where.scheme == "https" else http.client.HTTPConnection
    connection = kind(where.hostname or "", where.port, timeout=timeout)
    connection.putrequest(request.method or "POST", request.path_url, skip_accept_encoding=True)
    for name, value in request.headers.items():
        connection.putheader(name, value)
    connection.endheaders()
