"""How the tests, the demo, the soak and the benchmarks start processes: never steered by what the user has around
the repository.

Meltano reads the project's `.env` and every variable of the environment it starts in, and passes them on to the
plugins. A user's `.env`, or an exported `TARGET_INVOICED_API_URL`, would otherwise send a test's writes to the
account it names. So every process these tools start gets an environment built from scratch (what any process needs,
then what the caller sets), and Meltano gets an empty env file instead of the project's `.env`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

MELTANO = str(Path(sys.executable).with_name("meltano"))

# What a process needs of the user's environment to run at all, and to install packages the way this machine does.
# Nothing here names a system, an account or a plugin setting.
KEPT = frozenset({"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TERM", "SHELL",
                  "SSL_CERT_FILE", "SSL_CERT_DIR", "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY",
                  "HTTPS_PROXY", "NO_PROXY"})
KEPT_PREFIXES = ("LC_", "PIP_", "UV_")


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The user's environment without anything that could point a run somewhere, plus `extra`."""
    kept = {name: value for name, value in os.environ.items()
            if name in KEPT or name.startswith(KEPT_PREFIXES)}
    return {**kept, "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false", **(extra or {})}


def meltano_command(*args: str) -> list[str]:
    """`meltano ARGS` that reads no `.env`: the project's is never the tests' business."""
    return [MELTANO, "--env-file", os.devnull, *args]
