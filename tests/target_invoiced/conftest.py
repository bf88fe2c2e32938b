"""Both sandboxes as real processes, and the real pipeline `tap-customcrm | customcrm-invoiced-mapper |
target-invoiced` run as the three executables, with the tap's state carried from run to run."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.common.process import RunningSandbox
from tests.conftest import SandboxStarter

BIN = Path(sys.executable).parent
CUSTOMCRM_TOKEN = "target-test-crm-token-5d1f"
INVOICED_KEY = "target-test-invoiced-key-9b27"
WRITE = re.compile(r'"(POST|PATCH|DELETE) (\S+) HTTP')


@dataclass
class Run:
    returncode: int
    log: str  # the target's stderr
    summary: dict[str, Any]
    writes: list[tuple[str, str]]  # (method, path) the Invoiced sandbox served during the run
    requests: int
    plan: list[dict[str, Any]] = field(default_factory=list)  # dry runs: the plan lines

    def count(self, stream: str, outcome: str) -> int:
        return self.summary.get("streams", {}).get(stream, {}).get(outcome, 0)


class Systems:
    """The two sandboxes, their APIs, and the pipeline between them."""

    def __init__(self, customcrm: RunningSandbox, invoiced: RunningSandbox, root: Path) -> None:
        self.customcrm, self.invoiced, self.root = customcrm, invoiced, root
        self.state_path = root / "state.json"
        self.back_state_path = root / "back-state.json"
        self.target_config: dict[str, Any] = {
            "api_key": INVOICED_KEY,
            "api_url": invoiced.url,
            "link_store_url": f"sqlite:///{root / 'links.db'}",
            "namespace": "tests",
            "rejects_path": str(root / "rejects.jsonl"),
            "summary_path": str(root / "summary.json"),
            "audit_path": str(root / "audit.jsonl"),
            "max_in_flight": 4,
            "retry_wait_seconds": 0.05,
        }

    # The systems' own APIs, as a user (or another tool) would edit them.

    def crm(self, method: str, path: str, **kwargs: Any) -> Any:
        response = requests.request(method, f"{self.customcrm.url}/v1{path}", timeout=30,
                                    headers={"Authorization": f"Bearer {CUSTOMCRM_TOKEN}"}, **kwargs)
        assert response.ok, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def crm_all(self, collection: str, **params: Any) -> list[dict[str, Any]]:
        rows, cursor = [], None
        while True:
            page = self.crm("GET", f"/{collection}", params={"limit": 1000, "cursor": cursor, **params})
            rows += page["data"]
            cursor = page.get("next_cursor")
            if not cursor:
                return rows

    def inv(self, method: str, path: str, **kwargs: Any) -> Any:
        # A sandbox injecting faults hits the tests' own reads too: a patient user reads again.
        for _ in range(20):
            try:
                response = requests.request(method, self.invoiced.url + path, auth=(INVOICED_KEY, ""), timeout=30,
                                            **kwargs)
            except requests.ConnectionError:
                continue
            if method != "GET" or response.status_code not in (429, 500):
                break
        assert response.ok, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def inv_all(self, path: str, **params: Any) -> list[dict[str, Any]]:
        rows, page = [], 1
        while True:
            batch = self.inv("GET", path, params={"per_page": 100, "page": page, **params})
            rows += batch
            if len(batch) < 100:
                return rows
            page += 1

    def linked(self, path: str, customcrm_id: str, **params: Any) -> list[dict[str, Any]]:
        return self.inv_all(path, **{"metadata[customcrm_id]": customcrm_id, **params})

    # The pipeline.

    def sync(self, *, full: bool = False, expect_ok: bool = True, **target: Any) -> Run:
        """tap-customcrm | customcrm-invoiced-mapper | target-invoiced; writes counted in Invoiced's log."""
        tap_config = self._write("tap.json", {"api_url": self.customcrm.url, "api_token": CUSTOMCRM_TOKEN})
        target_config = self._write("target.json", {**self.target_config, **target})
        return self._pipeline(("tap-customcrm", tap_config), "customcrm_to_invoiced",
                              ("target-invoiced", target_config), self.state_path, self.invoiced, full=full,
                              expect_ok=expect_ok, dry=bool(target.get("dry_run")),
                              summary=Path(self.target_config["summary_path"]))

    def sync_back(self, *, full: bool = False, expect_ok: bool = True, **target: Any) -> Run:
        """The other direction, on the same link store: tap-invoiced | customcrm-invoiced-mapper | target-customcrm;
        writes counted in Customcrm's log."""
        tap_config = self._write("tap-invoiced.json", {"api_url": self.invoiced.url, "api_key": INVOICED_KEY})
        shared = {k: v for k, v in self.target_config.items() if k not in ("api_key", "api_url")}
        summary = self.root / "summary-back.json"
        target_config = self._write("target-customcrm.json", {
            **shared, "api_url": self.customcrm.url, "api_token": CUSTOMCRM_TOKEN, "summary_path": str(summary),
            **target})
        return self._pipeline(("tap-invoiced", tap_config), "invoiced_to_customcrm",
                              ("target-customcrm", target_config), self.back_state_path, self.customcrm, full=full,
                              expect_ok=expect_ok, dry=bool(target.get("dry_run")), summary=summary)

    def _pipeline(self, tap: tuple[str, str], direction: str, target: tuple[str, str], state_path: Path,
                  written: RunningSandbox, *, full: bool, expect_ok: bool, dry: bool, summary: Path) -> Run:
        mapper_config = self._write(f"mapper-{direction}.json", {"direction": direction})
        state = [] if full or not state_path.exists() else ["--state", str(state_path)]
        before = len(written.log().splitlines())
        tap_process = subprocess.Popen([BIN / tap[0], "--config", tap[1], *state], stdout=subprocess.PIPE,
                                       stderr=subprocess.DEVNULL)
        mapper = subprocess.Popen([BIN / "customcrm-invoiced-mapper", "--config", mapper_config],
                                  stdin=tap_process.stdout, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert tap_process.stdout is not None
        assert mapper.stdout is not None
        tap_process.stdout.close()
        result = subprocess.run([BIN / target[0], "--config", target[1]], stdin=mapper.stdout,
                                capture_output=True, text=True, timeout=300, check=False)
        mapper.stdout.close()
        tap_process.wait(60)
        mapper.wait(60)
        return self._finish(result, before, expect_ok=expect_ok, dry=dry, state_path=state_path, written=written,
                            summary_path=summary)

    def feed(self, lines: list[dict[str, Any]], *, expect_ok: bool = True, **target: Any) -> Run:
        """The target alone, on hand-made input (for cases the tap and mapper cannot produce)."""
        target_config = self._write("target.json", {**self.target_config, **target})
        before = len(self.invoiced.log().splitlines())
        text = "".join(json.dumps(line) + "\n" for line in lines)
        result = subprocess.run([BIN / "target-invoiced", "--config", target_config], input=text,
                                capture_output=True, text=True, timeout=300, check=False)
        return self._finish(result, before, expect_ok=expect_ok, dry=False)

    def _finish(self, result: subprocess.CompletedProcess[str], before: int, *, expect_ok: bool, dry: bool,
                state_path: Path | None = None, written: RunningSandbox | None = None,
                summary_path: Path | None = None) -> Run:
        if expect_ok:
            assert result.returncode == 0, result.stderr[-5000:]
        states = [line for line in result.stdout.splitlines() if line.startswith("{")]
        if states and state_path is not None:
            state_path.write_text(states[-1])
        served = (written or self.invoiced).log().splitlines()[before:]
        writes = [(m.group(1), m.group(2)) for line in served if (m := WRITE.search(line))]
        summary_path = summary_path or Path(self.target_config["summary_path"])
        summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
        plan = []
        if dry:
            plan = [json.loads(line) for line in result.stderr.splitlines() if line.startswith('{"stream"')]
        return Run(result.returncode, result.stderr, summary, writes, len(served), plan)

    def _write(self, name: str, config: dict[str, Any]) -> str:
        path = self.root / name
        path.write_text(json.dumps(config))
        return str(path)

    def rejects(self) -> list[dict[str, Any]]:
        path = Path(self.target_config["rejects_path"])
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def audit(self) -> list[dict[str, Any]]:
        path = Path(self.target_config["audit_path"])
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture(scope="module")
def systems(tmp_path_factory: pytest.TempPathFactory, start_sandbox: SandboxStarter) -> Iterator[Systems]:
    root = tmp_path_factory.mktemp("target-invoiced")
    with (
        start_sandbox("customcrm", "--token", CUSTOMCRM_TOKEN, "--seed-customers", "12", "--seed", "7") as crm,
        start_sandbox("invoiced", "--api-key", INVOICED_KEY, "--verbose") as invoiced,
    ):
        yield Systems(crm, invoiced, root)


from tests.sync_core.conftest import postgres_server, postgres_url  # noqa: E402, F401 -- the real PostgreSQL, shared
