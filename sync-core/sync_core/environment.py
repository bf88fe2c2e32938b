"""Variables that look meant for a plugin but that nothing reads: a typo such as `PROD_INVOICED_APIKEY` would
otherwise leave its setting unset without a word (and, for Invoiced's `api_url`, aim the run at production).

Two families are checked, by name only (a value is never read):
- the plugin's own variables, `TARGET_INVOICED_<SETTING>` (Meltano's way to set any setting from the environment):
  the rest of the name must be one of the plugin's settings;
- under Meltano, the variables meltano.yml's environments read (`$PROD_INVOICED_API_KEY`): a variable that starts
  like one of them (`PROD_INVOICED_`) but is not one of them. A plugin checks the names about its own system
  (`system_words`), so one typo is named by the plugins it was meant for, not by all four.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

REFERENCE = re.compile(r"\$\{?([A-Z][A-Z0-9_]*)\}?")


def prefix_of(plugin: str) -> str:
    """Meltano's prefix for a plugin's own variables: `target-invoiced` -> `TARGET_INVOICED_`."""
    return re.sub(r"[^A-Z0-9]", "_", plugin.upper()) + "_"


def project_references(environ: Mapping[str, str]) -> set[str]:
    """The variables the Meltano project's meltano.yml reads, when the plugin runs under Meltano."""
    root = environ.get("MELTANO_PROJECT_ROOT")
    if not root:
        return set()
    try:
        text = (Path(root) / "meltano.yml").read_text(encoding="utf-8")
    except OSError:
        return set()
    return set(REFERENCE.findall(text)) - {"MELTANO_PROJECT_ROOT"}


def unread_variables(plugin: str, settings: Iterable[str], system_words: Iterable[str],
                     environ: Mapping[str, str] | None = None) -> list[str]:
    """Names of the environment's variables that look meant for this plugin but that no setting reads."""
    environ = os.environ if environ is None else environ
    own = prefix_of(plugin)
    known = {own + name.upper() for name in settings}
    references = project_references(environ)
    families = {f"{name.split('_', 1)[0]}_{word}_" for name in references for word in system_words
                if name.startswith(f"{name.split('_', 1)[0]}_{word}_")}
    unread = []
    for name in environ:
        if name.startswith(own):
            # Meltano's own extras for a plugin use a double underscore (TAP_INVOICED__SELECT).
            if name not in known and not name.startswith(own + "_"):
                unread.append(name)
        elif name.startswith(tuple(families)) and name not in references:
            unread.append(name)
    return sorted(unread)
