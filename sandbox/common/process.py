"""Start a sandbox as a real process on loopback, for the tests, the benchmarks and the demo; find a plugin process
below a given run (for the tests and the soak that kill one)."""

from __future__ import annotations

import contextlib
import os
import selectors
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sandbox.common.meltano import clean_environment

REPO_ROOT = Path(__file__).resolve().parents[2]
LISTENING = "listening on "


@dataclass
class RunningSandbox:
    url: str
    process: subprocess.Popen[str]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def running_sandbox(
    system: str, *args: str, env: dict[str, str] | None = None, timeout: float = 30.0
) -> Iterator[RunningSandbox]:
    """Run `python -m sandbox.<system> --port 0 ARGS` and yield its URL once it listens."""
    with tempfile.NamedTemporaryFile("w+", prefix=f"sandbox-{system}-", suffix=".log", delete=False) as log:
        log_path = Path(log.name)
    command = [sys.executable, "-m", f"sandbox.{system}", "--host", "127.0.0.1", "--port", "0", *args]
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=clean_environment({**(env or {}), "PYTHONUNBUFFERED": "1"}),  # no SANDBOX_* of the user's
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
        )
    try:
        url = _await_url(process, log_path, timeout)
        yield RunningSandbox(url=url, process=process, log_path=log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()
        log_path.unlink(missing_ok=True)


def _await_url(process: subprocess.Popen[str], log_path: Path, timeout: float) -> str:
    assert process.stdout is not None
    # Seeding happens before the server listens, so the first line may take a while at scale.
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    if not selector.select(timeout):
        msg = f"sandbox did not start within {timeout}s; its log:\n{log_path.read_text()}"
        raise RuntimeError(msg)
    line = process.stdout.readline()
    if not line.startswith(LISTENING):
        process.wait(timeout=5)
        msg = f"sandbox failed to start (exit {process.returncode}); its log:\n{log_path.read_text()}"
        raise RuntimeError(msg)
    return line[len(LISTENING) :].strip()


def _parent_of(pid: str) -> str | None:
    try:
        # The command name in field 2 is in parentheses and may hold spaces: the fields after its last ")" count.
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
    except (OSError, IndexError):
        return None


def pid_below(executable: str, ancestor: int) -> int | None:
    """The process running `executable` below `ancestor` (never another user's run of the same plugin)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if not any(arg.decode(errors="replace").endswith(f"/{executable}") for arg in argv[:2]):
            continue
        pid: str | None = entry
        while pid not in (None, "0", "1"):
            if pid == str(ancestor):
                return int(entry)
            pid = _parent_of(pid)
    return None
