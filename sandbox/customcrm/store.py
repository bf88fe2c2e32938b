"""SQLite storage behind the contract: one connection, one lock, one transaction per write.

Holding one lock from reading the clock to the commit is what makes `updated_at` a total, commit-ordered
sequence: a write can never become visible with a timestamp below one a reader has already walked past.

Reads take the same lock, because they share the connection and would otherwise see a write's uncommitted
rows; they hold it only for the query itself and decode records after releasing it. The price is that all
requests queue on one lock (fine for tests and demos, not for load). Per-thread read connections on a WAL
file would let reads run beside writes without weakening the guarantee, since each reader then sees a
committed prefix of the `updated_at` sequence.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sandbox.customcrm.entities import ENTITIES, LINE_ID_PREFIX, Entity
from sandbox.customcrm.paging import ListQuery, format_timestamp
from sandbox.customcrm.validation import Invalid

Record = dict[str, Any]


class NotFound(Exception):
    def __init__(self, entity: Entity, record_id: str) -> None:
        super().__init__(f"no {entity.title.lower()} with id {record_id!r}")


class Gone(Exception):
    def __init__(self, deleted_at: int) -> None:
        super().__init__(f"the record was deleted at {format_timestamp(deleted_at)} and cannot be changed")


class VersionMismatch(Exception):
    def __init__(self, current: int) -> None:
        self.current = current
        super().__init__(f"the record is at version {current}; read it again, re-apply your change, retry")


class Conflict(Exception):
    def __init__(self, fields: dict[str, str]) -> None:
        self.fields = fields
        super().__init__(f"a unique field is already taken: {', '.join(sorted(fields))}")


class IdempotencyKeyReused(Exception):
    def __init__(self) -> None:
        # Named like a field, because every 422 of the contract says which input to fix.
        self.fields = {"Idempotency-Key": "already used with a different body; send a new key for a new request"}
        super().__init__(
            "this Idempotency-Key was already used with a different body; use a new key for a new request"
        )


@dataclass(frozen=True)
class Created:
    status: int
    record: Record
    replayed: bool


class Store:
    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._depth = 0
        if path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._create_schema()
        latest = [self._db.execute(f"SELECT MAX(updated_at) FROM {name}").fetchone()[0] for name in ENTITIES]  # noqa: S608
        self._clock = max([t for t in latest if t is not None], default=0)

    # -- plumbing ---------------------------------------------------------------------------------------------

    def _create_schema(self) -> None:
        statements = [
            "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
            "CREATE TABLE IF NOT EXISTS external_ids (entity TEXT, record_id TEXT, system TEXT, value TEXT, "
            "PRIMARY KEY (entity, record_id, system))",
            "CREATE INDEX IF NOT EXISTS external_ids_lookup ON external_ids (entity, system, value)",
            "CREATE TABLE IF NOT EXISTS idempotency (entity TEXT, key TEXT, fingerprint TEXT, status INTEGER, "
            "body TEXT, PRIMARY KEY (entity, key))",
        ]
        for entity in ENTITIES.values():
            columns = "".join(f", {f.name} TEXT" for f in entity.columns)
            statements.append(
                f"CREATE TABLE IF NOT EXISTS {entity.name} (id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, "
                f"updated_at INTEGER NOT NULL, deleted_at INTEGER, version INTEGER NOT NULL, doc TEXT NOT NULL"
                f"{columns})"
            )
            statements.append(f"CREATE INDEX IF NOT EXISTS {entity.name}_walk ON {entity.name} (updated_at, id)")
            for f in entity.columns:
                unique = "UNIQUE " if f.unique else ""
                live = " WHERE deleted_at IS NULL" if f.unique else ""
                statements.append(
                    f"CREATE {unique}INDEX IF NOT EXISTS {entity.name}_{f.name} ON {entity.name} ({f.name}){live}"
                )
        with self.batch():
            for statement in statements:
                self._db.execute(statement)

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Run everything inside as one transaction under the lock (nested calls join the outer one)."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._depth = 0

    def _tick(self) -> int:
        # Strictly increasing across the whole service, even when the wall clock repeats or steps back.
        self._clock = max(time.time_ns() // 1000, self._clock + 1)
        return self._clock

    def _next_id(self, name: str, prefix: str) -> str:
        row = self._db.execute(
            "INSERT INTO counters (name, value) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET value = value + 1 "
            "RETURNING value",
            (name,),
        ).fetchone()
        return f"{prefix}{row[0]}"

    def _row(self, entity: Entity, record_id: str) -> sqlite3.Row | None:
        return self._db.execute(f"SELECT * FROM {entity.name} WHERE id = ?", (record_id,)).fetchone()  # noqa: S608

    # -- reads --------------------------------------------------------------------------------------------------

    def get(self, entity: Entity, record_id: str) -> Record:
        with self._lock:
            row = self._row(entity, record_id)
        if row is None:
            raise NotFound(entity, record_id)
        return _render(entity, row)

    def list(self, entity: Entity, query: ListQuery) -> tuple[list[Record], str | None]:
        where, params = ["1 = 1"], []
        if not query.include_deleted:
            where.append("deleted_at IS NULL")
        if query.updated_since is not None:
            where.append("updated_at >= ?")
            params.append(query.updated_since)
        for name, value in query.filters.items():
            where.append(f"{name} = ?")
            params.append(value)
        for system, value in query.external_ids.items():
            where.append("id IN (SELECT record_id FROM external_ids WHERE entity = ? AND system = ? AND value = ?)")
            params += [entity.name, system, value]
        if query.after is not None:
            where.append("(updated_at > ? OR (updated_at = ? AND id > ?))")
            params += [query.after[0], query.after[0], query.after[1]]
        sql = (
            f"SELECT * FROM {entity.name} WHERE {' AND '.join(where)} "  # noqa: S608 - names come from definitions
            "ORDER BY updated_at, id LIMIT ?"
        )
        with self._lock:
            rows = self._db.execute(sql, [*params, query.limit + 1]).fetchall()
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        cursor = query.cursor_after(entity, rows[-1]["updated_at"], rows[-1]["id"]) if more else None
        return [_render(entity, row) for row in rows], cursor

    # -- writes -------------------------------------------------------------------------------------------------

    def create(
        self,
        entity: Entity,
        doc: dict[str, Any],
        external_ids: dict[str, str],
        *,
        idempotency: tuple[str, str] | None = None,
    ) -> Created:
        """Insert a record; `idempotency` is (key, body fingerprint) and replays an earlier create."""
        with self.batch():
            if idempotency is not None:
                earlier = self._db.execute(
                    "SELECT fingerprint, status, body FROM idempotency WHERE entity = ? AND key = ?",
                    (entity.name, idempotency[0]),
                ).fetchone()
                if earlier is not None:
                    if earlier["fingerprint"] != idempotency[1]:
                        raise IdempotencyKeyReused
                    return Created(earlier["status"], json.loads(earlier["body"]), replayed=True)
            self._check_references(entity, doc, None)
            self._check_unique(entity, doc, None)
            record_id = self._next_id(entity.name, entity.id_prefix)
            if "lines" in doc:
                doc["lines"] = self._resolve_lines(doc["lines"], [])
            doc = _derive(entity, {**doc, "external_ids": external_ids})
            now = self._tick()
            columns = [f.name for f in entity.columns]
            self._db.execute(
                f"INSERT INTO {entity.name} (id, created_at, updated_at, deleted_at, version, doc"  # noqa: S608
                f"{''.join(', ' + c for c in columns)}) VALUES (?, ?, ?, NULL, 1, ?{', ?' * len(columns)})",
                [record_id, now, now, json.dumps(doc), *_column_values(entity, doc)],
            )
            self._index_external_ids(entity, record_id, external_ids)
            record = _render(entity, self._row(entity, record_id))
            if idempotency is not None:
                self._db.execute(
                    "INSERT INTO idempotency (entity, key, fingerprint, status, body) VALUES (?, ?, ?, 201, ?)",
                    (entity.name, idempotency[0], idempotency[1], json.dumps(record)),
                )
            return Created(201, record, replayed=False)

    def update(
        self,
        entity: Entity,
        record_id: str,
        changes: dict[str, Any],
        external_changes: dict[str, str | None],
        *,
        if_match: int | None,
    ) -> Record:
        with self.batch():
            row = self._row(entity, record_id)
            if row is None:
                raise NotFound(entity, record_id)
            if row["deleted_at"] is not None:
                raise Gone(row["deleted_at"])
            if if_match is not None and if_match != row["version"]:
                raise VersionMismatch(row["version"])
            current = json.loads(row["doc"])
            merged = _merge(current, changes)
            if "lines" in changes:
                merged["lines"] = self._resolve_lines(changes["lines"], current.get("lines", []))
            external_ids = {**current["external_ids"], **external_changes}
            merged["external_ids"] = {k: v for k, v in external_ids.items() if v is not None}
            merged = _derive(entity, merged)
            if merged == current:  # nothing changed: no new version, so an echo stays an echo
                return _render(entity, row)
            self._check_references(entity, merged, current)
            self._check_unique(entity, merged, record_id)
            columns = [f.name for f in entity.columns]
            self._db.execute(
                f"UPDATE {entity.name} SET updated_at = ?, version = version + 1, doc = ?"  # noqa: S608
                f"{''.join(f', {c} = ?' for c in columns)} WHERE id = ?",
                [self._tick(), json.dumps(merged), *_column_values(entity, merged), record_id],
            )
            self._index_external_ids(entity, record_id, merged["external_ids"])
            return _render(entity, self._row(entity, record_id))

    def delete(self, entity: Entity, record_id: str, *, if_match: int | None) -> None:
        with self.batch():
            row = self._row(entity, record_id)
            if row is None:
                raise NotFound(entity, record_id)
            if row["deleted_at"] is not None:
                return  # a retried delete (e.g. after a lost answer) succeeds without another change
            if if_match is not None and if_match != row["version"]:
                raise VersionMismatch(row["version"])
            now = self._tick()
            self._db.execute(
                f"UPDATE {entity.name} SET updated_at = ?, deleted_at = ?, version = version + 1 "  # noqa: S608
                "WHERE id = ?",
                (now, now, record_id),
            )

    # -- rules --------------------------------------------------------------------------------------------------

    def _resolve_lines(self, lines: list[dict[str, Any]], current: list[dict[str, Any]]) -> list[dict[str, Any]]:
        known = {line["id"] for line in current}
        errors: dict[str, str] = {}
        seen: set[str] = set()
        resolved = []
        for i, line in enumerate(lines):
            line_id = line.get("id")
            if line_id is None:
                line_id = self._next_id("lines", LINE_ID_PREFIX)
            elif line_id not in known:
                errors[f"lines[{i}].id"] = f"this order has no line {line_id!r}; leave id out for a new line"
            elif line_id in seen:
                errors[f"lines[{i}].id"] = f"line {line_id!r} is sent twice"
            seen.add(line_id)
            resolved.append({**line, "id": line_id})
        if errors:
            raise Invalid(errors)
        return resolved

    def _check_references(self, entity: Entity, doc: dict[str, Any], current: dict[str, Any] | None) -> None:
        """Refs must point at live records; a ref left as it was may point at a since-deleted one."""
        errors: dict[str, str] = {}
        checks: list[tuple[str, str, str]] = []  # (path, target collection, id)
        for field in entity.fields:
            changed = current is None or current.get(field.name) != doc.get(field.name)
            if field.kind == "ref" and doc.get(field.name) is not None and changed:
                checks.append((field.name, field.ref or "", doc[field.name]))
            if field.kind == "list":
                before = {line["id"]: line for line in (current or {}).get(field.name, [])}
                for i, item in enumerate(doc.get(field.name) or []):
                    for member in field.fields:
                        value = item.get(member.name)
                        changed = before.get(item.get("id"), {}).get(member.name) != value
                        if member.kind == "ref" and value is not None and changed:
                            checks.append((f"{field.name}[{i}].{member.name}", member.ref or "", value))
        for path, target, ref_id in checks:
            row = self._db.execute(f"SELECT deleted_at FROM {target} WHERE id = ?", (ref_id,)).fetchone()  # noqa: S608
            singular = ENTITIES[target].title.lower()
            if row is None:
                errors[path] = f"no {singular} with id {ref_id!r}"
            elif row["deleted_at"] is not None:
                errors[path] = f"{singular} {ref_id!r} is deleted"
        if errors:
            raise Invalid(errors)

    def _check_unique(self, entity: Entity, doc: dict[str, Any], record_id: str | None) -> None:
        taken: dict[str, str] = {}
        for field, value in zip(entity.columns, _column_values(entity, doc), strict=True):
            if not field.unique or value is None:
                continue
            other = self._db.execute(
                f"SELECT id FROM {entity.name} WHERE {field.name} = ? AND deleted_at IS NULL AND id IS NOT ?",  # noqa: S608
                (value, record_id),
            ).fetchone()
            if other is not None:
                taken[field.name] = f"already used by {entity.title.lower()} {other['id']}"
        if taken:
            raise Conflict(taken)

    def _index_external_ids(self, entity: Entity, record_id: str, external_ids: dict[str, str]) -> None:
        self._db.execute("DELETE FROM external_ids WHERE entity = ? AND record_id = ?", (entity.name, record_id))
        self._db.executemany(
            "INSERT INTO external_ids (entity, record_id, system, value) VALUES (?, ?, ?, ?)",
            [(entity.name, record_id, system, value) for system, value in external_ids.items()],
        )


def _column_values(entity: Entity, doc: dict[str, Any]) -> list[Any]:
    values = []
    for field in entity.columns:
        value = doc.get(field.name)
        values.append(value.lower() if field.fold_case and isinstance(value, str) else value)
    return values


def _merge(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """JSON Merge Patch for one level of nesting: objects merge key by key, everything else replaces."""
    merged = dict(current)
    for name, value in changes.items():
        if isinstance(value, dict) and isinstance(current.get(name), dict):
            merged[name] = {**current[name], **value}
        else:
            merged[name] = value
    return merged


def _derive(entity: Entity, doc: dict[str, Any]) -> dict[str, Any]:
    return doc if entity.derive is None else entity.derive(doc)


def _render(entity: Entity, row: sqlite3.Row) -> Record:
    doc = json.loads(row["doc"])
    record: Record = {"id": row["id"]}
    for field in entity.fields:
        value = doc.get(field.name)
        if field.kind == "list":
            value = [{member.name: item.get(member.name) for member in field.fields} for item in value or []]
        elif field.kind == "object":
            value = {member.name: (value or {}).get(member.name) for member in field.fields}
        record[field.name] = value
    record["external_ids"] = doc.get("external_ids", {})
    record["version"] = row["version"]
    record["created_at"] = format_timestamp(row["created_at"])
    record["updated_at"] = format_timestamp(row["updated_at"])
    record["deleted_at"] = None if row["deleted_at"] is None else format_timestamp(row["deleted_at"])
    return record
