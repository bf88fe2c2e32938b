"""The Dagster definitions run as a worker runs them: tenants from a tenants file, their connections in the worker's
environment, each job executed in process and its `meltano run sync` against the two sandboxes.

The sandboxes and the session's one `meltano install` come from the two-way tests."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import SandboxStarter
from tests.two_way.conftest import TwoWay, two_way

# What the dev environment reads, and the worker variable each test tenant keeps it in.
DEV_VARIABLES = ("DEV_CUSTOMCRM_API_URL", "DEV_CUSTOMCRM_API_TOKEN", "DEV_INVOICED_API_URL", "DEV_INVOICED_API_KEY",
                 "DEV_LINK_STORE_URL")


def tenant_variables(tenant: str) -> dict[str, str]:
    return {name: f"{tenant.upper()}_{name.removeprefix('DEV_')}" for name in DEV_VARIABLES}


def write_tenants(path: Path, *tenants: str) -> Path:
    path.write_text(yaml.safe_dump({"tenants": {
        tenant: {"environment": "dev", "variables": tenant_variables(tenant)} for tenant in tenants}}))
    return path


@dataclass
class Worker:
    """The sandboxes, and the environment of a Dagster worker whose tenants sync between them."""

    systems: TwoWay
    root: Path
    monkeypatch: pytest.MonkeyPatch

    def add_tenant(self, tenant: str, **overrides: str) -> None:
        """Put the tenant's connections in the worker's environment, as a secret store would."""
        values = {name: self.systems.env[name] for name in DEV_VARIABLES} | overrides
        for name, source in tenant_variables(tenant).items():
            self.monkeypatch.setenv(source, values[name])

    def data_dir(self, tenant: str) -> Path:
        return self.root / "data" / tenant


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory, start_sandbox: SandboxStarter,
           meltano_root: Path) -> Iterator[Worker]:
    sandboxes = two_way(tmp_path_factory, start_sandbox, meltano_root,
                        crm_seed=("--seed-customers", "5", "--seed", "31"),
                        inv_seed=("--seed-customers", "3", "--seed", "32"))
    root = tmp_path_factory.mktemp("orchestrate")
    with contextlib.closing(sandboxes), pytest.MonkeyPatch.context() as monkeypatch:
        systems = next(sandboxes)
        # Worker-wide settings: one Meltano install and system database for every tenant.
        for name in ("MELTANO_SYS_DIR_ROOT", "MELTANO_DATABASE_URI", "MELTANO_SEND_ANONYMOUS_USAGE_STATS",
                     "TARGET_INVOICED_RETRY_WAIT_SECONDS", "TARGET_CUSTOMCRM_RETRY_WAIT_SECONDS"):
            monkeypatch.setenv(name, systems.env[name])
        monkeypatch.setenv("ORCHESTRATE_DATA_DIR", str(root / "data"))
        monkeypatch.delenv("ORCHESTRATE_ALERT_WEBHOOK_URL", raising=False)
        for name in DEV_VARIABLES:  # only what a tenant maps may reach its run
            monkeypatch.delenv(name, raising=False)
        yield Worker(systems, root, monkeypatch)


@dataclass
class Webhook:
    url: str
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (path, JSON body)


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    """An alert receiver on loopback: records every POST; answers 500 on /down, 204 elsewhere."""
    received: list[tuple[str, dict[str, Any]]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append((self.path, json.loads(body)))
            self.send_response(500 if self.path == "/down" else 204)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Webhook(f"http://127.0.0.1:{server.server_port}", received)
    finally:
        server.shutdown()
        server.server_close()
