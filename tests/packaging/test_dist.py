"""`make dist`, and the taps and targets installed from what it builds alone: the index turned off, into a fresh
venv, with the pip that venv ships. No package of this project can then come from an index, whatever an index
holds under its names."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from sandbox.common.meltano import clean_environment
from sandbox.common.process import REPO_ROOT

PACKAGES = ("sync-core", "tap-customcrm", "tap-invoiced", "target-customcrm", "target-invoiced", "mapper")
PLUGINS = ("tap-customcrm", "tap-invoiced", "target-customcrm", "target-invoiced")


def offline_environment() -> dict[str, str]:
    """No pip setting of this machine's: no extra index, find-links or config file can supply a package."""
    env = {name: value for name, value in clean_environment().items() if not name.startswith(("PIP_", "UV_"))}
    return {**env, "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def test_the_plugins_install_from_dist_alone_with_the_index_off(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    built = subprocess.run(["make", "dist", f"DIST={dist}"], cwd=REPO_ROOT, capture_output=True, text=True,
                           timeout=900, env=clean_environment(), check=False)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-3000:]
    files = {path.name for path in dist.iterdir()}
    for package in PACKAGES:
        stem = f"customcrm_invoiced_{package.replace('-', '_')}-0.1.0"
        assert f"{stem}.tar.gz" in files, f"no sdist of {package}"
        assert f"{stem}-py3-none-any.whl" in files, f"no wheel of {package}"

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    pip = [str(venv / "bin" / "python"), "-m", "pip"]
    wanted = [f"customcrm-invoiced-{plugin}" for plugin in PLUGINS] + ["customcrm-invoiced-target-invoiced[postgres]"]
    installed = subprocess.run([*pip, "install", "--no-index", "--find-links", str(dist), *wanted],
                               capture_output=True, text=True, timeout=900, env=offline_environment(), check=False)
    assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-3000:]

    listed = subprocess.run([*pip, "list", "--format", "freeze"], capture_output=True, text=True, timeout=120,
                            env=offline_environment(), check=True).stdout
    ours = dict(re.findall(r"^(customcrm-invoiced-[\w-]+)==(\S+)$", listed, re.MULTILINE))
    assert ours == {f"customcrm-invoiced-{package}": "0.1.0" for package in PACKAGES}
    assert "psycopg" in listed
    for plugin in PLUGINS:
        about = subprocess.run([str(venv / "bin" / plugin), "--about"], capture_output=True, text=True, timeout=120,
                               env=offline_environment(), check=False)
        assert about.returncode == 0, about.stderr[-2000:]
        assert f"Name: {plugin}" in about.stdout
        assert "Version: 0.1.0" in about.stdout
        module = plugin.replace("-", "_")
        where = subprocess.run([str(venv / "bin" / "python"), "-c", f"import {module}; print({module}.__file__)"],
                               capture_output=True, text=True, timeout=60, check=True).stdout
        assert where.startswith(str(venv)), f"{module} is not an installed copy: {where}"
