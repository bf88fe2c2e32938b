"""The `tap-customcrm` executable: a wrong token fails clearly, discovery and --about work, the README is current."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tap_customcrm.conftest import TOKEN, CrmApi, tap_config

TAP = str(Path(sys.executable).with_name("tap-customcrm"))
README = Path(__file__).resolve().parents[2] / "tap-customcrm" / "README.md"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TAP, *args], capture_output=True, text=True, timeout=120, check=False)


def test_a_wrong_token_exits_non_zero_with_a_message_that_says_what_to_fix(crm: CrmApi, tmp_path: Path) -> None:
    wrong = "wrong-token-d41d8cd98f00"
    config = tmp_path / "config.json"
    config.write_text(json.dumps(tap_config(crm.url, api_token=wrong)))

    run = _run("--config", str(config))

    assert run.returncode != 0
    assert "GET /v1/users -> 401 unauthorized" in run.stderr  # the first stream read: users, parents first
    assert "check the api_token setting" in run.stderr
    assert wrong not in run.stdout + run.stderr
    assert not [line for line in run.stdout.splitlines() if '"RECORD"' in line]


def test_an_unreachable_service_exits_non_zero_naming_the_request_the_cause_and_the_setting(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "config.json"
    config.write_text(json.dumps(tap_config(f"http://127.0.0.1:{port}", max_retries=1)))

    run = _run("--config", str(config))

    assert run.returncode == 1
    assert "Traceback" not in run.stderr  # the one-line cause, not the SDK's stack
    final = run.stderr.strip().splitlines()[-1].rsplit(" | ", 1)[-1]
    assert final == (
        "GET /v1/users: ConnectionError (Connection refused) "
        "-- could not reach the service: check api_url and that it is reachable"
    )
    assert TOKEN not in run.stdout + run.stderr


def test_a_mistyped_token_is_refused_without_printing_it(tmp_path: Path) -> None:
    # The SDK's own message would quote the value: "12345678987 is not of type 'string' in config['api_token']".
    config = tmp_path / "config.json"
    config.write_text(json.dumps(tap_config("http://127.0.0.1:9", api_token=12345678987)))

    run = _run("--config", str(config))

    assert run.returncode != 0
    assert "config['api_token'] must be a non-empty string; the value is secret, so it is not shown" in run.stderr
    assert "12345678987" not in run.stdout + run.stderr


def test_an_api_url_without_http_scheme_is_refused_before_any_request_naming_the_setting(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(tap_config("crm.example.com")))

    run = _run("--config", str(config))

    assert run.returncode != 0
    assert ("config['api_url'] is 'crm.example.com', not an http(s) URL: write the service's root, e.g. "
            "https://crm.example.com") in run.stderr
    assert TOKEN not in run.stdout + run.stderr


def test_discover_lists_the_four_incremental_streams_without_the_token(crm: CrmApi, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(tap_config(crm.url)))

    run = _run("--config", str(config), "--discover")

    assert run.returncode == 0, run.stderr
    catalog = json.loads(run.stdout)
    entries = {entry["tap_stream_id"]: entry for entry in catalog["streams"]}
    assert sorted(entries) == ["customers", "orders", "products", "users"]
    for entry in entries.values():
        assert entry["key_properties"] == ["id"]
        assert entry["replication_key"] == "updated_at"
        assert entry["replication_method"] == "INCREMENTAL"
        assert entry["schema"]["properties"]["deleted_at"]["type"] == ["string", "null"]
    line = entries["orders"]["schema"]["properties"]["lines"]["items"]["properties"]["unit_price"]
    assert line == {**line, "type": ["string"], "format": "x-singer.decimal", "maxLength": len("-1234567890123.45")}
    assert TOKEN not in run.stdout + run.stderr


def test_about_markdown_lists_the_settings_and_is_pasted_in_the_readme() -> None:
    run = _run("--about", "--format=markdown")

    assert run.returncode == 0, run.stderr
    for setting in ("api_url", "api_token", "start_date", "page_size", "request_timeout", "max_retries", "user_agent"):
        assert f"| {setting} |" in run.stdout
    assert run.stdout.strip() in README.read_text(), "README is stale: paste `tap-customcrm --about --format=markdown`"


@pytest.mark.parametrize(("tap", "credentials"), [("tap-customcrm", {"api_token": "t"}), ("tap-invoiced",
                                                                                         {"api_key": "k"})])
def test_either_tap_refuses_a_start_date_that_is_no_date_before_any_request(
        tap: str, credentials: dict[str, str], tmp_path: Path) -> None:
    # Nothing listens on port 9: a request would fail differently (at once: no retries).
    for start_date, accepted in (("yesterday", False), ("01/02/2026", False), ("2026-13-01", False),
                                 ("2026-01-31", True), ("2026-01-31T00:00:00Z", True)):
        config = tmp_path / "config.json"
        config.write_text(json.dumps({"api_url": "http://127.0.0.1:9", **credentials, "start_date": start_date,
                                      "max_retries": 0}))
        run = subprocess.run([str(Path(sys.executable).with_name(tap)), "--config", str(config)],
                             capture_output=True, text=True, timeout=120, check=False)
        assert run.returncode != 0
        refused = f"config['start_date'] is {start_date!r}, not an ISO 8601 date and time" in run.stderr
        assert refused is not accepted, run.stderr[-2000:]
        if not accepted:
            assert "Traceback" not in run.stderr
            assert "127.0.0.1:9" not in run.stderr  # refused before the first request

