"""Both sandboxes' command line: flags explain their units and ranges, and a taken port is one clear line."""

from __future__ import annotations

import subprocess
import sys
from urllib.parse import urlparse

import pytest
import requests

from tests.conftest import SandboxStarter


@pytest.mark.parametrize("system", ["customcrm", "invoiced"])
def test_help_gives_each_fault_flag_its_unit_and_range(system: str) -> None:
    done = subprocess.run([sys.executable, "-m", f"sandbox.{system}", "--help"], capture_output=True, text=True,
                          check=True)
    text = " ".join(done.stdout.split())
    assert "--fault-latency-ms MS milliseconds" in text
    for flag in ("error-rate", "rate-limit-rate", "drop-rate", "ambiguous-write-rate", "headers-only-rate"):
        assert f"--fault-{flag} SHARE share of" in text
    assert text.count("0 to 1") == 5
    assert "$SANDBOX_FAULT_SEED" in text


@pytest.mark.parametrize("system", ["customcrm", "invoiced"])
def test_a_port_already_taken_is_one_line_naming_it(system: str, start_sandbox: SandboxStarter) -> None:
    with start_sandbox("customcrm", "--token", "cli-test-token") as running:
        port = str(urlparse(running.url).port)
        flag = "--token" if system == "customcrm" else "--api-key"
        done = subprocess.run([sys.executable, "-m", f"sandbox.{system}", flag, "secret", "--port", port],
                              capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use (use another --port, or 0 for a free one)"]


def test_the_seed_scale_flags_set_each_count(start_sandbox: SandboxStarter) -> None:
    token = "seed-test-token"
    with start_sandbox("customcrm", "--token", token, "--seed-customers", "12", "--seed-users", "2",
                       "--seed-products", "7", "--seed-orders", "30") as running:
        counts = {}
        for entity in ("customers", "users", "products", "orders"):
            answer = requests.get(f"{running.url}/v1/{entity}", params={"limit": 100},
                                  headers={"Authorization": f"Bearer {token}"}, timeout=10)
            counts[entity] = len(answer.json()["data"])
    assert counts == {"customers": 12, "users": 2, "products": 7, "orders": 30}


def test_a_seed_scale_below_one_is_refused() -> None:
    done = subprocess.run([sys.executable, "-m", "sandbox.customcrm", "--token", "t", "--seed-orders", "0"],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 2
    assert "--seed-orders: must be at least 1, got 0" in done.stderr
