"""Transport and credentials, through the real executables and `meltano run sync`: certificates are verified by
default (an untrusted one is refused, by each tap and each target, before any write), `ca_bundle` trusts a given
authority, a wrong credential stops the run before any write naming the setting to fix, and no key or token
reaches any log, state, rejects, summary or audit file."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SandboxStarter
from tests.target_invoiced.conftest import BIN, CUSTOMCRM_TOKEN, INVOICED_KEY
from tests.two_way.conftest import TARGETS, TwoWay


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that no system trusts, and its key."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return _self_signed(tmp_path_factory.mktemp("tls"))


class HttpsTwoWay(TwoWay):
    """The tests' own reads and edits trust the certificate; the plugins only through `ca_bundle`."""

    cert: Path

    def crm(self, method: str, path: str, **kwargs: Any) -> Any:
        return super().crm(method, path, verify=str(self.cert), **kwargs)

    def inv(self, method: str, path: str, **kwargs: Any) -> Any:
        return super().inv(method, path, verify=str(self.cert), **kwargs)


@pytest.fixture(scope="module")
def systems(tmp_path_factory: pytest.TempPathFactory, start_sandbox: SandboxStarter, meltano_root: Path,
            cert: tuple[Path, Path]) -> Iterator[TwoWay]:
    """Both sandboxes serving HTTPS with a self-signed certificate."""
    tls = ("--tls-cert", str(cert[0]), "--tls-key", str(cert[1]))
    root = tmp_path_factory.mktemp("transport")
    with (
        start_sandbox("customcrm", "--token", CUSTOMCRM_TOKEN, "--verbose", "--seed-customers", "6", "--seed", "3",
                      *tls) as crm,
        start_sandbox("invoiced", "--api-key", INVOICED_KEY, "--verbose", "--seed-customers", "3", "--seed", "4",
                      *tls) as invoiced,
    ):
        systems = HttpsTwoWay(crm, invoiced, root, meltano_root)
        systems.cert = cert[0]
        yield systems


def _tap(systems: TwoWay, tap: str, **config: str) -> subprocess.CompletedProcess[str]:
    url, secret = ((systems.customcrm.url, {"api_token": CUSTOMCRM_TOKEN}) if tap == "tap-customcrm"
                   else (systems.invoiced.url, {"api_key": INVOICED_KEY}))
    configs = systems.root.with_name(f"{systems.root.name}-configs")  # the config holds the secret, by design
    configs.mkdir(exist_ok=True)
    path = configs / f"{tap}.json"
    path.write_text(json.dumps({"api_url": url, **secret, "retry_wait_seconds": 0, **config}))
    return subprocess.run([BIN / tap, "--config", str(path)], capture_output=True, text=True, timeout=300,
                          check=False)


def _records(output: str) -> int:
    return sum(1 for line in output.splitlines() if line.startswith('{"type":"RECORD"') or '"RECORD"' in line[:30])


@pytest.mark.parametrize("tap", ["tap-customcrm", "tap-invoiced"])
def test_a_tap_refuses_an_untrusted_certificate_and_trusts_the_ca_bundle(systems: TwoWay, tap: str,
                                                                         cert: tuple[Path, Path]) -> None:
    refused = _tap(systems, tap)
    assert refused.returncode == 1
    assert _records(refused.stdout) == 0
    assert "CERTIFICATE_VERIFY_FAILED" in refused.stderr
    assert "set ca_bundle" in refused.stderr
    assert refused.stderr.count("retry ") == 0  # no retry can change a certificate

    trusted = _tap(systems, tap, ca_bundle=str(cert[0]))
    assert trusted.returncode == 0, trusted.stderr[-3000:]
    assert _records(trusted.stdout) > 0

    missing = _tap(systems, tap, ca_bundle=str(systems.root / "no-such.pem"))
    assert missing.returncode == 1
    assert "is not a file: set ca_bundle" in missing.stderr
    assert "Traceback" not in missing.stderr


def _ca_bundle_env(cert: Path, *plugins: str) -> dict[str, str]:
    return {f"{plugin.upper().replace('-', '_')}_CA_BUNDLE": str(cert) for plugin in plugins}


def test_the_targets_refuse_an_untrusted_certificate_before_any_write(systems: TwoWay,
                                                                      cert: tuple[Path, Path]) -> None:
    taps_only = _ca_bundle_env(cert[0], "tap-customcrm", "tap-invoiced")
    refused = systems.run(expect_ok=False, env=taps_only)
    assert refused.returncode != 0
    assert refused.writes == []
    assert "set ca_bundle to that authority's PEM file" in refused.log

    # target-customcrm alone (the way back) refuses as well.
    back = systems.meltano("run", "invoiced-to-customcrm", expect_ok=False,
                           env={**taps_only, **_ca_bundle_env(cert[0], "target-invoiced")})
    assert back.returncode != 0
    assert "set ca_bundle to that authority's PEM file" in back.stderr
    assert len(systems.crm_all("customers")) == 6  # Invoiced's 3 companies were not created in Customcrm


