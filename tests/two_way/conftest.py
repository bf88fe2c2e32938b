"""Both sandboxes as real processes, and the two-way sync run as a user runs it: `meltano run sync` (the job in
meltano.yml: Customcrm -> Invoiced, then Invoiced -> Customcrm) in the `dev` environment, fed by the DEV_*
variables that .env.example lists.

Meltano is installed once per session into a temporary MELTANO_SYS_DIR_ROOT; each module gets its own sandboxes,
its own Meltano system database (so its own state) and its own link store.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from sandbox.common.meltano import clean_environment, meltano_command
from sandbox.common.process import REPO_ROOT, RunningSandbox
from tests.conftest import SandboxStarter
from tests.target_invoiced.conftest import CUSTOMCRM_TOKEN, INVOICED_KEY, WRITE, Systems

TARGETS = ("target-invoiced", "target-customcrm")


@dataclass
class SyncRun:
    returncode: int
    log: str  # Meltano's output, the plugins' logs included
    summaries: dict[str, dict[str, Any]]  # per target
    crm_writes: list[tuple[str, str]]  # (method, path) Customcrm served during the run
    inv_writes: list[tuple[str, str]]  # and Invoiced

    @property
    def writes(self) -> list[tuple[str, str]]:
        return self.crm_writes + self.inv_writes

    def count(self, target: str, stream: str, outcome: str) -> int:
        return self.summaries.get(target, {}).get("streams", {}).get(stream, {}).get(outcome, 0)

    def total(self, outcome: str) -> int:
        return sum(summary.get("total", {}).get(outcome, 0) for summary in self.summaries.values())


class TwoWay(Systems):
    """The two sandboxes, their APIs (from Systems), and `meltano run` between them."""

    def __init__(self, customcrm: RunningSandbox, invoiced: RunningSandbox, root: Path, meltano_root: Path, *,
                 project: Path = REPO_ROOT) -> None:
        super().__init__(customcrm, invoiced, root)
        self.project = project  # the folder `meltano` runs in: this repository, or a copy of its meltano.yml
        self.links_path = root / "links.db"
        # Built from scratch: nothing of the user's (.env, TARGET_*, PROD_*, ...) reaches a run (see
        # sandbox.common.meltano).
        self.env = clean_environment({
            "MELTANO_SYS_DIR_ROOT": str(meltano_root),
            "MELTANO_DATABASE_URI": f"sqlite:///{root / 'meltano.db'}",
            "DEV_CUSTOMCRM_API_URL": customcrm.url,
            "DEV_CUSTOMCRM_API_TOKEN": CUSTOMCRM_TOKEN,
            "DEV_INVOICED_API_URL": invoiced.url,
            "DEV_INVOICED_API_KEY": INVOICED_KEY,
            "DEV_LINK_STORE_URL": f"sqlite:///{self.links_path}",
            # Operator files, through each target's own variables.
            **{f"{target.upper().replace('-', '_')}_{name.upper()}_PATH": str(root / f"{target}-{name}.{ext}")
               for target in TARGETS for name, ext in (("summary", "json"), ("rejects", "jsonl"),
                                                       ("audit", "jsonl"))},
            "TARGET_INVOICED_RETRY_WAIT_SECONDS": "0",
            "TARGET_CUSTOMCRM_RETRY_WAIT_SECONDS": "0",
        })

    def meltano(self, *args: str, expect_ok: bool = True, env: dict[str, str] | None = None,
                timeout: float = 600) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(meltano_command(*args), cwd=self.project, env={**self.env, **(env or {})},
                                capture_output=True, text=True, timeout=timeout, check=False)
        if expect_ok:
            assert result.returncode == 0, f"meltano {' '.join(args)}:\n{result.stderr[-6000:]}"
        for secret in (INVOICED_KEY, CUSTOMCRM_TOKEN):
            assert secret not in result.stdout + result.stderr
        return result

    def run(self, job: str = "sync", *, full_refresh: bool = False, expect_ok: bool = True,
            env: dict[str, str] | None = None, force: bool = False) -> SyncRun:
        """`meltano run <job>` (with --force: past Meltano's guard against a run it thinks is still going, which a
        killed run leaves); the writes each system served while it ran, and each target's summary."""
        crm_before, inv_before = self._log_lengths()
        for target in TARGETS:
            self._path(target, "summary").unlink(missing_ok=True)
        flags = [*(["--full-refresh"] if full_refresh else []), *(["--force"] if force else [])]
        result = self.meltano("run", *flags, job, expect_ok=expect_ok, env=env)
        crm_after = self.customcrm.log().splitlines()[crm_before:]
        inv_after = self.invoiced.log().splitlines()[inv_before:]
        summaries = {target: json.loads(path.read_text()) for target in TARGETS
                     if (path := self._path(target, "summary")).exists()}
        return SyncRun(result.returncode, result.stderr, summaries, _writes(crm_after), _writes(inv_after))

    def sync(self, **_: Any) -> SyncRun:  # type: ignore[override]
        return self.run("sync")

    def _log_lengths(self) -> tuple[int, int]:
        return len(self.customcrm.log().splitlines()), len(self.invoiced.log().splitlines())

    def _path(self, target: str, name: str) -> Path:
        return Path(self.env[f"{target.upper().replace('-', '_')}_{name.upper()}_PATH"])

    def rejects(self, target: str | None = None) -> list[dict[str, Any]]:  # type: ignore[override]
        return self._lines("rejects", target)

    def audit(self, target: str | None = None) -> list[dict[str, Any]]:  # type: ignore[override]
        return self._lines("audit", target)

    def _lines(self, name: str, target: str | None) -> list[dict[str, Any]]:
        rows = []
        for each in (target,) if target else TARGETS:
            path = self._path(each, name)
            rows += [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
        return rows

    # What the systems and the store hold.

    def crm_customers(self) -> list[dict[str, Any]]:
        return self.crm_all("customers")

    def companies(self) -> list[dict[str, Any]]:
        return [c for c in self.inv_all("/customers") if c.get("type", "company") == "company"]

    def store_links(self, entity: str) -> set[tuple[str | None, str | None]]:
        engine = sa.create_engine(f"sqlite:///{self.links_path}")
        try:
            with engine.connect() as connection:
                rows = connection.execute(sa.text(
                    "SELECT customcrm_id, invoiced_id FROM sync_links WHERE namespace = 'dev' AND entity = :entity "
                    "AND state = 'linked'"), {"entity": entity})
                return {(row[0], row[1]) for row in rows}
        finally:
            engine.dispose()

    def set_aside(self) -> list[dict[str, Any]]:
        """The records the link store holds set aside (sync_retries), each with its kind, reason and record."""
        engine = sa.create_engine(f"sqlite:///{self.links_path}")
        try:
            with engine.connect() as connection:
                rows = connection.execute(sa.text(
                    "SELECT stream, source_id, kind, reason, record FROM sync_retries WHERE namespace = 'dev'"))
                return [{**row._asdict(), "record": json.loads(row.record)} for row in rows]
        finally:
            engine.dispose()

    def assert_no_duplicates(self) -> None:
        """No record of one system is linked twice, in either system's cross-reference."""
        for path in ("/customers", "/items", "/invoices"):
            counts = Counter((r.get("metadata") or {}).get("customcrm_id") for r in self.inv_all(path))
            counts.pop(None, None)
            assert not counts or max(counts.values()) == 1, (path, counts.most_common(3))
        for collection in ("customers", "products", "orders"):
            counts = Counter((r.get("external_ids") or {}).get("invoiced") for r in self.crm_all(collection)
                             if not r.get("deleted_at"))
            counts.pop(None, None)
            assert not counts or max(counts.values()) == 1, (collection, counts.most_common(3))


def _writes(lines: list[str]) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for line in lines if (m := WRITE.search(line))]


