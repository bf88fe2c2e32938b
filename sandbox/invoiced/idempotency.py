"""`Idempotency-Key`: the first answer to a POST or PATCH is kept 24 h per API key and replayed."""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterator

from sandbox.common.http import Request, Response, encode_json
from sandbox.invoiced.errors import invalid
from sandbox.invoiced.store import Store, load

TTL_SECONDS = 86_400
MIN_LENGTH = 6
MAX_LENGTH = 64
LOCK_STRIPES = 64


def key_from(request: Request) -> str | None:
    """The request's idempotency key, refused with the real messages when it cannot be used."""
    key = request.header("Idempotency-Key")
    if not key:
        return None
    if request.method not in ("POST", "PATCH"):
        raise invalid(
            f"Unsupported method: {request.method}. Idempotency keys can only be used with POST and PATCH requests."
        )
    if len(key) < MIN_LENGTH:
        raise invalid(f"Idempotency key is too short. Must be at least {MIN_LENGTH} characters long.")
    if len(key) > MAX_LENGTH:
        raise invalid(f"Idempotency key is too long. Must be no longer than {MAX_LENGTH} characters.")
    return key


def fingerprint(api_key: str) -> str:
    # The state file must not hold the secret itself.
    return hashlib.sha256(api_key.encode()).hexdigest()


class IdempotencyCache:
    def __init__(self, store: Store) -> None:
        self._store = store
        # A fixed set of locks picked by hash keeps memory flat however many keys clients invent.
        self._locks = tuple(threading.Lock() for _ in range(LOCK_STRIPES))

    @contextlib.contextmanager
    def exclusive(self, api_key: str, key: str) -> Iterator[None]:
        """Serialise requests sharing one key, so a retry racing the original waits and then replays."""
        with self._locks[hash((api_key, key)) % LOCK_STRIPES]:
            yield

    def replay(self, api_key: str, key: str, now: int) -> Response | None:
        found = self._store.row(
            "SELECT status, body FROM idempotency WHERE api_key = ? AND key = ? AND created_at > ?",
            (fingerprint(api_key), key, now - TTL_SECONDS),
        )
        if found is None:
            return None
        status, body = found
        return Response(status, None if body is None else load(body))

    def remember(self, api_key: str, key: str, response: Response, now: int) -> None:
        body = None if response.body is None else encode_json(response.body).decode()
        with self._store.transaction() as store:
            store.execute(
                "INSERT OR REPLACE INTO idempotency (api_key, key, created_at, status, body) VALUES (?, ?, ?, ?, ?)",
                (fingerprint(api_key), key, now, response.status, body),
            )
