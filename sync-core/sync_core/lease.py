"""One run per namespace at a time, whatever started it: a lease in the link store (`sync_leases`, one row per
namespace), on SQLite and PostgreSQL alike.

A run is one `meltano run` (its plugins share Meltano's context id, so `sync`'s second target takes over from its
first), or one plugin run outside Meltano. A target takes the lease before its first request and keeps it fresh
with a heartbeat; a second run finds it held and stops at once, naming the holder. A holder that is gone is taken
over safely:
- on the same host, once its process is provably gone (a SIGKILLed target, a crashed worker);
- from any host, once its heartbeat is older than `expiry` (the host itself may be gone).

Between the tasks of one `meltano run sync` the lease is released but stays the run's for `handover` seconds, so
another run waits that long (or less, if the releasing run is provably over) before it takes the lease, instead of
slipping in between the two directions of one sync.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any

import sqlalchemy as sa

from sync_core.store import LinkStore, as_utc, leases

HEARTBEAT_SECONDS = 10.0
EXPIRY_SECONDS = 90.0  # six missed heartbeats: the holder is presumed gone
HANDOVER_SECONDS = 30.0  # time for Meltano to start the next task of a run that released the lease
ATTEMPTS = 20  # a lease changing hands while we look is looked at again
MELTANO_RUN = "meltano:"  # how a run started by Meltano is named in the lease


class LeaseHeld(RuntimeError):
    """Another run holds the namespace: this one must not write."""


class LeaseLost(RuntimeError):
    """The lease was taken over while this run held it (its heartbeat stalled past the expiry)."""


@dataclass(frozen=True)
class Holder:
    run: str
    plugin: str
    host: str
    pid: int
    run_pid: int | None
    since: datetime
    heartbeat_at: datetime
    released_at: datetime | None

    def describe(self) -> str:
        held = f"released at {_text(self.released_at)}" if self.released_at else f"heartbeat {_text(self.heartbeat_at)}"
        return (f"{self.plugin} (pid {self.pid} on host {self.host}, run {self.run}), since {_text(self.since)}, "
                f"{held}")


class Verdict(Enum):
    TAKE = "take"
    WAIT = "wait"
    REFUSE = "refuse"


def run_identity(environ: Any = os.environ) -> tuple[str, int | None]:
    """Who this run is, and the pid of the process that started it: Meltano gives each invocation's plugins one
    context id; outside Meltano every plugin run is a run of its own."""
    context = environ.get("MELTANO_PARENT_CONTEXT_UUID")
    parent = os.getppid()
    if context and parent != 1:  # 1: the Meltano that started the plugin is already gone; its run will not go on
        return f"{MELTANO_RUN}{context}", parent
    return f"plugin:{uuid.uuid4()}", None


class Lease:
    """The lease of one namespace for this process. `acquire()`, then `check()` before writing, then `release()`."""

    def __init__(self, store: LinkStore, plugin: str, logger: logging.Logger, *, run: str | None = None,
                 run_pid: int | None = None, expiry: float = EXPIRY_SECONDS, handover: float = HANDOVER_SECONDS,
                 heartbeat: float = HEARTBEAT_SECONDS) -> None:
        self.store, self.plugin, self.logger = store, plugin, logger
        identity = run_identity()
        self.run = run or identity[0]
        self.run_pid = run_pid if run is not None else identity[1]
        self.host, self.pid = socket.gethostname(), os.getpid()
        self.expiry, self.handover, self.heartbeat = expiry, handover, heartbeat
        self.lost: Holder | None = None
        self.held = False
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    # Taking it.

    def acquire(self) -> None:
        """Take the lease, or raise LeaseHeld naming the run that holds it. Waits only while another run hands it
        over between its tasks (at most `handover` seconds)."""
        for _ in range(ATTEMPTS):
            holder = self._holder()
            if holder is None:
                if self._insert():
                    break
                continue
            verdict, why = self._verdict(holder)
            if verdict is Verdict.REFUSE:
                msg = (f"another run of namespace {self.store.namespace!r} holds the link store's lease: "
                       f"{holder.describe()}. Only one run per namespace may write at a time; this run stops "
                       f"before any request. If that run is gone, its lease is taken over once its host sees its "
                       f"process gone, or {self.expiry:.0f} s after its last heartbeat")
                raise LeaseHeld(msg)
            if verdict is Verdict.WAIT:
                assert holder.released_at is not None
                wait = (holder.released_at + timedelta(seconds=self.handover) - _now()).total_seconds()
                self.logger.info("Waiting %.0f s: %s released the lease between the tasks of its run", wait,
                                 holder.describe())
                time.sleep(max(0.0, min(wait, self.handover)) + 0.05)
                continue
            if self._take_over(holder):
                if why:
                    self.logger.warning("Took over the lease of namespace %r from %s: %s", self.store.namespace,
                                        holder.describe(), why)
                break
        else:
            msg = f"the lease of namespace {self.store.namespace!r} kept changing hands: try again"
            raise LeaseHeld(msg)
        self.held = True
        self._beat = threading.Thread(target=self._beating, name="lease-heartbeat", daemon=True)
        self._beat.start()

    def _verdict(self, holder: Holder) -> tuple[Verdict, str]:
        now = _now()
        if holder.run == self.run:
            return Verdict.TAKE, ""  # this run's own, e.g. `sync`'s second task after its first
        if holder.released_at is not None:
            # Released between the tasks of its run, unless that run is provably over or the handover has passed.
            over = ((holder.host == self.host and not _alive(holder.run_pid))
                    or now - holder.released_at >= timedelta(seconds=self.handover))
            return (Verdict.TAKE if over else Verdict.WAIT), ""
        if holder.host == self.host and not _alive(holder.pid):
            return Verdict.TAKE, f"its process {holder.pid} is gone"
        if now - holder.heartbeat_at > timedelta(seconds=self.expiry):
            return Verdict.TAKE, f"no heartbeat for over {self.expiry:.0f} s"
        return Verdict.REFUSE, ""

    def _insert(self) -> bool:
        now = _now()
        try:
            with self.store.writing() as db:
                db.execute(leases.insert().values(namespace=self.store.namespace, **self._mine(now)))
        except sa.exc.IntegrityError:
            return False  # another run inserted it first: look again
        return True

    def _take_over(self, holder: Holder) -> bool:
        """Compare and set: only if the row is still exactly as it was read."""
        with self.store.writing() as db:
            taken = db.execute(leases.update().where(
                leases.c.namespace == self.store.namespace, leases.c.run == holder.run, leases.c.pid == holder.pid,
                leases.c.heartbeat_at == holder.heartbeat_at,
            ).values(**self._mine(_now())))
        return taken.rowcount == 1

    def _mine(self, now: datetime) -> dict[str, Any]:
        return {"run": self.run, "plugin": self.plugin, "host": self.host, "pid": self.pid, "run_pid": self.run_pid,
                "since": now, "heartbeat_at": now, "released_at": None}

    def _holder(self) -> Holder | None:
        with self.store.engine.connect() as db:
            row = db.execute(sa.select(leases).where(leases.c.namespace == self.store.namespace)).mappings().first()
        if row is None:
            return None
        return Holder(row["run"], row["plugin"], row["host"], row["pid"], row["run_pid"], as_utc(row["since"]),
                      as_utc(row["heartbeat_at"]), as_utc(row["released_at"]))

    # Keeping it.

    def _beating(self) -> None:
        while not self._stop.wait(self.heartbeat):
            try:
                with self.store.writing() as db:
                    kept = db.execute(leases.update().where(*self._owned()).values(heartbeat_at=_now())).rowcount
            except sa.exc.SQLAlchemyError as failure:
                self.logger.warning("Could not renew the link store's lease (tried again in %.0f s): %s",
                                    self.heartbeat, str(getattr(failure, "orig", failure)).splitlines()[0])
                continue
            if kept == 0:
                self.lost = self._holder() or Holder("?", "another run", "?", 0, None, _now(), _now(), None)
                self.logger.error("This run's lease of namespace %r was taken over by %s: it stops before writing "
                                  "more", self.store.namespace, self.lost.describe())
                return

    def check(self) -> None:
        """Before a batch of writes: raise LeaseLost if another run has taken the lease."""
        if self.lost is not None:
            msg = (f"the link store's lease of namespace {self.store.namespace!r} was taken over by "
                   f"{self.lost.describe()}: this run stops before writing more")
            raise LeaseLost(msg)

    def release(self) -> None:
        """Under Meltano, marked released but kept: the run's next task takes it back without waiting, another run
        only after the handover. Outside Meltano (or once the Meltano that started it is gone) the run is this one
        plugin run, so the lease is simply removed."""
        self._stop.set()
        if not self.held:
            return
        self.held = False
        # Kept for the run's next task only while the Meltano that started this plugin still runs it.
        next_task_may_come = self.run.startswith(MELTANO_RUN) and os.getppid() == self.run_pid
        with self.store.writing() as db:
            if next_task_may_come:
                db.execute(leases.update().where(*self._owned()).values(released_at=_now(), heartbeat_at=_now()))
            else:
                db.execute(leases.delete().where(*self._owned()))

    def _owned(self) -> tuple[Any, ...]:
        return (leases.c.namespace == self.store.namespace, leases.c.run == self.run, leases.c.pid == self.pid)


def _alive(pid: int | None) -> bool:
    """Whether a process of this host is running; unknown (None) counts as alive."""
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process holds that pid
    return _not_a_zombie(pid)


def _not_a_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True  # no /proc here: the signal said it runs


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _text(moment: datetime | None) -> str:
    return "?" if moment is None else moment.isoformat(timespec="seconds")
