"""Fixtures for the mapping layer's tests: the flows as loaded by the mapper, and the mapper as a real executable."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from customcrm_invoiced_mapper.spec import Flow, load_flows

MAPPER = Path(sys.executable).parent / "customcrm-invoiced-mapper"

RunMapper = Callable[..., tuple[list[dict[str, Any]], str]]


@pytest.fixture(scope="session")
def flows() -> dict[str, Flow]:
    return {flow.name: flow for flow in load_flows()}


@pytest.fixture
def run_mapper(tmp_path: Path) -> RunMapper:
    """Pipe Singer messages through the installed mapper; returns its output messages and its log (stderr)."""

    def run(direction: str, messages: list[dict[str, Any]] | str, *, timezone: str = "UTC", check: bool = True):
        config = tmp_path / f"{direction}.json"
        config.write_text(json.dumps({"direction": direction, "business_timezone": timezone}))
        lines = messages if isinstance(messages, str) else "".join(json.dumps(m) + "\n" for m in messages)
        done = subprocess.run(
            [str(MAPPER), "--config", str(config)], input=lines, capture_output=True, text=True, timeout=120,
            check=False,
        )
        if check:
            assert done.returncode == 0, done.stderr
        return [json.loads(line, parse_float=Decimal) for line in done.stdout.splitlines() if line.strip()], done.stderr

    return run
