"""The README's flows table and settings reference are generated: they say what the mapping files and each
plugin's `--about` say."""

from __future__ import annotations

from tests.meltano_project.readme_sections import README, render


def test_the_readme_s_generated_sections_are_current() -> None:
    text = README.read_text()
    assert render(text) == text, "run `.venv/bin/python -m tests.meltano_project.readme_sections` to regenerate"


def test_the_settings_reference_names_every_secret_and_its_variable() -> None:
    text = README.read_text()
    for variable in ("TARGET_INVOICED_API_KEY", "TAP_INVOICED_API_KEY", "TAP_CUSTOMCRM_API_TOKEN",
                     "TARGET_CUSTOMCRM_API_TOKEN", "TARGET_INVOICED_LINK_STORE_URL"):
        row = next(line for line in text.splitlines() if line.startswith("|") and f"`{variable}`" in line)
        assert "Secret" in row, row
