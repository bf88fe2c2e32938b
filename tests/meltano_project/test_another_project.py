"""The plugins installed into another Meltano project, outside this repository, with the `pip_url`s the README gives:
each plugin's environment holds installed copies of this repository's packages (not links back to a checkout), and
the two-way sync runs from there.

`REPO` becomes this repository as a `file://` git URL, so the installed code is the committed HEAD.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import requests
import yaml

from sandbox.common.meltano import clean_environment, meltano_command
from sandbox.common.process import REPO_ROOT
from tests.conftest import SandboxStarter

TOKEN = "another-project-customcrm-token-5d1e"
KEY = "another-project-invoiced-key-77a0"
SYNC = ["tap-customcrm", "to-invoiced", "target-invoiced", "tap-invoiced", "to-customcrm", "target-customcrm"]


def readme_pip_urls() -> dict[str, str]:
    text = (REPO_ROOT / "README.md").read_text()
    block = re.search(r"<!-- pip_urls[^>]*-->\n```yaml\n(.*?)```\n<!-- end of pip_urls -->", text, re.S)
    assert block, "README.md has no pip_urls block"
    return {plugin["name"]: plugin["pip_url"] for plugin in yaml.safe_load(block.group(1))}


def another_project(folder: Path) -> None:
    """This repository's plugin declarations with the README's pip_urls, and nothing else of this project."""
    ours = yaml.safe_load((REPO_ROOT / "meltano.yml").read_text())
    pip_urls = {name: url.replace("REPO", f"file://{REPO_ROOT}") for name, url in readme_pip_urls().items()}
    plugins = {}
    for kind, declared in ours["plugins"].items():
        taken = [{**plugin, "pip_url": pip_urls[plugin["name"]]} for plugin in declared if plugin["name"] in pip_urls]
        if taken:
            plugins[kind] = taken
    assert sum(len(taken) for taken in plugins.values()) == len(pip_urls)
    project = {"default_environment": "dev", "environments": [{"name": "dev"}],
               "send_anonymous_usage_stats": False, "plugins": plugins}
    (folder / "meltano.yml").write_text(yaml.safe_dump(project, sort_keys=False))


def test_the_readme_s_pip_urls_install_the_plugins_into_another_project(
    tmp_path: Path, start_sandbox: SandboxStarter
) -> None:
    another_project(tmp_path)
    seed = ["--seed-customers", "6", "--seed", "5"]
    with (
        start_sandbox("customcrm", "--token", TOKEN, *seed) as crm,
        start_sandbox("invoiced", "--api-key", KEY) as invoiced,
    ):
        env = clean_environment({
            "TAP_CUSTOMCRM_API_URL": crm.url, "TAP_CUSTOMCRM_API_TOKEN": TOKEN,
            "TARGET_CUSTOMCRM_API_URL": crm.url, "TARGET_CUSTOMCRM_API_TOKEN": TOKEN,
            "TAP_INVOICED_API_URL": invoiced.url, "TAP_INVOICED_API_KEY": KEY,
            "TARGET_INVOICED_API_URL": invoiced.url, "TARGET_INVOICED_API_KEY": KEY,
            "TARGET_INVOICED_SUMMARY_PATH": str(tmp_path / "summary.json"),
        })
        for command in (["install"], ["run", *SYNC]):
            done = subprocess.run(meltano_command(*command), cwd=tmp_path, env=env, capture_output=True, text=True,
                                  timeout=600, check=False)
            assert done.returncode == 0, f"meltano {command[0]}:\n{done.stderr[-4000:]}"

        crm_customers = requests.get(f"{crm.url}/v1/customers", headers={"Authorization": f"Bearer {TOKEN}"},
                                     timeout=30).json()["data"]
        linked = {customer["metadata"].get("customcrm_id")
                  for customer in requests.get(f"{invoiced.url}/customers", auth=(KEY, ""), timeout=30).json()}
    assert {customer["id"] for customer in crm_customers} <= linked
    assert json.loads((tmp_path / "summary.json").read_text())["total"]["created"] > 0

    # Installed copies, not links to this checkout: the project works without the repository next to it.
    for plugin, package in (("extractors/tap-customcrm", "tap_customcrm"), ("loaders/target-invoiced", "sync_core"),
                            ("mappers/customcrm-invoiced-mapper", "customcrm_invoiced_mapper")):
        installed = list((tmp_path / ".meltano" / plugin / "venv" / "lib").glob(f"python3*/site-packages/{package}"))
        assert installed, f"{package} is not installed in {plugin}"
        assert (installed[0] / "__init__.py").is_file()
