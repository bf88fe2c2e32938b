"""Every `meltano …` command the README and docs give runs as written under the pinned Meltano: each is run with
`--help` in this project, which stops at the first word Meltano does not know (a renamed subcommand, a pre-4 word
order such as `meltano config <plugin> list`, a plugin this project does not declare) and changes nothing."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from sandbox.common.meltano import clean_environment, meltano_command
from sandbox.common.process import REPO_ROOT

DOCUMENTS = sorted({REPO_ROOT / "README.md", *REPO_ROOT.glob("docs/*.md"), *REPO_ROOT.glob("*/README.md")})
# A command in backticks, or on a line of its own in a code block (optionally run from the repository's venv).
COMMAND = re.compile(r"(?:`|^\s*(?:\$\s+)?)(?:\.venv/bin/)?(meltano [^`\n]*)", re.MULTILINE)
# The docs' placeholders, each given a value this project knows.
PLACEHOLDERS = {"<env>": "prod", "<tenant>": "acme", "<plugin>": "target-invoiced", "<setting>": "api_key",
                "<value>": "x"}


def documented_commands() -> dict[str, str]:
    """Each distinct `meltano` command -> the first document that gives it."""
    found: dict[str, str] = {}
    for document in DOCUMENTS:
        for match in COMMAND.finditer(document.read_text()):
            line = match.group(1).split("  #")[0].split(" # ")[0]
            for part in line.split("|"):
                command = part.replace("…", "").strip()
                if command.startswith("meltano "):
                    found.setdefault(command, str(document.relative_to(REPO_ROOT)))
    return found


COMMANDS = documented_commands()


def test_the_docs_give_meltano_commands_to_check() -> None:
    assert len(COMMANDS) >= 10, COMMANDS  # the pattern still finds them


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_documented_meltano_command_parses(command: str, tmp_path: Path) -> None:
    words = shlex.split(command)[1:]
    words = [PLACEHOLDERS.get(word, word) for word in words]
    words = [re.sub(r"<[a-z_-]+>", lambda m: PLACEHOLDERS.get(m.group(0), "x"), word) for word in words]
    env = clean_environment({"MELTANO_SYS_DIR_ROOT": str(tmp_path / "sys"),
                             "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}"})
    ran = subprocess.run(meltano_command(*words, "--help"), cwd=REPO_ROOT, capture_output=True, text=True,
                         timeout=120, env=env, check=False)
    assert ran.returncode == 0, f"`{command}` ({COMMANDS[command]}) does not parse:\n{ran.stderr[-1500:]}"
    assert "Usage: " in ran.stdout  # Meltano's usage, or the invoked plugin's
