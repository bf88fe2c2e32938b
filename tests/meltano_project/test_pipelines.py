"""The Meltano project as a user runs it: `meltano install`, then `meltano run` of both pipelines.

Meltano's own files (plugin venvs, the state database) go to the session's temporary MELTANO_SYS_DIR_ROOT, so the
test neither needs nor disturbs a developer's `.meltano/`, and Meltano runs with an environment built from scratch.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.common.meltano import clean_environment, meltano_command
from sandbox.common.process import REPO_ROOT
from tests.conftest import SandboxStarter

INVOICED_KEY = "meltano-test-invoiced-key-3f9a"
CUSTOMCRM_TOKEN = "meltano-test-customcrm-token-81c2"


class Project:
    def __init__(self, env: dict[str, str], root: Path, customcrm_url: str, invoiced_url: str) -> None:
        self.env, self.root = env, root
        self.customcrm_url, self.invoiced_url = customcrm_url, invoiced_url

    def meltano(
        self, *args: str, output: Path | None = None, env: dict[str, str] | None = None, succeed: bool = True
    ) -> subprocess.CompletedProcess[str]:
        env = {**self.env, **(env or {})}
        if output is not None:
            env["TARGET_JSONL_DESTINATION_PATH"] = str(output)
        result = subprocess.run(
            meltano_command(*args), cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
            input="",
        )
        if succeed:
            assert result.returncode == 0, f"meltano {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        for secret in (INVOICED_KEY, CUSTOMCRM_TOKEN):
            assert secret not in result.stdout + result.stderr
        return result

    def crm(self, method: str, path: str, **kwargs: Any) -> Any:
        response = requests.request(
            method, self.customcrm_url + path, headers={"Authorization": f"Bearer {CUSTOMCRM_TOKEN}"},
            timeout=30, **kwargs,
        )
        response.raise_for_status()
        return response.json()

    def invoiced(self, method: str, path: str, **kwargs: Any) -> Any:
        response = requests.request(
            method, self.invoiced_url + path, auth=(INVOICED_KEY, ""), timeout=30, **kwargs
        )
        response.raise_for_status()
        return response.json()


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, start_sandbox: SandboxStarter,
            meltano_root: Path) -> Iterator[Project]:
    root = tmp_path_factory.mktemp("meltano")
    seed = ["--seed-customers", "15", "--seed", "3"]
    with (
        start_sandbox("customcrm", "--token", CUSTOMCRM_TOKEN, *seed) as customcrm,
        start_sandbox("invoiced", "--api-key", INVOICED_KEY, *seed) as invoiced,
    ):
        env = clean_environment({
            "MELTANO_SYS_DIR_ROOT": str(meltano_root),
            "MELTANO_DATABASE_URI": f"sqlite:///{root / 'meltano.db'}",
            "TAP_CUSTOMCRM_API_URL": customcrm.url,
            "TAP_CUSTOMCRM_API_TOKEN": CUSTOMCRM_TOKEN,
            "TAP_INVOICED_API_URL": invoiced.url,
            "TAP_INVOICED_API_KEY": INVOICED_KEY,
        })
        yield Project(env, root, customcrm.url, invoiced.url)


def test_discover_through_meltano_lists_every_stream(project: Project) -> None:
    for tap, streams in (
        ("tap-customcrm", {"customers", "products", "orders", "users"}),
        ("tap-invoiced", {"customers", "contacts", "invoices", "items"}),
    ):
        catalog = json.loads(project.meltano("invoke", tap, "--discover").stdout)
        assert {entry["tap_stream_id"] for entry in catalog["streams"]} == streams


def test_customcrm_to_invoiced_pipeline_runs_incrementally(project: Project) -> None:
    output = project.root / "to-invoiced"
    project.meltano("run", "tap-customcrm", "to-invoiced", "target-jsonl", output=output)

    orders = project.crm("GET", "/v1/orders", params={"limit": 1000})["data"]
    invoices = read_jsonl(output / "invoices.jsonl")
    assert sorted(i["metadata"]["customcrm_id"] for i in invoices) == sorted(o["id"] for o in orders)
    assert {i["_source"]["system"] for i in invoices} == {"customcrm"}
    assert len(read_jsonl(output / "customers.jsonl")) == len(project.crm("GET", "/v1/customers")["data"])

    state = json.loads(project.meltano("state", "get", "dev:tap-customcrm-to-target-jsonl").stdout)
    assert set(state["singer_state"]["bookmarks"]) == {"customers", "products", "orders", "users"}

    # The second run reads from Meltano's stored state: only the one edited order comes again.
    order = orders[0]
    project.crm("PATCH", f"/v1/orders/{order['id']}", json={"purchase_order": "PO-EDITED-1"})
    project.meltano("run", "tap-customcrm", "to-invoiced", "target-jsonl", output=output)
    again = read_jsonl(output / "invoices.jsonl")[len(invoices) :]
    assert [(i["metadata"]["customcrm_id"], i["purchase_order"]) for i in again] == [(order["id"], "PO-EDITED-1")]
    assert len(read_jsonl(output / "customers.jsonl")) == len(project.crm("GET", "/v1/customers")["data"])


def test_invoiced_to_customcrm_pipeline_runs_incrementally(project: Project) -> None:
    output = project.root / "to-customcrm"
    project.meltano("run", "tap-invoiced", "to-customcrm", "target-jsonl", output=output)

    companies = [c for c in project.invoiced("GET", "/customers") if c["type"] == "company"]
    customers = read_jsonl(output / "customers.jsonl")
    assert sorted(c["external_ids"]["invoiced"] for c in customers) == sorted(str(c["id"]) for c in companies)

    customer = companies[0]
    project.invoiced("PATCH", f"/customers/{customer['id']}", json={"phone": "+47 555 12 345"})
    project.meltano("run", "tap-invoiced", "to-customcrm", "target-jsonl", output=output)
    again = read_jsonl(output / "customers.jsonl")[len(customers) :]
    assert [(c["external_ids"]["invoiced"], c["phone"]) for c in again] == [(str(customer["id"]), "+47 555 12 345")]


def test_numbers_from_the_environment_are_read_as_numbers_or_refused_by_name(project: Project) -> None:
    # meltano.yml gives number settings no kind, so Meltano hands the text on (with `kind: integer` it stops with a
    # bare "invalid literal for int()" on 0.5); each plugin reads it as a number, or names the setting.
    fractions = {"TAP_CUSTOMCRM_REQUEST_TIMEOUT": "2.5", "TAP_CUSTOMCRM_RETRY_WAIT_SECONDS": "0.5",
                 "TAP_INVOICED_REQUEST_TIMEOUT": "2.5", "TAP_INVOICED_RETRY_WAIT_SECONDS": "0.5"}
    for tap in ("tap-customcrm", "tap-invoiced"):
        config = json.loads(project.meltano("config", "print", tap, env=fractions).stdout)
        assert (config["request_timeout"], config["retry_wait_seconds"]) == ("2.5", "0.5")
        assert '"type":"RECORD"' in project.meltano("invoke", tap, env=fractions).stdout

    refused = project.meltano("invoke", "tap-customcrm", env={"TAP_CUSTOMCRM_PAGE_SIZE": "0.5"}, succeed=False)
    assert refused.returncode != 0
    assert "config['page_size'] is '0.5', not a whole number" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert '"type":"RECORD"' not in refused.stdout

    target = {"TARGET_INVOICED_API_URL": project.invoiced_url, "TARGET_INVOICED_API_KEY": INVOICED_KEY,
              "TARGET_INVOICED_LINK_STORE_URL": f"sqlite:///{project.root / 'numbers.db'}"}
    refused = project.meltano("invoke", "target-invoiced", env={**target, "TARGET_INVOICED_MAX_IN_FLIGHT": "0.5",
                                                                "TARGET_INVOICED_REQUEST_TIMEOUT": "soon"},
                              succeed=False)
    assert refused.returncode != 0
    assert "config['max_in_flight'] is '0.5', not a whole number: write it as a whole number" in refused.stderr
    assert "config['request_timeout'] is 'soon', not a number" in refused.stderr
    project.meltano("invoke", "target-invoiced", env={**target, "TARGET_INVOICED_MAX_IN_FLIGHT": "4"})


def test_a_start_date_meltano_would_read_loosely_is_refused_by_the_plugin(project: Project) -> None:
    # meltano.yml gives start_date no `date_iso8601` kind, which would turn 01/02/2026 into 2026-01-02 and
    # `yesterday` into a time without a zone before the plugin saw them: the text reaches the plugin, which refuses.
    for tap in ("tap-customcrm", "tap-invoiced"):
        variable = f"{tap.upper().replace('-', '_')}_START_DATE"
        for given in ("01/02/2026", "yesterday", "2026-13-01"):
            refused = project.meltano("invoke", tap, env={variable: given}, succeed=False)
            assert refused.returncode != 0
            assert f"config['start_date'] is {given!r}, not an ISO 8601 date and time" in refused.stderr
            assert '"type":"RECORD"' not in refused.stdout
        accepted = project.meltano("invoke", tap, env={variable: "2020-01-31"})
        assert '"type":"RECORD"' in accepted.stdout


def test_each_plugin_says_where_it_is_pointed_and_names_variables_no_setting_reads(project: Project) -> None:
    typos = {"PROD_INVOICED_APIKEY": "sk-typo-secret-9c1e", "TAP_INVOICED_API_URI": "http://127.0.0.1:9"}
    run = project.meltano("invoke", "tap-invoiced", env=typos)
    assert f"tap-invoiced talks to {project.invoiced_url} (Invoiced a custom api_url)" in run.stderr
    warnings = [line for line in run.stderr.splitlines() if "no setting reads" in line]
    assert warnings  # once per start of the tap (Meltano starts it for discovery, then for the run)
    for warning in warnings:
        assert "PROD_INVOICED_APIKEY" in warning
        assert "TAP_INVOICED_API_URI" in warning
    assert "sk-typo-secret-9c1e" not in run.stdout + run.stderr  # by name, never by value
    quiet = project.meltano("invoke", "tap-customcrm", env=typos)
    assert f"tap-customcrm talks to {project.customcrm_url} (Customcrm)" in quiet.stderr
    assert "no setting reads" not in quiet.stderr  # neither name is about Customcrm


def test_customcrm_to_invoiced_into_target_invoiced_and_a_miswired_pipeline_writes_nothing(project: Project) -> None:
    env = {
        "TARGET_INVOICED_API_URL": project.invoiced_url,
        "TARGET_INVOICED_API_KEY": INVOICED_KEY,
        "TARGET_INVOICED_LINK_STORE_URL": f"sqlite:///{project.root / 'links.db'}",
        "TARGET_INVOICED_SUMMARY_PATH": str(project.root / "summary.json"),
    }
    before = len(project.invoiced("GET", "/invoices", params={"per_page": 100}))

    wrong = subprocess.run(
        meltano_command("run", "tap-invoiced", "to-invoiced", "target-invoiced"),
        cwd=REPO_ROOT, env={**project.env, **env}, capture_output=True, text=True, timeout=600, check=False,
    )
    assert wrong.returncode != 0
    assert "meltano run tap-customcrm to-invoiced target-invoiced" in wrong.stdout + wrong.stderr
    assert len(project.invoiced("GET", "/invoices", params={"per_page": 100})) == before

    project.meltano("run", "tap-customcrm", "to-invoiced", "target-invoiced", env=env)
    orders = project.crm("GET", "/v1/orders", params={"limit": 1000})["data"]
    synced = project.invoiced("GET", "/invoices", params={"per_page": 100, "filter[draft]": "0"}) + \
        project.invoiced("GET", "/invoices", params={"per_page": 100, "filter[draft]": "1"})
    linked = {(i.get("metadata") or {}).get("customcrm_id") for i in synced} - {None}
    assert linked
    assert linked <= {o["id"] for o in orders}
    summary = json.loads((project.root / "summary.json").read_text())
    assert summary["total"]["created"] > 0

    again = project.meltano("run", "tap-customcrm", "to-invoiced", "target-invoiced", env=env)
    assert "Invoiced requests" in again.stderr
    summary = json.loads((project.root / "summary.json").read_text())
    assert summary["total"]["created"] == summary["total"]["updated"] == 0
