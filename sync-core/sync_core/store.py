"""The link store: which Customcrm record is which Invoiced record, and the values both last agreed on.

SQLAlchemy 2 Core over SQLite (the default, a file under the Meltano project's `.meltano/`) or PostgreSQL
(`postgresql+psycopg://…`). One store serves many deployments: every row belongs to a namespace, one per pair
of connected accounts. The store creates its tables and upgrades them, recording its schema version.

The durable cross-reference lives in the systems themselves (Invoiced `metadata.customcrm_id`, Customcrm
`external_ids.invoiced`): losing this store loses merge bases and audit history, never links, which the targets
rebuild from the systems.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

# 2: records set aside are keyed by stream and destination (retries_key). 3: a pending create keeps the hash of the
# body its idempotency key was first sent with; one lease per namespace (sync_leases).
SCHEMA_VERSION = 4
SIDES = ("customcrm", "invoiced")


class LinkState(str, Enum):
    PENDING = "pending"  # a create was sent (or is about to be) and its answer is not recorded yet
    LINKED = "linked"
    CONFLICT = "conflict"  # quarantined: several candidates, or a record the destination refuses to edit
    TOMBSTONED = "tombstoned"  # deleted, voided or archived on one side and carried out on the other


class RetryKind(str, Enum):
    WAITING = "waiting"  # a reference was not linked yet
    TRANSIENT = "transient"  # the system did not answer well, even after the retries
    QUARANTINED = "quarantined"  # several candidates matched
    REJECTED = "rejected"  # needs a new version of the source record (bad value, refused by the system)
    BLOCKED = "blocked"  # refused because of a parent's state (an inactive customer): retried when it is written
    HELD = "held"  # a delete over the run's max_deletes: carried out only by a run whose cap has room for all

    @property
    def retry_can_fix(self) -> bool:
        """Retried on every run; the others wait for their own trigger (a new version, the parent, the cap)."""
        return self in (RetryKind.WAITING, RetryKind.TRANSIENT, RetryKind.QUARANTINED)


metadata_obj = sa.MetaData()

schema_info = sa.Table(
    "sync_schema", metadata_obj,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)

links = sa.Table(
    "sync_links", metadata_obj,
    sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("namespace", sa.String(200), nullable=False),
    sa.Column("entity", sa.String(40), nullable=False),
    sa.Column("customcrm_id", sa.String(200)),
    sa.Column("invoiced_id", sa.String(200)),
    sa.Column("origin", sa.String(20), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("idempotency_key", sa.String(64)),
    sa.Column("body_hash", sa.String(64)),  # of the body the key was first sent with: reused only with that body
    sa.Column("base_customcrm", sa.Text),
    sa.Column("base_invoiced", sa.Text),
    sa.Column("note", sa.Text),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("namespace", "entity", "customcrm_id", name="uq_links_customcrm"),
    sa.UniqueConstraint("namespace", "entity", "invoiced_id", name="uq_links_invoiced"),
)

retries = sa.Table(
    "sync_retries", metadata_obj,
    sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("namespace", sa.String(200), nullable=False),
    sa.Column("stream", sa.String(100), nullable=False),
    sa.Column("source_id", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("blocked_on", sa.String(250)),  # "<entity>:<source id>" of the parent a BLOCKED record waits for
    sa.Column("record", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("namespace", "stream", "source_id", name="uq_retries_record"),
)

leases = sa.Table(
    "sync_leases", metadata_obj,
    sa.Column("namespace", sa.String(200), primary_key=True),
    sa.Column("run", sa.String(100), nullable=False),  # one `meltano run`, or one plugin run outside Meltano
    sa.Column("plugin", sa.String(100), nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("run_pid", sa.Integer),  # the process that started the run (Meltano's), while the plugin's is gone
    sa.Column("since", sa.DateTime(timezone=True), nullable=False),
    sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("released_at", sa.DateTime(timezone=True)),
)

audit = sa.Table(
    "sync_audit", metadata_obj,
    sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("namespace", sa.String(200), nullable=False),
    sa.Column("run_id", sa.String(40), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("stream", sa.String(100), nullable=False),
    sa.Column("customcrm_id", sa.String(200)),
    sa.Column("invoiced_id", sa.String(200)),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
)


# The hot path's statements, built once and executed with bound values: building a statement costs more than
# running it (SQLAlchemy constructs and hashes the expression on every call).
_ID_COLUMN = {"customcrm": links.c.customcrm_id, "invoiced": links.c.invoiced_id}


def _one_link(side: str) -> tuple[Any, ...]:
    return (links.c.namespace == sa.bindparam("ns"), links.c.entity == sa.bindparam("of_entity"),
            _ID_COLUMN[side] == sa.bindparam("record_id"))


FIND_LINK = {side: sa.select(links).where(*_one_link(side)) for side in SIDES}
FIND_LINKS = {side: sa.select(links).where(links.c.namespace == sa.bindparam("ns"),
                                           links.c.entity == sa.bindparam("of_entity"),
                                           _ID_COLUMN[side].in_(sa.bindparam("record_ids", expanding=True)))
              for side in SIDES}
UPDATE_LINK = {side: links.update().where(*_one_link(side)) for side in SIDES}
DELETE_LINK = {side: links.delete().where(*_one_link(side)) for side in SIDES}
INSERT_LINK = links.insert()
ROWS_OF_PAIR = sa.select(links).where(
    links.c.namespace == sa.bindparam("ns"), links.c.entity == sa.bindparam("of_entity"),
    sa.or_(links.c.customcrm_id == sa.bindparam("customcrm"), links.c.invoiced_id == sa.bindparam("invoiced")),
).order_by(links.c.pk)
UPDATE_LINK_BY_PK = links.update().where(links.c.pk == sa.bindparam("row_pk"))
DELETE_LINKS_BY_PK = links.delete().where(links.c.pk.in_(sa.bindparam("row_pks", expanding=True)))
_ONE_RETRY = (retries.c.namespace == sa.bindparam("ns"), retries.c.stream == sa.bindparam("stream_key"),
              retries.c.source_id == sa.bindparam("source"))
FIND_RETRY = sa.select(retries.c.pk, retries.c.attempts).where(*_ONE_RETRY)
INSERT_RETRY = retries.insert()
UPDATE_RETRY_BY_PK = retries.update().where(retries.c.pk == sa.bindparam("row_pk"))
DELETE_RETRY = retries.delete().where(*_ONE_RETRY)


KNOWN_LINKS = 8000  # look-ups a store remembers (a link under both its ids; each with its bases' text, ~2 kB)
RECALL_CHUNK = 500  # ids read in one query by recall()
_UNKNOWN = object()


class StoreUnavailable(RuntimeError):
    """The link store cannot be opened: which one (never its password), why, and the setting to check."""

    def __init__(self, url: str, failure: BaseException) -> None:
        where = sa.make_url(url).render_as_string(hide_password=True)
        cause = str(getattr(failure, "orig", failure)).strip().splitlines()[0]
        super().__init__(f"could not open the link store at {where}: {cause} -- check link_store_url, and that the "
                         "database is reachable")


@dataclass(frozen=True)
class Link:
    entity: str
    customcrm_id: str | None
    invoiced_id: str | None
    origin: str
    state: LinkState
    idempotency_key: str | None = None
    # Per side, the merge base in its own shape, as stored (JSON): read when asked, so a remembered link holds a few
    # hundred bytes of text instead of several kB of values.
    stored_bases: Mapping[str, str | None] = field(default_factory=dict, repr=False)
    note: str | None = None
    body_hash: str | None = None
    updated_at: datetime | None = None  # when it was last saved: a child its parent blocked is tried again after it

    def id_on(self, side: str) -> str | None:
        return self.customcrm_id if side == "customcrm" else self.invoiced_id

    def base(self, side: str) -> Mapping[str, Any] | None:
        return _load(self.stored_bases.get(side))

    @property
    def bases(self) -> dict[str, Mapping[str, Any] | None]:
        return {side: _load(text) for side, text in self.stored_bases.items()}

    @property
    def deleted_in(self) -> str | None:
        """The system a tombstoned link's record was deleted in, when the sync found it deleted there (else the
        delete came from the other side, through the sync)."""
        return next((side for side in SIDES if self.note == deleted_note(side)), None)


def deleted_note(side: str) -> str:
    """The note of a link whose record was found deleted in `side`."""
    return f"deleted in {side}"


@dataclass(frozen=True)
class Retry:
    stream: str
    source_id: str
    kind: RetryKind
    reason: str
    record: dict[str, Any]
    attempts: int
    blocked_on: str | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None


def meltano_folder() -> Path:
    """The Meltano project's `.meltano/` (Meltano runs plugins with MELTANO_PROJECT_ROOT set), else the current
    folder's."""
    return Path(os.environ.get("MELTANO_PROJECT_ROOT") or Path.cwd()) / ".meltano"


