"""Nothing of the user's steers a test: with a `.env` and exported variables that point every connection (every
environment's, every plugin's own, Meltano's, the sandboxes' fault flags) at a tripwire on 127.0.0.1, the
Meltano-driven tests still pass, and the tripwire sees no request.

The tests run in a copy of this repository, so the `.env` written for them is the copy's, never the user's own.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sandbox.common.process import REPO_ROOT

# The Meltano-driven tests run again under the tripwire: the one that once wrote to a real account through .env,
# and a pipeline run through the plugins' own variables.
STEERED = ("tests/two_way/test_first_sync.py",
           "tests/meltano_project/test_pipelines.py::"
           "test_customcrm_to_invoiced_into_target_invoiced_and_a_miswired_pipeline_writes_nothing")
NOT_COPIED = shutil.ignore_patterns(".git", ".venv", ".meltano", ".demo", "__pycache__", ".pytest_cache",
                                    ".ruff_cache", ".hypothesis", "*.egg-info", "output", ".env")


@dataclass
class Tripwire:
    url: str
    seen: list[str] = field(default_factory=list)  # the request line of every request it got


@pytest.fixture
def tripwire() -> Iterator[Tripwire]:
    """An HTTP server on loopback that records every request it gets and answers 503."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def handle_one_request(self) -> None:
            self.raw_requestline = self.rfile.readline(65537)
            if self.raw_requestline:
                seen.append(self.raw_requestline.decode(errors="replace").strip())
                self.close_connection = True

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Tripwire(f"http://127.0.0.1:{server.server_port}", seen)
    finally:
        server.shutdown()
        server.server_close()


def _steering(url: str, trap: Path) -> dict[str, str]:
    """Every variable that could point a run somewhere, pointed at the tripwire."""
    values = {"API_URL": url, "API_TOKEN": "tripwire-token", "API_KEY": "tripwire-key"}
    env = {}
    for environment in ("DEV", "STAGING", "PROD"):
        for system in ("CUSTOMCRM", "INVOICED"):
            for setting, value in values.items():
                env[f"{environment}_{system}_{setting}"] = value
        env[f"{environment}_LINK_STORE_URL"] = f"sqlite:///{trap / f'{environment.lower()}-links.db'}"
    for plugin in ("TAP_CUSTOMCRM", "TAP_INVOICED", "TARGET_INVOICED", "TARGET_CUSTOMCRM"):
        for setting, value in values.items():
            env[f"{plugin}_{setting}"] = value
        env[f"{plugin}_SANDBOX"] = "false"
    for target in ("TARGET_INVOICED", "TARGET_CUSTOMCRM"):
        env[f"{target}_LINK_STORE_URL"] = f"sqlite:///{trap / 'plugin-links.db'}"
        env[f"{target}_NAMESPACE"] = "tripwire"
    return {
        **env,
        "MELTANO_ENVIRONMENT": "prod",
        "MELTANO_DATABASE_URI": f"sqlite:///{trap / 'meltano.db'}",
        "MELTANO_PROJECT_ROOT": str(trap),
        "SANDBOX_FAULT_ERROR_RATE": "1",
        "SANDBOX_INVOICED_API_KEYS": "tripwire-key",
        "SANDBOX_CUSTOMCRM_TOKENS": "tripwire-token",
    }


def test_a_dotenv_and_exported_variables_reach_no_test(tripwire: Tripwire, tmp_path: Path) -> None:
    copy, trap = tmp_path / "repository", tmp_path / "trap"
    trap.mkdir()
    shutil.copytree(REPO_ROOT, copy, ignore=NOT_COPIED, symlinks=True)
    steering = _steering(tripwire.url, trap)
    (copy / ".env").write_text("".join(f"{name}={value}\n" for name, value in steering.items()))

    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *STEERED], cwd=copy,
                          env={**os.environ, **steering}, capture_output=True, text=True, timeout=1800, check=False)

    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert " passed" in done.stdout
    assert tripwire.seen == []
    assert list(trap.iterdir()) == []  # no link store, no Meltano database where the variables pointed


def test_every_meltano_the_demo_soak_benchmarks_and_tests_start_reads_no_env_file_and_no_user_variable() -> None:
    """Where the test above cannot go (the demo, the soak and the benchmarks take minutes): every `meltano` they or the
    tests start is `meltano_command(...)` (an empty env file instead of the project's .env) with an environment that
    does not start from os.environ. (Plugins started with `--config FILE` read their settings from the file alone, and
    sandboxes start through running_sandbox, which builds their environment from scratch too.)"""
    offenders, checked = [], 0
    for folder in ("sandbox", "soak", "bench", "tests"):
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            if path == Path(__file__).resolve():
                continue  # the tripwire above hands its tests the user's environment on purpose
            for call in ast.walk(ast.parse(path.read_text(), str(path))):
                if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                        and call.func.attr in ("run", "Popen") and getattr(call.func.value, "id", "") == "subprocess"
                        and call.args and "meltano" in ast.unparse(call.args[0]).lower()):
                    continue
                checked += 1
                where = f"{path.relative_to(REPO_ROOT)}:{call.lineno}"
                env = next((keyword.value for keyword in call.keywords if keyword.arg == "env"), None)
                if "meltano_command(" not in ast.unparse(call.args[0]):
                    offenders.append(f"{where}: not meltano_command(...)")
                if env is None or "os.environ" in ast.unparse(env):
                    offenders.append(f"{where}: its environment is the user's")
    assert checked >= 8  # the check found the calls it is about
    assert offenders == []
