"""What the benchmarks share: the plugin executables run as child processes with their own rusage, the requests a
sandbox served (from its --verbose log), and each benchmark's figures written as JSON for run_all.py."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote

from sandbox.common.meltano import clean_environment

REPO = Path(__file__).resolve().parents[1]
CRM_TOKEN = "bench-customcrm-token"
INV_KEY = "bench-invoiced-key"
# A --verbose sandbox logs `127.0.0.1 "POST /customers HTTP/1.1" 201 -` per request.
SERVED = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3}) ')
WRITES = frozenset({"POST", "PATCH", "PUT", "DELETE"})


# Runs a plugin's module as `python -m` would, with numpy unimportable. This repository's .venv has numpy for the
# benchmark's charts (matplotlib); a plugin's own venv has none. joblib, which the Singer SDK imports, imports numpy
# whenever it can (0.13 s a process here), so without this every figure would carry a start-up no user pays.
_LAUNCH = "import runpy, sys; sys.modules['numpy'] = None; sys.argv = sys.argv[1:]; " \
          "runpy.run_module(sys.argv[0], run_name='__main__', alter_sys=True)"


def plugin(executable: str, *args: str | Path) -> list[str | Path]:
    """The command that runs a plugin: its package run as `python -m` would, the same entry point as its executable,
    in this interpreter without numpy (see _LAUNCH).

    Not the executable itself: the kill tests (tests/*/test_recovery.py, soak/) find their victim as any process on
    the machine whose command line ends in `/target-customcrm` and the like, so a benchmark running beside them
    would lose its own processes to them."""
    return [sys.executable, "-c", _LAUNCH, executable.replace("-", "_"), *args]


def _program(command: list[str | Path]) -> str:
    return str(command[3]).replace("_", "-") if command[1:2] == ["-c"] else Path(command[0]).name


@dataclass(frozen=True)
class Usage:
    """One child process: its CPU (user + system) and peak resident memory, from the kernel's rusage."""

    program: str
    cpu_seconds: float
    peak_rss_mib: float


@dataclass(frozen=True)
class Served:
    """The requests a sandbox answered in a stretch of its log."""

    reads: int
    writes: int
    rate_limited: int  # answered 429
    kinds: dict[str, int]  # requests per kind: method and path, ids and query values left out

    @property
    def requests(self) -> int:
        return self.reads + self.writes


def served(log: str, since: int = 0) -> tuple[Served, int]:
    """What the log says was served after its first `since` request lines, and the new line count."""
    lines = [m for line in log.splitlines() if (m := SERVED.search(line))]
    new = lines[since:]
    writes = sum(1 for m in new if m["method"] in WRITES)
    limited = sum(1 for m in new if m["status"] == "429")
    kinds = Counter(f"{m['method']} {_kind(m['path'])}" for m in new)
    return Served(len(new) - writes, writes, limited, dict(kinds.most_common())), len(lines)


def _kind(path: str) -> str:
    """`/customers/12?page=3&per_page=100` -> `/customers/{id}?page&per_page`."""
    route, _, query = path.partition("?")
    route = re.sub(r"/(\d+|[a-z]+_\w*\d\w*)(?=/|$)", "/{id}", route)
    names = sorted({unquote(pair.partition("=")[0]) for pair in query.split("&") if pair})
    return route + ("?" + "&".join(names) if names else "")


def served_requests(log: str) -> list[tuple[str, str]]:
    """(method, path) of every request in the log, in order."""
    return [(m["method"], m["path"]) for line in log.splitlines() if (m := SERVED.search(line))]


def run_pipeline(commands: list[list[str | Path]], stdin: IO[Any] | int | None = subprocess.DEVNULL,
                 stdout: IO[Any] | int | None = subprocess.DEVNULL) -> tuple[float, list[Usage]]:
    """Run `a | b | c`, wait for each with os.wait4 (its own CPU and peak RSS), fail if any exits non-zero.

    Returns the pipeline's wall seconds and each process's usage, in order."""
    started = time.perf_counter()
    processes: list[subprocess.Popen[bytes]] = []
    with ExitStack() as stack:  # logs in files, not pipes: a chatty process never blocks on them
        logs = [stack.enter_context(tempfile.TemporaryFile()) for _ in commands]
        for n, command in enumerate(commands):
            last = n == len(commands) - 1
            source = processes[-1].stdout if processes else stdin
            processes.append(subprocess.Popen([str(part) for part in command], stdin=source, env=clean_environment(),
                                              stdout=stdout if last else subprocess.PIPE, stderr=logs[n]))
            if source is not None and not isinstance(source, int) and processes[:-1]:
                source.close()  # the next process holds it now; the earlier one sees SIGPIPE if it dies
        usages, failures = [], []
        for process, command, log in zip(processes, commands, logs, strict=True):
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
            if process.returncode != 0:
                log.seek(0)
                tail = log.read().decode(errors="replace")[-1500:]
                failures.append(f"{_program(command)} exited with {process.returncode}:\n{tail}")
            usages.append(Usage(_program(command), usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024))
    if failures:  # all of them: when a later process dies, the earlier ones fail on a broken pipe
        raise RuntimeError("\n".join(failures))
    return time.perf_counter() - started, usages


def write_config(folder: Path, name: str, settings: dict[str, Any]) -> Path:
    path = folder / f"{name}.json"
    path.write_text(json.dumps(settings))
    return path


def tap_invoiced_catalog(config: Path, folder: Path) -> Path:
    """The catalog meltano.yml selects for the sync (customers, invoices, items): contacts cost one request per
    customer and the mapper drops them."""
    discovered = subprocess.run([str(part) for part in plugin("tap-invoiced", "--config", config, "--discover")],
                                capture_output=True, check=True).stdout
    catalog = json.loads(discovered)
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = stream["tap_stream_id"] in {"customers", "invoices", "items"}
    path = folder / "tap-invoiced-catalog.json"
    path.write_text(json.dumps(catalog))
    return path


def last_state(target_output: Path) -> dict[str, Any] | None:
    """The last state a target wrote (a Singer SDK target writes each state as a bare JSON line): the bookmarks its
    tap starts from next time, as Meltano keeps them."""
    state = None
    with target_output.open() as lines:
        for line in lines:
            if line.strip():
                message = json.loads(line)
                state = message["value"] if message.get("type") == "STATE" else message
    return state


def count_records(singer_messages: Path) -> int:
    with singer_messages.open() as lines:
        return sum(1 for line in lines if json.loads(line).get("type") == "RECORD")


def save_figures(path: str | None, figures: dict[str, Any]) -> None:
    """Write a benchmark's figures for run_all.py (which gathers them into bench/results/latest.json)."""
    if path:
        Path(path).write_text(json.dumps(figures, indent=2, default=_plain))


def _plain(value: object) -> object:
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)  # type: ignore[arg-type]
    msg = f"not JSON: {value!r}"
    raise TypeError(msg)
