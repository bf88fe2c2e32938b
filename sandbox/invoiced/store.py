"""SQLite persistence: one connection shared by all request threads, serialised by one lock.

Each object is a JSON document (without its id, which is the row key) next to the few columns
that are filtered, sorted or kept unique in SQL. Every write runs in one transaction, so a
request either changes everything it meant to or nothing.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from sandbox.common.http import encode_json

SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number_key TEXT NOT NULL UNIQUE,
    updated_at INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS customers_updated ON customers (updated_at);
CREATE TABLE IF NOT EXISTS contacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS contacts_customer ON contacts (customer);
CREATE TABLE IF NOT EXISTS invoices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer INTEGER NOT NULL,
    number_key TEXT NOT NULL UNIQUE,
    updated_at INTEGER NOT NULL,
    date INTEGER,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS invoices_customer ON invoices (customer);
CREATE INDEX IF NOT EXISTS invoices_updated ON invoices (updated_at);
CREATE INDEX IF NOT EXISTS invoices_date ON invoices (date);
CREATE TABLE IF NOT EXISTS items (
    pk INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    id_key TEXT NOT NULL,
    archived INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS items_live_id ON items (id_key) WHERE archived = 0;
CREATE INDEX IF NOT EXISTS items_id ON items (id_key);
-- What a sync looks records up by (filter[...] and metadata[...]), so a look-up costs about what a GET by id
-- costs at any size. Each expression is exactly the one listing.py filters with, or SQLite cannot use it.
CREATE INDEX IF NOT EXISTS customers_email ON customers (json_extract(doc, '$.email') COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS customers_customcrm_id ON customers
    (CAST(json_extract(doc, '$.metadata."customcrm_id"') AS TEXT));
CREATE INDEX IF NOT EXISTS customers_org_number ON customers
    (CAST(json_extract(doc, '$.metadata."org_number"') AS TEXT));
CREATE INDEX IF NOT EXISTS invoices_number ON invoices (json_extract(doc, '$.number') COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS invoices_customcrm_id ON invoices
    (CAST(json_extract(doc, '$.metadata."customcrm_id"') AS TEXT));
CREATE INDEX IF NOT EXISTS invoices_sales_rep_id ON invoices
    (CAST(json_extract(doc, '$.metadata."sales_rep_id"') AS TEXT));
CREATE INDEX IF NOT EXISTS items_customcrm_id ON items (CAST(json_extract(doc, '$.metadata."customcrm_id"') AS TEXT));
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    customer INTEGER,
    timestamp INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_object ON events (object_type, object_id);
CREATE INDEX IF NOT EXISTS events_customer ON events (customer);
CREATE INDEX IF NOT EXISTS events_timestamp ON events (timestamp);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS idempotency (
    api_key TEXT NOT NULL,
    key TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    status INTEGER NOT NULL,
    body TEXT,
    PRIMARY KEY (api_key, key)
);
"""


def dump(doc: dict[str, Any]) -> str:
    return encode_json(doc).decode()


# Money must come back exact: JSON numbers with a fraction become Decimal, not float.
_DECODER = json.JSONDecoder(parse_float=Decimal)


def load(text: str) -> dict[str, Any]:
    return _DECODER.decode(text)


def load_many(texts: Sequence[str]) -> list[dict[str, Any]]:
    # One decode of a whole page is much cheaper than one per row.
    return _DECODER.decode("[" + ",".join(texts) + "]")


class Store:
    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(SCHEMA)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Store]:
        """Hold the lock and one transaction for a whole write; roll back on any error."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def row(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        with self._lock:
            return self._conn.execute(sql, params).fetchone()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        found = self.row(sql, params)
        return None if found is None else found[0]

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement (inside `transaction()`) and return the new row id."""
        with self._lock:
            cursor = self._conn.execute(sql, params)
            return int(cursor.lastrowid or 0)

    def next_value(self, name: str) -> int:
        """The next number of a named counter (auto-numbering, line item ids)."""
        with self._lock:
            self._conn.execute(
                "INSERT INTO counters (name, value) VALUES (?, 1) "
                "ON CONFLICT (name) DO UPDATE SET value = value + 1",
                (name,),
            )
            return int(self._conn.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()[0])

    def is_empty(self) -> bool:
        return self.scalar("SELECT COUNT(*) FROM customers") == 0 and self.scalar(
            "SELECT COUNT(*) FROM items"
        ) == 0
