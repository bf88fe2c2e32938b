"""The README's generated sections: the four flows with their sync rules (from the mapping files) and every setting
of every plugin (from each plugin's `--about`). `python -m tests.meltano_project.readme_sections` rewrites them in
README.md between their markers; test_readme.py fails when they are stale."""

from __future__ import annotations

import re
import sys
from typing import Any

from customcrm_invoiced_mapper.spec import load_flows

from tests.meltano_project.plugin_settings import PLUGINS, REPO, SDK_SETTINGS, about

README = REPO / "README.md"


def _cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|").replace("``", "`")


def flows() -> str:
    rows = ["| Flow | Who creates | A clash | A delete |", "|---|---|---|---|"]
    for flow in load_flows():
        rows.append(f"| Customcrm {flow.customcrm.entity} ⇄ Invoiced {flow.invoiced.stream} | "
                    f"{_cell(flow.sync['create'])} | {_cell(flow.sync['conflict'])} | {_cell(flow.sync['delete'])} |")
    return "\n".join(rows)


def _default(schema: dict[str, Any]) -> str:
    default = schema.get("default")
    if default is None:
        return ""
    return f"`{str(default).lower() if isinstance(default, bool) else default}`"


def settings() -> str:
    parts = []
    for names in PLUGINS.values():
        for name in names:
            info = about(name)  # each plugin's executable has its name
            required = set(info["settings"].get("required", []))
            prefix = name.upper().replace("-", "_")
            rows = [f"#### {name}", "", "| Setting | Environment variable | Default | What it does |",
                    "|---|---|---|---|"]
            for setting, schema in info["settings"]["properties"].items():
                if setting in SDK_SETTINGS:
                    continue
                notes = [*(["**Required.**"] if setting in required else []),
                         *(["Secret: Meltano keeps it out of `meltano config list`."] if schema.get("secret") else [])]
                rows.append(f"| `{setting}` | `{prefix}_{setting.upper()}` | {_default(schema)} | "
                            f"{_cell(' '.join([schema.get('description', ''), *notes]))} |")
            parts.append("\n".join(rows))
    return "\n\n".join(parts)


def _pattern(section: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- generated: {section}[^\n]*-->\n)(.*?)(<!-- end of {section} -->)", re.S)


def render(text: str) -> str:
    for section, make in (("flows", flows), ("settings", settings)):
        pattern = _pattern(section)
        if not pattern.search(text):
            raise SystemExit(f"README.md has no '<!-- generated: {section} … -->' … '<!-- end of {section} -->' block")
        body = make()
        text = pattern.sub(lambda found, body=body: found.group(1) + body + "\n" + found.group(3), text)
    return text


def main() -> int:
    README.write_text(render(README.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