def two_way(tmp_path_factory: pytest.TempPathFactory, start_sandbox: SandboxStarter, meltano_root: Path, *,
            crm_seed: tuple[str, ...], inv_seed: tuple[str, ...]) -> Iterator[TwoWay]:
    root = tmp_path_factory.mktemp("two-way")
    with (
        start_sandbox("customcrm", "--token", CUSTOMCRM_TOKEN, "--verbose", *crm_seed) as crm,
        start_sandbox("invoiced", "--api-key", INVOICED_KEY, "--verbose", *inv_seed) as invoiced,
    ):
        yield TwoWay(crm, invoiced, root, meltano_root)


@pytest.fixture(scope="module")
def systems(tmp_path_factory: pytest.TempPathFactory, start_sandbox: SandboxStarter,
            meltano_root: Path) -> Iterator[TwoWay]:
    """A seeded Customcrm and a seeded Invoiced (its own companies, items and invoices), not yet synced."""
    yield from two_way(tmp_path_factory, start_sandbox, meltano_root,
                       crm_seed=("--seed-customers", "12", "--seed", "7"),
                       inv_seed=("--seed-customers", "6", "--seed", "8"))


@pytest.fixture(scope="module")
def converged(systems: TwoWay) -> TwoWay:
    """The module's systems after a first sync and the one that completes it: a sync now writes nothing."""
    systems.sync()
    systems.sync()
    assert systems.sync().writes == []
    return systems