def test_with_ca_bundle_everywhere_the_sync_runs_over_https(systems: TwoWay, cert: tuple[Path, Path]) -> None:
    trusted = _ca_bundle_env(cert[0], "tap-customcrm", "tap-invoiced", *TARGETS)
    systems.env.update(trusted)  # the rest of the module runs over verified HTTPS
    run = systems.run()
    assert run.total("created") > 0
    systems.assert_no_duplicates()


def test_a_wrong_invoiced_key_stops_before_any_write_naming_the_setting(systems: TwoWay) -> None:
    crm = systems.crm_all("customers")[0]
    systems.crm("PATCH", f"/customers/{crm['id']}", json={"phone": "+47 400 11 111"})
    wrong = "wrong-invoiced-key-3c1d"
    run = systems.run(expect_ok=False, env={"DEV_INVOICED_API_KEY": wrong})
    assert run.returncode != 0
    assert run.writes == []
    assert "401" in run.log
    assert "check api_key" in run.log
    assert wrong not in run.log


def test_a_wrong_customcrm_token_stops_before_any_write_naming_the_setting(systems: TwoWay) -> None:
    company = systems.companies()[0]
    systems.inv("PATCH", f"/customers/{company['id']}", json={"phone": "+47 400 22 222"})
    wrong = "wrong-customcrm-token-77aa"
    # The way back alone, so tap-customcrm (which would stop first) is not in the run.
    result = systems.meltano("run", "invoiced-to-customcrm", expect_ok=False,
                             env={"TARGET_CUSTOMCRM_API_TOKEN": wrong})
    assert result.returncode != 0
    assert "check the api_token setting" in result.stderr
    assert wrong not in result.stdout + result.stderr
    assert all(c.get("phone") != "+47 400 22 222" for c in systems.crm_all("customers"))


class _Redirecting(BaseHTTPRequestHandler):
    """An API root that has moved: every request is answered with a redirect to another address."""

    def do_GET(self) -> None:  # http.server's name for it
        self.send_response(301)
        self.send_header("Location", "https://api.example.invalid" + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


def test_an_api_url_that_redirects_stops_the_target_naming_where_and_the_setting(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirecting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = tmp_path / "config.json"
        config.write_text(json.dumps({"api_key": INVOICED_KEY, "api_url": f"http://127.0.0.1:{server.server_port}",
                                      "link_store_url": f"sqlite:///{tmp_path / 'links.db'}",
                                      "summary_path": str(tmp_path / "summary.json")}))
        line = {"type": "SCHEMA", "stream": "customers", "key_properties": [],
                "schema": {"type": "object", "properties": {"name": {"type": "string"}}}}
        record = {"type": "RECORD", "stream": "customers",
                  "record": {"_source": {"system": "customcrm", "id": "cus_1"}, "name": "Fjord AS"}}
        run = subprocess.run([str(BIN / "target-invoiced"), "--config", str(config)], check=False, text=True,
                             input=f"{json.dumps(line)}\n{json.dumps(record)}\n", capture_output=True, timeout=120)
    finally:
        server.shutdown()
    assert run.returncode != 0
    assert "GET /customers -> 301, a redirect to https://api.example.invalid/customers" in run.stderr
    assert "set api_url" in run.stderr
    assert INVOICED_KEY not in run.stderr


def test_no_secret_in_any_file_a_run_leaves(systems: TwoWay, meltano_root: Path) -> None:
    # A run that carries an edit and leaves a summary, an audit trail and a link store to search.
    systems.run()
    files = [path for path in systems.root.rglob("*") if path.is_file()]
    # Meltano's own logs too; not its run/ folder, where Meltano writes each plugin's config (the key with it) for the
    # plugin to read, as a user's --config file would hold it, and which a killed run may leave behind.
    files += [path for path in meltano_root.rglob("logs/**/*") if path.is_file()]
    assert any(path.name.endswith("summary.json") for path in files)
    assert any(path.name == "links.db" for path in files)
    for path in files:
        content = path.read_bytes()
        for secret in (INVOICED_KEY, CUSTOMCRM_TOKEN):
            assert secret.encode() not in content, f"{secret[:6]}… is in {path}"
