"""The `tap-invoiced` executable: discovery, --about, and clear failures for bad keys and bad settings."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sync_core.http.invoiced import PRODUCTION_URL, SANDBOX_URL, base_url

from tests.tap_invoiced.conftest import KEY, STREAMS, InvoicedApi, tap_config

EXECUTABLE = str(Path(sys.executable).with_name("tap-invoiced"))
README = Path(__file__).resolve().parents[2] / "tap-invoiced" / "README.md"


def run_tap(tmp_path: Path, config: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    command = [EXECUTABLE, "--config", str(config_file), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_wrong_key_fails_clearly_without_showing_the_key(seeded: InvoicedApi, tmp_path: Path) -> None:
    wrong_key = "sk_live_WRONG9f8e7d6c5b4a"
    done = run_tap(tmp_path, {**tap_config(seeded.url), "api_key": wrong_key})

    assert done.returncode != 0
    # The request that failed, by its path only (a look-up's query holds an e-mail), then what Invoiced said.
    said = r"GET /\w+ -> 401 invalid_request: We could not authenticate you with the API Key"
    assert re.search(said, done.stderr)
    assert not re.search(r"GET /\S*\?", done.stderr)
    assert "check api_key" in done.stderr
    assert wrong_key not in done.stdout + done.stderr


def final_line(done: subprocess.CompletedProcess[str]) -> str:
    """The run's last word, without the log line's prefix; it must come without a traceback."""
    assert "Traceback" not in done.stderr
    return done.stderr.strip().splitlines()[-1].rsplit(" | ", 1)[-1]


def test_an_unreachable_service_fails_naming_the_request_the_cause_and_the_setting(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = run_tap(tmp_path, tap_config(f"http://127.0.0.1:{port}", max_retries=1))

    assert done.returncode != 0
    said = (
        r"GET /\w+: ConnectionError \(Connection refused\) "
        r"-- could not reach Invoiced: check api_url \(or sandbox\) and that the service is reachable"
    )
    assert re.fullmatch(said, final_line(done)), final_line(done)
    assert KEY not in done.stdout + done.stderr


def test_a_service_slower_than_request_timeout_fails_saying_which_setting_to_raise(
    start_sandbox: Callable[..., Any], tmp_path: Path
) -> None:
    with start_sandbox("invoiced", "--api-key", KEY, "--fault-latency-ms", "2500") as slow:
        done = run_tap(tmp_path, tap_config(slow.url, request_timeout=1, max_retries=1))

    assert done.returncode != 0
    said = (
        r"GET /\w+: ReadTimeout \(timed out\) "
        r"-- no answer in time: Invoiced is slow or stuck; raise request_timeout"
    )
    assert re.fullmatch(said, final_line(done)), final_line(done)
    assert KEY not in done.stdout + done.stderr


def test_sync_as_an_executable_writes_records_and_state(seeded: InvoicedApi, tmp_path: Path) -> None:
    done = run_tap(tmp_path, tap_config(seeded.url))

    assert done.returncode == 0, done.stderr
    messages = [json.loads(line) for line in done.stdout.splitlines()]
    assert {m["stream"] for m in messages if m["type"] == "RECORD"} == set(STREAMS)
    assert set(messages[-1]["value"]["bookmarks"]) == set(STREAMS)
    assert "sk_test" not in done.stdout + done.stderr


def test_discover_lists_the_streams(seeded: InvoicedApi, tmp_path: Path) -> None:
    done = run_tap(tmp_path, tap_config(seeded.url), "--discover")

    assert done.returncode == 0, done.stderr
    catalog = {entry["tap_stream_id"]: entry for entry in json.loads(done.stdout)["streams"]}
    assert set(catalog) == set(STREAMS)
    assert all(entry["key_properties"] == ["id"] for entry in catalog.values())
    invoice_schema = catalog["invoices"]["schema"]["properties"]
    assert invoice_schema["deleted_at"]["format"] == "date-time"
    unit_cost = invoice_schema["items"]["items"]["properties"]["unit_cost"]
    assert (unit_cost["type"], unit_cost["format"]) == (["string", "null"], "x-singer.decimal")
    assert unit_cost["description"]


def test_about_as_markdown_is_current_in_the_readme() -> None:
    done = subprocess.run([EXECUTABLE, "--about", "--format=markdown"], capture_output=True, text=True, check=False)

    assert done.returncode == 0, done.stderr
    for setting in ("api_key", "sandbox", "api_url", "start_date", "per_page", "request_timeout", "max_retries"):
        assert f"| {setting} |" in done.stdout
    assert "| api_key | True |" in done.stdout
    assert "Items have no change filter" in done.stdout
    # The README nests the output one heading level down, under its own "## `tap-invoiced --about ...`".
    nested = re.sub(r"^#", "##", done.stdout.strip(), flags=re.MULTILINE)
    assert nested in README.read_text(), "README is stale: paste `tap-invoiced --about --format=markdown`"


def test_a_mistyped_key_is_refused_without_showing_it(tmp_path: Path) -> None:
    done = run_tap(tmp_path, {"api_key": 98765432101234, "api_url": "http://127.0.0.1:9"})

    assert done.returncode != 0
    assert "config['api_key'] must be a non-empty string" in done.stderr
    assert "98765432101234" not in done.stdout + done.stderr


def test_sandbox_must_be_a_real_boolean(tmp_path: Path) -> None:
    done = run_tap(tmp_path, {"api_key": "k", "sandbox": "false"})

    assert done.returncode != 0
    assert "'false' is not of type 'boolean'" in done.stderr
    assert "config['sandbox']" in done.stderr


@pytest.mark.parametrize(
    ("config", "url"),
    [
        ({"sandbox": True}, SANDBOX_URL),
        ({"sandbox": False}, PRODUCTION_URL),
        ({}, PRODUCTION_URL),
        ({"sandbox": True, "api_url": "http://127.0.0.1:8080/"}, "http://127.0.0.1:8080"),
    ],
)
def test_base_url_follows_the_settings(config: dict[str, Any], url: str) -> None:
    assert base_url(config) == url
