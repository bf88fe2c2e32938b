"""`python -m soak [--scale issue|small] [--only fault,crash,mass]`: the reliability scenarios at the issue's sizes,
a report on stdout and in soak/results/latest.md, and exit code 1 when any check fails."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sandbox.common.process import running_sandbox
from soak.scenarios import (
    CrashSoak,
    FaultSoak,
    MassChange,
    crash_soak,
    empty_customcrm,
    fault_soak,
    mass_delete_in_customcrm,
    mass_delete_in_invoiced,
)
from soak.systems import ISSUE_FAULTS, Size, sandboxes
from tests.conftest import install_meltano
from tests.target_invoiced.conftest import CUSTOMCRM_TOKEN

RESULTS = Path(__file__).parent / "results"
README = Path(__file__).resolve().parents[1] / "README.md"
README_MARKERS = ("<!-- soak report -->\n", "<!-- end of soak report -->\n")
SCALES = {
    # The issue's: about 2 000 customers, 200 products and 4 000 orders both ways.
    # The crash soak at the fault soak's size: at least 20 crashed runs, the named crash points among them.
    "issue": {"fault": Size(2000, 200, 4000, 200), "crash": Size(2000, 200, 4000, 200), "kills": 20, "mass": 40},
    "small": {"fault": Size(40, 10, 80, 10), "crash": Size(30, 8, 40, 10), "kills": 9, "mass": 12},
}


def _fault_lines(result: FaultSoak) -> tuple[bool, list[str]]:
    ok = not (result.differences or result.duplicates or result.new_rejects or result.quiet_writes
              or result.failed_runs)
    faults = ", ".join(f"{kind} {count}" for kind, count in sorted(result.faults.items()))
    lines = [
        f"## Fault soak: {'passed' if ok else 'FAILED'} ({result.seconds / 60:.1f} min)",
        f"- Seeded: Customcrm {result.size.customers} customers, {result.size.products} products, "
        f"{result.size.orders} orders; Invoiced {result.size.invoiced_customers} companies with their items and "
        "invoices",
        f"- Faults injected ({', '.join(f'{k} {v:.0%}' for k, v in ISSUE_FAULTS.items())}), two syncs: "
        f"{sum(result.faults.values())} in all ({faults})",
        f"- Retries the plugins made: {result.retries['retries']} after 5xx or dropped connections, "
        f"{result.retries['rate-limited waits']} waits after 429s",
        f"- Duplicates: {len(result.duplicates)}",
        f"- Lost (records or fields that differ from a fault-free run from the same seed): {len(result.differences)}",
        f"- Rejects the fault-free run did not have: {len(result.new_rejects)} (both runs: {result.rejects_both}, "
        "the seed's own bad data)",
        f"- Writes of a further sync: {result.quiet_writes}",
        f"- Runs that failed: {len(result.failed_runs)}",
    ]
    problems = result.failed_runs + result.differences + result.duplicates + result.new_rejects
    lines += [f"  - {line}" for line in problems[:20]]
    return ok, lines


def _crash_lines(result: CrashSoak, kills: int) -> tuple[bool, list[str]]:
    named = sum(" died at " in kill for kill in result.kills)
    ok = (not (result.duplicates or result.missing or result.store or result.quiet_writes or result.stranded)
          and result.crashes >= kills)
    lines = [
        f"## Crash soak: {'passed' if ok else 'FAILED'} ({result.seconds / 60:.1f} min)",
        f"- Seeded: Customcrm {result.size.customers} customers, {result.size.products} products, "
        f"{result.size.orders} orders; Invoiced {result.size.invoiced_customers} companies; before each run, new "
        "records on both sides, an order Invoiced refuses (a negative total), one whose customer is inactive (set "
        "aside before it is sent) and the previous one's customer made active",
        f"- {result.crashes} runs of `meltano run sync` crashed: {named} at a named crash point (SYNC_CRASH_AT), "
        f"{result.crashes - named} by a SIGKILL of one of its processes at a random moment ({len(result.kills)} "
        f"runs in all: the other {len(result.kills) - result.crashes} ran to their end, their victim gone before its "
        "moment or their point not reached, and were tried again):",
        *[f"  - {kill}" for kill in result.kills if " killed " in kill or " died at " in kill],
        f"- Duplicates: {len(result.duplicates)}; missing: {len(result.missing)}; stranded (set aside, but not when "
        f"the same seed and work are synced without crashes, which sets aside {result.reference_set_aside}: the "
        "seed's own): "
        f"{len(result.stranded)}; link store disagreeing with a system: {len(result.store)}; writes of the quiet "
        f"run: {result.quiet_writes}",
    ]
    lines += [f"  - {line}" for line in (result.duplicates + result.missing + result.stranded + result.store)[:20]]
    return ok, lines


def _mass_lines(title: str, result: MassChange) -> tuple[bool, list[str]]:
    ok = (result.carried_out <= result.max_deletes and result.carried_out_next == 0
          and result.carried_out_raised == result.deleted - result.carried_out)  # held, then carried out, not lost
    return ok, [
        f"## Mass change, {title}: {'passed' if ok else 'FAILED'}",
        f"- Lost at once: {result.deleted}; max_deletes: {result.max_deletes}; deletes carried out by that run: "
        f"{result.carried_out}, by the next with the same cap: {result.carried_out_next}, by a run with room for "
        f"all: {result.carried_out_raised}",
        f"- The run said: `{result.message.strip()[-400:]}`",
    ]


def run(scale: str, only: set[str], work: Path) -> tuple[bool, list[str]]:
    sizes = SCALES[scale]
    meltano_root = install_meltano(work / "meltano")
    ok, lines = True, []

    def section(name: str, produce: Callable[[], tuple[bool, list[str]]]) -> None:
        nonlocal ok
        if name in only:
            passed, text = produce()
            ok &= passed
            lines.extend([*text, ""])
            print("\n".join(text), flush=True)

    section("fault", lambda: _fault_lines(fault_soak(work / "fault", meltano_root, sizes["fault"], seed=2026)))
    section("crash", lambda: _crash_lines(crash_soak(work / "crash", meltano_root, sizes["crash"], seed=12,
                                                     kills=sizes["kills"], new_per_round=10), sizes["kills"]))
    section("mass", lambda: _mass(work / "mass", meltano_root, sizes["mass"]))
    return ok, lines


def _mass(work: Path, meltano_root: Path, customers: int) -> tuple[bool, list[str]]:
    size = Size(customers, 5, 1, 0)  # one order: nearly every company can be deleted in Invoiced
    ok, lines = True, []
    for title, lose in (("Invoiced loses half its customers", mass_delete_in_invoiced),
                        ("Customcrm loses half its customers", mass_delete_in_customcrm)):
        root = work / title.split()[0].lower()
        with sandboxes(root, meltano_root, crm_args=size.crm_seed(3), inv_args=size.inv_seed(3)) as systems:
            systems.sync()
            systems.sync()
            passed, text = _mass_lines(title, lose(systems, lose=customers // 2, max_deletes=5))
        ok &= passed
        lines += [*text, ""]
    root = work / "empty"
    with (sandboxes(root, meltano_root, crm_args=size.crm_seed(3), inv_args=size.inv_seed(3)) as systems,
          running_sandbox("customcrm", "--token", CUSTOMCRM_TOKEN) as empty):
        systems.sync()
        before = sum(1 for c in systems.companies() if c["active"])
        writes = empty_customcrm(systems, empty.url)
        active = sum(1 for c in systems.companies() if c["active"])
    ok &= writes == [] and active == before
    lines += [f"## Mass change, Customcrm answers every list empty: {'passed' if not writes else 'FAILED'}",
              f"- Invoiced writes in an incremental and a full-refresh run: {len(writes)}; companies still active: "
              f"{active} of {before}"]
    return ok, lines


def paste_into_readme(report: str) -> None:
    """The report between README's soak markers, its headings two levels down (inside the Reliability section)."""
    text = README.read_text()
    start, end = (text.index(marker) for marker in README_MARKERS)
    body = "".join(f"##{line}\n" if line.startswith("#") else f"{line}\n" for line in report.splitlines())
    README.write_text(text[:start + len(README_MARKERS[0])] + body + text[end:])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m soak", description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="issue")
    parser.add_argument("--only", default="fault,crash,mass", help="comma-separated: fault, crash, mass")
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.md")
    parser.add_argument("--readme", action="store_true", help="also put the report in README.md's Reliability section")
    args = parser.parse_args(argv)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="soak-"))  # kept: a failure's databases and logs are worth a look
    ok, lines = run(args.scale, set(args.only.split(",")), work)
    if ok:
        shutil.rmtree(work, ignore_errors=True)
    header = [f"# Soak report ({args.scale} scale, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
              f"{(time.monotonic() - started) / 60:.0f} min): {'all passed' if ok else 'FAILURES'}", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = "\n".join(header + lines) + "\n"
    args.out.write_text(report)
    if args.readme:
        paste_into_readme(report)
    print(f"report: {args.out}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
