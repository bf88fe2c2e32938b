"""Both sandboxes on database files, started with or without faults, and `meltano run sync` between them (the
tests' own `TwoWay`), plus what a soak counts: faults the sandboxes injected, retries the plugins made."""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sandbox.common.http import FAULT_LOG_PREFIX
from sandbox.common.process import running_sandbox
from tests.target_invoiced.conftest import CUSTOMCRM_TOKEN, INVOICED_KEY
from tests.two_way.conftest import TwoWay

PLUGINS = ("tap-customcrm", "tap-invoiced", "target-invoiced", "target-customcrm")
# The issue's fault mix, per request: 10 % 500s, 5 % 429s, 2 % dropped connections; 2 % of writes ambiguous; and 1 %
# of writes handled as if their client had died after the headers (an empty body's answer kept under the
# Idempotency-Key), which once set records aside as refused for good.
ISSUE_FAULTS = {"error-rate": 0.10, "rate-limit-rate": 0.05, "drop-rate": 0.02, "ambiguous-write-rate": 0.02,
                "headers-only-rate": 0.01}
FAULT_LINE = re.compile(re.escape(FAULT_LOG_PREFIX) + r"(\w+) ")
RETRY_LINE = re.compile(r"; retry \d+ of \d+ in ")
RATE_LIMITED_WAIT = "rate limits do not count against max_retries"


@dataclass(frozen=True)
class Size:
    """How much each sandbox is seeded with."""

    customers: int  # in Customcrm
    products: int
    orders: int
    invoiced_customers: int  # Invoiced's own companies, items and invoices (in proportion)

    def crm_seed(self, seed: int) -> tuple[str, ...]:
        return ("--seed-customers", str(self.customers), "--seed-products", str(self.products),
                "--seed-orders", str(self.orders), "--seed", str(seed))

    def inv_seed(self, seed: int) -> tuple[str, ...]:
        return ("--seed-customers", str(self.invoiced_customers), "--seed", str(seed + 1))


def fault_flags(seed: int, faults: dict[str, float]) -> tuple[str, ...]:
    flags = [f"--fault-{name}={share}" for name, share in faults.items()]
    return (*flags, f"--fault-seed={seed}") if flags else ()


@contextlib.contextmanager
def sandboxes(root: Path, meltano_root: Path, *, crm_args: tuple[str, ...] = (), inv_args: tuple[str, ...] = (),
              env: dict[str, str] | None = None) -> Iterator[TwoWay]:
    """Both sandboxes on database files in `root`, so that starting them again (say, without faults) keeps what
    they hold; `meltano run` keeps its state and link store in `root` too. A sandbox's log goes with it."""
    root.mkdir(parents=True, exist_ok=True)
    with (
        running_sandbox("customcrm", "--token", CUSTOMCRM_TOKEN, "--verbose", "--db", str(root / "customcrm.db"),
                        *crm_args, timeout=600) as crm,
        running_sandbox("invoiced", "--api-key", INVOICED_KEY, "--verbose", "--db", str(root / "invoiced.db"),
                        *inv_args, timeout=600) as invoiced,
    ):
        systems = TwoWay(crm, invoiced, root, meltano_root)
        systems.env.update(env or {})
        yield systems


def patient(max_retries: int) -> dict[str, str]:
    """Every plugin's retries, through its own variables: soak runs meet far more faults than a day does."""
    env = {}
    for plugin in PLUGINS:
        prefix = plugin.upper().replace("-", "_")
        env[f"{prefix}_MAX_RETRIES"] = str(max_retries)
        env[f"{prefix}_RETRY_WAIT_SECONDS"] = "0"
    return env


def faults_met(systems: TwoWay) -> Counter[str]:
    """The faults both sandboxes injected so far, by kind (server_error, rate_limit, drop, ambiguous_write)."""
    return Counter(m.group(1) for log in (systems.customcrm.log(), systems.invoiced.log())
                   for m in FAULT_LINE.finditer(log))


def retries_made(plugin_log: str) -> Counter[str]:
    """Retries the plugins logged: after a 5xx, a dropped connection or a timeout, and waits after a 429."""
    counts: Counter[str] = Counter()
    for line in plugin_log.splitlines():
        if RATE_LIMITED_WAIT in line:
            counts["rate-limited waits"] += 1
        elif RETRY_LINE.search(line):
            counts["retries"] += 1
    return counts