def default_url() -> str:
    """A SQLite file in the Meltano project's `.meltano/`."""
    folder = meltano_folder()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'sync-links.db'}"


def _now() -> datetime:
    return datetime.now(timezone.utc)


class LinkStore:
    """All reads and writes of the store for one namespace. Safe to share between the executor's threads.

    Links read once are remembered for the life of the object (a run), and every write goes through it, so a
    record's many look-ups (its own link, its references) cost one query. This assumes what Meltano's state
    locking and the `sync` job give: one run per namespace at a time.
    """

    def __init__(self, url: str | None, namespace: str) -> None:
        self.url = url or default_url()
        self.namespace = namespace
        self.engine = _engine(self.url)
        # SQLite allows one writer at a time: serialise writes here rather than meet "database is locked". Held
        # until a write is remembered too (see pending()).
        self._write_lock = threading.RLock()
        # (entity, side, id) -> link, or None: none. The most recently used KNOWN_LINKS, so memory stays flat however
        # many records a run writes; a link that dropped out costs one read if it is needed again.
        self._known: OrderedDict[tuple[str, str, str], Link | None] = OrderedDict()
        self._known_lock = threading.Lock()
        # Per key, how often it was written in this run: a read that raced with a write of its key does not fill the
        # cache with what it read (writes of other keys do not hold it back).
        self._versions: dict[tuple[str, str, str], int] = {}
        self._upgrade()
        self._aside = self._set_aside_keys_in_store()  # (stream, source id) of the records set aside

    def close(self) -> None:
        self.engine.dispose()

    # Schema: created on first use, upgraded in place, its version recorded.

    def _upgrade(self) -> None:
        attempts = 8
        for attempt in range(attempts):
            try:
                with self._write_lock, self.engine.begin() as db:
                    if db.dialect.name == "sqlite":
                        # The write lock from the start: two processes opening a new file at once then take turns
                        # (the busy timeout waits) instead of one failing halfway through creating the tables.
                        db.exec_driver_sql("BEGIN IMMEDIATE")
                    self._upgrade_in(db)
                return
            except sa.exc.OperationalError as failure:
                text = str(failure).lower()
                if attempt == attempts - 1 or not ("exists" in text or "locked" in text):
                    raise StoreUnavailable(self.url, failure) from None
            except sa.exc.DatabaseError:
                # Another plugin created the tables or the version row between our check and our write (first runs
                # of several plugins at once): the next attempt finds them.
                if attempt == attempts - 1:
                    raise
            time.sleep(random.uniform(0.05, 0.3) * (attempt + 1))

    def _upgrade_in(self, db: Connection) -> None:
        metadata_obj.create_all(db)
        version = db.execute(sa.select(schema_info.c.version)).scalar()
        if version is None:
            db.execute(schema_info.insert().values(id=1, version=SCHEMA_VERSION))
        elif version > SCHEMA_VERSION:
            msg = (
                f"the link store at {sa.make_url(self.url).render_as_string(hide_password=True)} has schema "
                f"version {version}, newer than this plugin's {SCHEMA_VERSION}: upgrade the plugins"
            )
            raise RuntimeError(msg)
        elif version < SCHEMA_VERSION:
            # Each later version adds its migration here, guarded by `version < N`.
            if version < 2:
                _key_retries_by_destination(db)
            if version < 3:
                _add_columns(db, links, ("body_hash",))
            if version < 4:
                # target-invoiced's sales reps are written by the executor now, and kept like every stream's.
                db.execute(retries.update().where(retries.c.stream == "sales_reps")
                           .values(stream=retries_key("sales_reps", "invoiced")))
            db.execute(schema_info.update().values(version=SCHEMA_VERSION))

    @property
    def version(self) -> int:
        with self.engine.connect() as db:
            return int(db.execute(sa.select(schema_info.c.version)).scalar_one())

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """One transaction, alone among this store's writers (SQLite allows one writer at a time)."""
        with self._write_lock, self.engine.begin() as db:
            yield db

    # Links.

    def find(self, entity: str, side: str, record_id: str) -> Link | None:
        key = (entity, side, str(record_id))
        known = self._known.get(key, _UNKNOWN)
        if known is not _UNKNOWN:
            return known  # type: ignore[return-value]
        version = self._versions.get(key, 0)
        with self.engine.connect() as db:
            row = db.execute(FIND_LINK[side], self._key(entity, record_id)).mappings().first()
        found = None if row is None else _link(row)
        with self._known_lock:
            if self._versions.get(key, 0) == version:
                self._keep(key, found)
        return found

    def recall(self, entity: str, side: str, record_ids: Iterable[str]) -> None:
        """Read the links of many records in a few queries (a batch's, before its records are taken up one by one),
        so that their look-ups cost no query each. Ids remembered already are not read again, and no more are read
        than half of what the store remembers (the rest are read one by one when they come)."""
        wanted = list(dict.fromkeys(str(record_id) for record_id in record_ids
                                    if (entity, side, str(record_id)) not in self._known))[:KNOWN_LINKS // 2]
        for start in range(0, len(wanted), RECALL_CHUNK):
            chunk = wanted[start:start + RECALL_CHUNK]
            with self._known_lock:
                versions = [self._versions.get((entity, side, record_id), 0) for record_id in chunk]
            with self.engine.connect() as db:
                rows = db.execute(FIND_LINKS[side], {"ns": self.namespace, "of_entity": entity,
                                                     "record_ids": chunk}).mappings().all()
            found = {str(row[f"{side}_id"]): _link(row) for row in rows}
            with self._known_lock:
                for record_id, version in zip(chunk, versions, strict=True):
                    key = (entity, side, record_id)
                    if self._versions.get(key, 0) == version:  # no write of it since the read began: see find()
                        self._keep(key, found.get(record_id))

    def imagine(self, entity: str, side: str, record_id: str, other_side: str) -> None:
        """A dry run's planned create, as a link in memory only, so the records that reference it plan as they
        would after a real run (their reference shows as `new:<id>`) instead of waiting."""
        ids = {f"{side}_id": str(record_id), f"{other_side}_id": f"new:{record_id}"}
        link = Link(entity, ids.get("customcrm_id"), ids.get("invoiced_id"), side, LinkState.LINKED)
        with self._known_lock:
            self._keep((entity, side, str(record_id)), link)

    def _remember(self, link: Link, *stale: tuple[str, str | None]) -> None:
        """After a committed write: the link as it now is, for both its ids, so no read follows its own write; ids
        that no longer name it (a half-link merged away, an id that changed) are forgotten."""
        with self._known_lock:
            for side, record_id in stale:
                if record_id is not None:
                    self._forget_key((link.entity, side, str(record_id)))
            for side in SIDES:
                if link.id_on(side) is not None:
                    key = (link.entity, side, str(link.id_on(side)))
                    self._forget_key(key)
                    self._keep(key, link)

    def _forget_cached(self, entity: str, *ids: tuple[str, str | None]) -> None:
        with self._known_lock:
            for side, record_id in ids:
                if record_id is not None:
                    self._forget_key((entity, side, str(record_id)))

    def _keep(self, key: tuple[str, str, str], link: Link | None) -> None:
        """Under _known_lock: cache a link, dropping the least recently cached beyond KNOWN_LINKS."""
        self._known[key] = link
        self._known.move_to_end(key)
        while len(self._known) > KNOWN_LINKS:
            self._known.popitem(last=False)

    def _forget_key(self, key: tuple[str, str, str]) -> None:
        """Under _known_lock: the key's cached link is gone, and a read begun before now may not put it back."""
        self._versions[key] = self._versions.get(key, 0) + 1
        self._known.pop(key, None)

    def links_of(self, entity: str) -> Iterator[Link]:
        query = sa.select(links).where(links.c.namespace == self.namespace, links.c.entity == entity)
        with self.engine.connect() as db:
            for row in db.execute(query).mappings():
                yield _link(row)

    def pending(self, entity: str, side: str, record_id: str, *, origin: str, body_hash: str) -> Link:
        """Before a create: the row that makes a retry after a crash find, not repeat, the create. Its idempotency
        key is reused only with the body it was first sent with (a system may replay a key's first answer whatever
        body comes with it); another body gets a new key."""
        existing = self.find(entity, side, record_id)
        if existing is not None and existing.idempotency_key and existing.body_hash == body_hash:
            return existing
        key = hashlib.sha256(f"{self.namespace}|{entity}|{side}|{record_id}|{uuid.uuid4()}".encode()).hexdigest()
        key = key[:48]
        with self._write_lock:
            # Looked at again under the write lock: another thread may have stored it since. Every write of this
            # key is this store's (one run per namespace holds the lease; the other target's pending rows are keyed
            # by the other system's ids) and is remembered before the lock is let go, so what is remembered is the
            # row as it is; a key not remembered is read.
            current = self._known.get((entity, side, str(record_id)), _UNKNOWN)
            with self.engine.begin() as db:
                if current is _UNKNOWN:
                    row = db.execute(FIND_LINK[side], self._key(entity, record_id)).mappings().first()
                    current = None if row is None else _link(row)
                if current is not None and current.idempotency_key and current.body_hash == body_hash:
                    return current
                now = _now()
                if current is None:
                    written = {"entity": entity, "origin": origin, "state": LinkState.PENDING.value,
                               "idempotency_key": key, "body_hash": body_hash, "updated_at": now,
                               f"{side}_id": str(record_id)}
                    db.execute(INSERT_LINK, {"namespace": self.namespace, **written})
                    link = _link(written)
                else:
                    changes = {"idempotency_key": key, "body_hash": body_hash, "updated_at": now}
                    db.execute(UPDATE_LINK[side], {**self._key(entity, record_id), **changes})
                    link = replace(current, **changes)
            self._remember(link)  # after the commit: see find()
        return link

    def clear_key(self, entity: str, side: str, record_id: str) -> None:
        """After a refused create: the pending link's next create gets a new idempotency key."""
        with self._write_lock:
            with self.engine.begin() as db:
                db.execute(UPDATE_LINK[side], {**self._key(entity, record_id), "idempotency_key": None,
                                               "body_hash": None})
            self._forget_cached(entity, (side, record_id))

    def save(
        self,
        entity: str,
        *,
        customcrm_id: str | None,
        invoiced_id: str | None,
        origin: str,
        state: LinkState,
        bases: Mapping[str, Mapping[str, Any] | None] | None = None,
        note: str | None = None,
    ) -> None:
        """Insert or update the link of this pair; bases not given are kept."""
        values: dict[str, Any] = {
            "customcrm_id": customcrm_id, "invoiced_id": invoiced_id, "state": state.value,
            "note": note, "updated_at": _now(),
        }
        for side, base in (bases or {}).items():
            values[f"base_{side}"] = _dump(base)
        with self._write_lock:
            with self.engine.begin() as db:
                rows = [dict(row) for row in self._rows(db, entity, customcrm_id, invoiced_id)]
                pks = [row["pk"] for row in rows]
                for side in SIDES:  # a base held only by a half-link merged away is kept too
                    if f"base_{side}" not in values:
                        held = next((row[f"base_{side}"] for row in rows if row[f"base_{side}"]), None)
                        if held is not None:
                            values[f"base_{side}"] = held
                if pks:
                    # Two rows, one per side, from two half-links (e.g. both created in one run): keep the first.
                    if pks[1:]:
                        db.execute(DELETE_LINKS_BY_PK, {"row_pks": pks[1:]})
                    db.execute(UPDATE_LINK_BY_PK, {"row_pk": pks[0], **values})
                    written = {**rows[0], **values}
                else:
                    written = {"entity": entity, "origin": origin, **values}
                    db.execute(INSERT_LINK, {"namespace": self.namespace, **written})
            # After the commit, before the lock is let go (see find(), pending()); a half-link merged away, or an
            # id that changed, is stale on its other side.
            self._remember(_link(written), *((side, row[f"{side}_id"]) for row in rows for side in SIDES))

    def _rows(self, db: Connection, entity: str, customcrm_id: str | None, invoiced_id: str | None) -> list[Any]:
        if customcrm_id is None and invoiced_id is None:
            return []
        # A missing id is bound as NULL, which equals nothing in SQL: only the given ids match.
        return list(db.execute(ROWS_OF_PAIR, {"ns": self.namespace, "of_entity": entity, "customcrm": customcrm_id,
                                              "invoiced": invoiced_id}).mappings())

    def forget(self, entity: str, side: str, record_id: str) -> None:
        link = self.find(entity, side, record_id)
        with self._write_lock:
            with self.engine.begin() as db:
                db.execute(DELETE_LINK[side], self._key(entity, record_id))
            self._forget_cached(entity, (side, record_id))
            if link is not None:
                self._forget_cached(entity, ("customcrm", link.customcrm_id), ("invoiced", link.invoiced_id))

    def _key(self, entity: str, record_id: str) -> dict[str, str]:
        return {"ns": self.namespace, "of_entity": entity, "record_id": str(record_id)}

    # Records set aside: waiting, transient failures, quarantined, rejected.

    def set_aside(
        self,
        stream: str,
        source_id: str,
        kind: RetryKind,
        reason: str,
        record: Mapping[str, Any],
        *,
        blocked_on: str | None = None,
    ) -> None:
        with self._known_lock:
            self._aside.add((stream, source_id))
        now = _now()
        values = {"kind": kind.value, "reason": reason, "record": _dump(record), "last_seen": now,
                  "blocked_on": blocked_on}
        with self.writing() as db:
            row = db.execute(FIND_RETRY, {"ns": self.namespace, "stream_key": stream, "source": source_id}).first()
            if row is None:
                db.execute(INSERT_RETRY, {"namespace": self.namespace, "stream": stream, "source_id": source_id,
                                          "attempts": 1, "first_seen": now, **values})
            else:
                db.execute(UPDATE_RETRY_BY_PK, {"row_pk": row.pk, "attempts": row.attempts + 1, **values})

    def resolved(self, stream: str, source_id: str) -> None:
        with self._known_lock:
            if (stream, source_id) not in self._aside:
                return  # nothing to clear: most records are never set aside
            self._aside.discard((stream, source_id))
        with self.writing() as db:
            db.execute(DELETE_RETRY, {"ns": self.namespace, "stream_key": stream, "source": source_id})

    def _set_aside_keys_in_store(self) -> set[tuple[str, str]]:
        query = sa.select(retries.c.stream, retries.c.source_id).where(retries.c.namespace == self.namespace)
        with self.engine.connect() as db:
            return {(row.stream, row.source_id) for row in db.execute(query)}

    def set_aside_records(self, stream: str | None = None) -> list[Retry]:
        query = sa.select(retries).where(retries.c.namespace == self.namespace).order_by(retries.c.pk)
        if stream is not None:
            query = query.where(retries.c.stream == stream)
        with self.engine.connect() as db:
            rows = db.execute(query).mappings().all()
        return [
            Retry(row["stream"], row["source_id"], RetryKind(row["kind"]), row["reason"], _load(row["record"]) or {},
                  row["attempts"], row["blocked_on"], as_utc(row["first_seen"]), as_utc(row["last_seen"]))
            for row in rows
        ]

    def still_set_aside(self, streams: Iterable[str]) -> list[tuple[str, RetryKind, int, datetime | None]]:
        """Per stream (as kept: see retries_key) and kind, how many records are set aside and since when the oldest."""
        query = (sa.select(retries.c.stream, retries.c.kind, sa.func.count(), sa.func.min(retries.c.first_seen))
                 .where(retries.c.namespace == self.namespace, retries.c.stream.in_(list(streams)))
                 .group_by(retries.c.stream, retries.c.kind))
        with self.engine.connect() as db:
            return [(row[0], RetryKind(row[1]), int(row[2]), as_utc(row[3])) for row in db.execute(query)]

    # The audit trail.

    def record_audit(self, entries: list[dict[str, Any]]) -> None:
        if not entries:
            return
        rows = [
            {
                "namespace": self.namespace, "run_id": e["run_id"], "at": _now(), "stream": e["stream"],
                "customcrm_id": e.get("customcrm_id"), "invoiced_id": e.get("invoiced_id"), "action": e["action"],
                "detail": json.dumps({k: v for k, v in e.items() if k not in _AUDIT_COLUMNS}, default=str),
            }
            for e in entries
        ]
        with self.writing() as db:
            db.execute(audit.insert(), rows)

    def audit_entries(self, run_id: str | None = None) -> list[dict[str, Any]]:
        query = sa.select(audit).where(audit.c.namespace == self.namespace).order_by(audit.c.pk)
        if run_id is not None:
            query = query.where(audit.c.run_id == run_id)
        with self.engine.connect() as db:
            rows = db.execute(query).mappings().all()
        return [{**{c: row[c] for c in _AUDIT_COLUMNS}, **json.loads(row["detail"])} for row in rows]


_AUDIT_COLUMNS = ("run_id", "stream", "customcrm_id", "invoiced_id", "action")


def _engine(url: str) -> Engine:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # readers do not wait for the writer
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    try:
        return sa.create_engine(url, pool_pre_ping=True)
    except ModuleNotFoundError as missing:
        msg = (f"link_store_url names a {parsed.get_backend_name()} database, but its driver ({missing.name}) is not "
               "installed: install the plugins with the extra, e.g. customcrm-invoiced-sync-core[postgres]")
        raise RuntimeError(msg) from None


def _link(row: Mapping[str, Any]) -> Link:
    """A link from a row as read, or from the values just written (columns not written are None)."""
    return Link(
        entity=row["entity"],
        customcrm_id=row.get("customcrm_id"),
        invoiced_id=row.get("invoiced_id"),
        origin=row["origin"],
        state=LinkState(row["state"]),
        idempotency_key=row.get("idempotency_key"),
        stored_bases={side: row.get(f"base_{side}") for side in SIDES},
        note=row.get("note"),
        body_hash=row.get("body_hash"),
        updated_at=as_utc(row.get("updated_at")),
    )


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite gives stored times back without their zone; every time the store writes is UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


# Bases keep exact values: a Decimal stays a Decimal (as {"$decimal": "12.50"}), never a float.

def retries_key(stream: str, destination_side: str) -> str:
    """The name records set aside by one target's stream are kept under: both targets have a `customers` stream and
    share one store, and each must take up only its own (a delete one held back was otherwise taken up, and
    dropped, by the other)."""
    return f"{stream}@{destination_side}"


def _add_columns(db: Connection, table: sa.Table, names: tuple[str, ...]) -> None:
    """Columns a newer version added to a table an older one created (create_all leaves existing tables alone)."""
    present = {column["name"] for column in sa.inspect(db).get_columns(table.name)}
    for name in names:
        if name not in present:
            kind = table.c[name].type.compile(dialect=db.dialect)
            db.execute(sa.text(f"ALTER TABLE {table.name} ADD COLUMN {name} {kind}"))


def _key_retries_by_destination(db: Connection) -> None:
    """Version 1 kept records set aside under the stream's name alone: give each its destination, the system its
    record was not mapped from. target-invoiced's `sales_reps` kept its own records then: version 4 keys them."""
    rows = db.execute(sa.select(retries.c.pk, retries.c.stream, retries.c.record)
                      .where(retries.c.stream.not_like("%@%"))).all()
    for row in rows:
        record = _load(row.record) or {}
        source = record.get("_source") if isinstance(record, dict) else None
        system = source.get("system") if isinstance(source, dict) else None
        if system in SIDES:
            destination = next(side for side in SIDES if side != system)
            db.execute(retries.update().where(retries.c.pk == row.pk)
                       .values(stream=retries_key(row.stream, destination)))


def _dump(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(_tag(value), sort_keys=True, ensure_ascii=False)


def _tag(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _tag(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_tag(v) for v in value]
    return value


def _load(text: str | None) -> Any:
    if text is None:
        return None
    return json.loads(text, object_hook=lambda obj: Decimal(obj["$decimal"]) if set(obj) == {"$decimal"} else obj)
