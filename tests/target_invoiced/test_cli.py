"""The `target-invoiced` executable: --about works offline and is pasted, current, in the README."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

EXECUTABLE = str(Path(sys.executable).with_name("target-invoiced"))
README = Path(__file__).resolve().parents[2] / "target-invoiced" / "README.md"


def test_about_lists_every_setting_with_secrets_marked_and_is_current_in_the_readme() -> None:
    done = subprocess.run([EXECUTABLE, "--about", "--format=markdown"], capture_output=True, text=True, check=False)

    assert done.returncode == 0, done.stderr
    for setting in ("api_key", "api_url", "sandbox", "link_store_url", "namespace", "max_in_flight", "max_deletes",
                    "dry_run", "rejects_path", "summary_path", "audit_path", "fail_on_rejects", "request_timeout",
                    "max_retries"):
        assert f"| {setting} |" in done.stdout
    assert "| api_key | True |" in done.stdout
    nested = re.sub(r"^#", "##", done.stdout.strip(), flags=re.MULTILINE)
    assert nested in README.read_text(), "README is stale: paste `target-invoiced --about --format=markdown`"


def test_secret_settings_are_declared_secret() -> None:
    done = subprocess.run([EXECUTABLE, "--about", "--format=json"], capture_output=True, text=True, check=True)
    properties = json.loads(done.stdout)["settings"]["properties"]
    assert properties["api_key"].get("secret") is True
    assert properties["link_store_url"].get("secret") is True
    assert properties["max_in_flight"]["maximum"] == 20
