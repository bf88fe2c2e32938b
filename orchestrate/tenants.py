"""The tenants file (tenants.example.yml shows one): who is synced, in which Meltano environment, and which of the
worker's variables hold each tenant's connections. Only variable names live here; their values are read when a
run starts and go to that run's `meltano` process alone."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sync_core.environment import REFERENCE

PACKAGE_DIR = Path(__file__).resolve().parent
TENANTS_FILE_VARIABLE = "ORCHESTRATE_TENANTS_FILE"
# A tenant's name becomes a Dagster job name, a Meltano state-id suffix, a link store namespace and a folder.
NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class TenantsFileError(ValueError):
    """The tenants file cannot be used as written; the message says where and what to change."""


class MissingVariableError(LookupError):
    """A variable a tenant's run needs is not set on this worker."""


@dataclass(frozen=True)
class Tenant:
    name: str
    environment: str  # a meltano.yml environment
    variables: Mapping[str, str] = field(default_factory=dict)  # what the run reads -> worker variable holding it
    namespace: str = ""  # in the link store; empty: the tenant's name

    @property
    def link_namespace(self) -> str:
        return self.namespace or self.name

    def run_variables(self, worker: Mapping[str, str]) -> dict[str, str]:
        """The values of `variables`, read from the worker's environment; unset ones are named, never valued."""
        missing = [source for source in self.variables.values() if source not in worker]
        if missing:
            msg = (f"tenant {self.name}: {', '.join(sorted(missing))} not set on this worker; set them from your "
                   f"secret store, or change the tenant's `variables` in the tenants file")
            raise MissingVariableError(msg)
        return {name: worker[source] for name, source in self.variables.items()}


def environment_prefixes() -> tuple[str, ...]:
    """The prefixes of the variables meltano.yml's environments read (DEV_, STAGING_, PROD_): a tenant's run sees
    only the ones its `variables` map."""
    text = (PACKAGE_DIR.parent / "meltano.yml").read_text(encoding="utf-8")
    return tuple(sorted({f"{name.split('_', 1)[0]}_" for name in REFERENCE.findall(text)
                         if "_" in name and not name.startswith("MELTANO_")}))


def tenants_file() -> Path:
    """ORCHESTRATE_TENANTS_FILE, else tenants.yml beside this module."""
    return Path(os.environ.get(TENANTS_FILE_VARIABLE) or PACKAGE_DIR / "tenants.yml")


def load_tenants(path: Path) -> list[Tenant]:
    if not path.exists():
        msg = (f"no tenants file at {path}: copy {PACKAGE_DIR / 'tenants.example.yml'} there, or set "
               f"{TENANTS_FILE_VARIABLE} to yours")
        raise TenantsFileError(msg)
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = document.get("tenants") if isinstance(document, dict) else None
    if not isinstance(entries, dict) or not entries:
        msg = f"{path}: expected a `tenants:` mapping of tenant name to its settings"
        raise TenantsFileError(msg)
    return [_tenant(path, str(name), entry) for name, entry in entries.items()]


def _tenant(path: Path, name: str, entry: Any) -> Tenant:
    where = f"{path}, tenant {name!r}"
    if not NAME.match(name):
        msg = f"{where}: a name is lower-case letters, digits and _, starting with a letter"
        raise TenantsFileError(msg)
    if not isinstance(entry, dict) or not isinstance(entry.get("environment"), str):
        msg = f"{where}: `environment` (a meltano.yml environment such as prod) is required"
        raise TenantsFileError(msg)
    unknown = set(entry) - {"environment", "variables", "namespace"}
    if unknown:
        msg = f"{where}: unknown key(s) {', '.join(sorted(unknown))}; allowed: environment, variables, namespace"
        raise TenantsFileError(msg)
    variables = entry.get("variables") or {}
    if not isinstance(variables, dict) or not all(
            isinstance(key, str) and isinstance(value, str) and VARIABLE.match(key) and VARIABLE.match(value)
            for key, value in variables.items()):
        msg = (f"{where}: `variables` maps a variable the run reads to the worker variable that holds it, "
               f"names only (e.g. PROD_INVOICED_API_KEY: ACME_INVOICED_API_KEY)")
        raise TenantsFileError(msg)
    return Tenant(name, entry["environment"], variables, str(entry.get("namespace") or ""))
