"""meltano.yml's plugin declarations, derived from each plugin's `--about`: the settings with their label,
description, default and sensitivity, and the capabilities. The test in test_settings.py checks meltano.yml against
it; `python -m tests.meltano_project.plugin_settings` rewrites meltano.yml's declarations from it (comments and
everything else are kept)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

REPO = Path(__file__).resolve().parents[2]
PLUGINS = {"extractors": ("tap-customcrm", "tap-invoiced"), "mappers": ("customcrm-invoiced-mapper",),
           "loaders": ("target-invoiced", "target-customcrm")}
# The Singer SDK's own settings: available to every plugin, not part of what this project declares.
SDK_SETTINGS = frozenset({"stream_maps", "stream_map_config", "faker_config", "flattening_enabled",
                          "flattening_max_depth", "flattening_max_key_length", "flattening_separator",
                          "batch_config", "add_record_metadata", "load_method", "batch_size_rows", "validate_records"})


def about(executable: str) -> dict[str, Any]:
    done = subprocess.run([str(Path(sys.executable).with_name(executable)), "--about", "--format=json"],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def _kind(name: str, schema: dict[str, Any]) -> str | None:
    types = schema.get("type") or []
    if "enum" in schema:
        return "options"
    if "boolean" in types:
        return "boolean"
    # Numbers have no kind: Meltano 4.4 stops with a bare "invalid literal for int()" on a fraction set from the
    # environment for an `integer` setting, and with "Decimal is not JSON serializable" on any `decimal` one. Without
    # a kind the text reaches the plugin, which reads it as a number or names the setting (sync_core.config).
    if "integer" in types or "number" in types:
        return None
    # Dates and times are `string` too: Meltano's `date_iso8601` reads `01/02/2026` and `yesterday` loosely before
    # the plugin sees them; as text, the plugin refuses what is not ISO 8601 (sync_core.config).
    return "string"


def declared(executable: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The settings and capabilities meltano.yml should declare for one plugin."""
    info = about(executable)
    settings = []
    for name, schema in info["settings"]["properties"].items():
        if name in SDK_SETTINGS:
            continue
        kind = _kind(name, schema)
        setting: dict[str, Any] = {"name": name, **({"kind": kind} if kind else {}),
                                   "label": schema.get("title") or name, "description": schema.get("description", "")}
        if kind == "options":
            setting["options"] = [{"label": value, "value": value} for value in schema["enum"]]
        if schema.get("default") is not None:
            default = schema["default"]
            setting["value"] = default
        if schema.get("secret"):
            setting["sensitive"] = True
        settings.append(setting)
    return settings, sorted(info["capabilities"])


def main() -> int:
    yaml = YAML()
    yaml.width = 4096  # one line per description: no folded lines with trailing spaces
    yaml.preserve_quotes = True
    path = REPO / "meltano.yml"
    project = yaml.load(path.read_text())
    for kind, names in PLUGINS.items():
        for plugin in project["plugins"][kind]:
            if plugin["name"] not in names:
                continue
            settings, capabilities = declared(plugin["executable"])
            plugin["capabilities"] = CommentedSeq(capabilities)
            plugin["capabilities"].fa.set_flow_style()
            plugin["settings"] = CommentedSeq(CommentedMap(s) for s in settings)
    with path.open("w") as out:
        yaml.dump(project, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
