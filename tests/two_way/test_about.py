"""Both targets' executables: --about works offline, marks the secrets, and is pasted, current, in each README."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OPERATOR = ("link_store_url", "namespace", "max_in_flight", "max_deletes", "dry_run", "rejects_path", "summary_path",
            "audit_path", "fail_on_rejects", "request_timeout", "max_retries")
TARGETS = {
    "target-invoiced": ("api_key", "api_url", "sandbox"),
    "target-customcrm": ("api_url", "api_token", "create_from_invoiced", "create_orders_from_invoiced"),
}


def _about(target: str, form: str) -> str:
    done = subprocess.run([str(Path(sys.executable).with_name(target)), "--about", f"--format={form}"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_about_lists_every_setting_and_is_current_in_the_readme(target: str) -> None:
    about = _about(target, "markdown")
    for setting in (*TARGETS[target], *OPERATOR):
        assert f"| {setting} |" in about
    nested = re.sub(r"^#", "##", about.strip(), flags=re.MULTILINE)
    readme = (REPO / target / "README.md").read_text()
    assert nested in readme, f"README is stale: paste `{target} --about --format=markdown` (headings one deeper)"


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_secret_settings_are_declared_secret_and_the_credential_required(target: str) -> None:
    settings = json.loads(_about(target, "json"))["settings"]
    credential = "api_key" if target == "target-invoiced" else "api_token"
    assert settings["properties"][credential].get("secret") is True
    assert credential in settings["required"]
    assert settings["properties"]["link_store_url"].get("secret") is True
    assert settings["properties"]["max_in_flight"]["maximum"] == 20
