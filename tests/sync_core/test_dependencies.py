"""What installing a plugin brings: the taps only each system's HTTP rules, the targets the link store as well.

A tap reused in someone else's ELT stack should not pull what it never uses: sync-core's link store, planner and
executor (SQLAlchemy, jsonschema-rs) are its `engine` extra, which only the targets ask for. SQLAlchemy still comes
with singer-sdk, which requires it for SQL plugins; no tap of ours imports it."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from sync_core.http.settings import distribution
from tap_customcrm.tap import TapCustomcrm
from tap_invoiced.tap import TapInvoiced
from target_customcrm.target import TargetCustomcrm
from target_invoiced.target import TargetInvoiced

ENGINE_ONLY = {"sqlalchemy", "jsonschema-rs"}
TAPS = {"tap-customcrm": "tap_customcrm", "tap-invoiced": "tap_invoiced"}


def installs(name: str, extras: frozenset[str] = frozenset()) -> set[str]:
    """Every distribution that installing `name[extras]` brings, read from the installed metadata."""
    wanted, brought = [(name, extras)], set()
    seen: set[tuple[str, frozenset[str]]] = set()
    while wanted:
        dist, dist_extras = wanted.pop()
        if (canonicalize_name(dist), dist_extras) in seen:
            continue
        seen.add((canonicalize_name(dist), dist_extras))
        brought.add(canonicalize_name(dist))
        for text in metadata.requires(dist) or []:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in ("", *dist_extras)):
                wanted.append((requirement.name, frozenset(requirement.extras)))
    return brought


def direct_requirements(name: str) -> set[str]:
    """What `name` itself requires, extras left out (read from the installed metadata, which `make test` renews
    whenever a pyproject.toml changes)."""
    return {canonicalize_name(requirement.name) for requirement in map(Requirement, metadata.requires(name) or [])
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""})}


@pytest.mark.parametrize("tap", sorted(TAPS))
def test_a_tap_installs_without_the_engine(tap: str) -> None:
    brought = installs(distribution(tap))
    # What our packages ask for themselves: singer-sdk brings SQLAlchemy anyway.
    asked_by_us = direct_requirements(distribution(tap)) | direct_requirements(distribution("sync-core"))

    assert {distribution("sync-core"), "requests"} <= brought
    assert asked_by_us.isdisjoint(ENGINE_ONLY), f"{tap} asks for {sorted(asked_by_us & ENGINE_ONLY)}"
    assert "jsonschema-rs" not in brought


@pytest.mark.parametrize("target", ["target-customcrm", "target-invoiced"])
def test_a_target_installs_the_link_store(target: str) -> None:
    assert installs(distribution(target)) >= ENGINE_ONLY
    assert "psycopg" in installs(distribution(target), frozenset({"postgres"}))


@pytest.mark.parametrize("tap", sorted(TAPS))
def test_a_tap_discovers_its_streams_with_no_link_store_to_import(tap: str) -> None:
    # The modules made unimportable, as in a venv that has the tap alone; then the tap's own command line.
    blocked = "; ".join(f"sys.modules[{module!r}] = None" for module in ("sqlalchemy", "jsonschema_rs"))
    launch = f"import runpy, sys; {blocked}; runpy.run_module({TAPS[tap]!r}, run_name='__main__')"
    discovered = subprocess.run([sys.executable, "-c", launch, "--discover"], capture_output=True, text=True,
                                timeout=120, check=False)

    assert discovered.returncode == 0, discovered.stderr[-2000:]
    assert '"streams"' in discovered.stdout


def test_each_plugin_reports_the_version_of_its_own_distribution() -> None:
    for plugin in (TapCustomcrm, TapInvoiced, TargetCustomcrm, TargetInvoiced):
        assert plugin.plugin_version == metadata.version(distribution(plugin.name)), plugin.name
    configs = {TapCustomcrm: {"api_url": "http://127.0.0.1:9", "api_token": "t0ken-for-no-server"},
               TapInvoiced: {"api_url": "http://127.0.0.1:9", "api_key": "sk_for_no_server"}}
    for tap, config in configs.items():
        stream = next(iter(tap(config=config, parse_env_config=False).streams.values()))
        assert stream.user_agent == f"{tap.name}/{tap.plugin_version}"
        chosen = tap(config={**config, "user_agent": "acme-elt/7"}, parse_env_config=False)
        assert next(iter(chosen.streams.values())).user_agent == "acme-elt/7"
