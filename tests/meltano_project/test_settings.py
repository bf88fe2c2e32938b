"""meltano.yml declares each plugin as its `--about` describes it: every setting with its label, description,
default and sensitivity (so `meltano config list` explains them and hides the secrets), and every capability."""

from __future__ import annotations

import pytest
from ruamel.yaml import YAML

from tests.meltano_project.plugin_settings import PLUGINS, REPO, declared

PROJECT = YAML(typ="safe").load((REPO / "meltano.yml").read_text())
REWRITE = "run `.venv/bin/python -m tests.meltano_project.plugin_settings` to rewrite meltano.yml's declarations"


@pytest.mark.parametrize(("kind", "name"), [(kind, name) for kind, names in PLUGINS.items() for name in names])
def test_each_plugin_is_declared_as_its_about_describes_it(kind: str, name: str) -> None:
    plugin = next(p for p in PROJECT["plugins"][kind] if p["name"] == name)
    settings, capabilities = declared(plugin["executable"])
    assert plugin["settings"] == settings, REWRITE
    assert sorted(plugin["capabilities"]) == capabilities, REWRITE
    assert "structured-logging" in capabilities


def test_every_secret_is_sensitive() -> None:
    for kind in PLUGINS:
        for plugin in PROJECT["plugins"][kind]:
            for setting in plugin.get("settings", []):
                if setting["name"] in ("api_key", "api_token", "link_store_url"):
                    assert setting.get("sensitive") is True, (plugin["name"], setting["name"])


def test_the_sync_job_runs_both_directions_in_order_every_15_minutes() -> None:
    jobs = {job["name"]: job["tasks"] for job in PROJECT["jobs"]}
    assert jobs["sync"] == [*jobs["customcrm-to-invoiced"], *jobs["invoiced-to-customcrm"]]
    assert jobs["customcrm-to-invoiced"] == ["tap-customcrm to-invoiced target-invoiced"]
    assert jobs["invoiced-to-customcrm"] == ["tap-invoiced to-customcrm target-customcrm"]
    assert [(s["job"], s["interval"]) for s in PROJECT["schedules"]] == [("sync", "*/15 * * * *")]
