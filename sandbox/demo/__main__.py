"""`make demo`: the two-way sync's story on two local sandboxes, in about two minutes.

1. Both sandboxes start on loopback with the same seeded data every time: a Customcrm with 200 customers,
   50 products, 500 orders and 10 users, and an Invoiced with companies, items and invoices of its own, to which
   someone had already typed in some of the CRM's companies and products by hand.
2. `meltano install`, with its progress.
3. A dry run of `meltano run sync`: the plan, nothing written.
4. `meltano run sync` (the job in meltano.yml, `dev` environment): Customcrm -> Invoiced with target-invoiced,
   then Invoiced -> Customcrm with target-customcrm; the summary as a table, and the records set aside. A second
   run gives Invoiced the cross-references of what Customcrm created from it.
5. An edit on each side, and the same field edited on both: the next sync carries each where it belongs, the
   later edit of the two wins on both sides; the one after writes nothing.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from typing import Any

from sandbox.common.meltano import clean_environment, meltano_command
from sandbox.common.process import REPO_ROOT, running_sandbox
from sandbox.demo import report
from sandbox.demo.report import heading, say
from sandbox.demo.systems import CUSTOMCRM_TOKEN, INVOICED_KEY, Systems

DEMO_DIR = REPO_ROOT / ".demo"
TARGETS = ("target-invoiced", "target-customcrm")
CUSTOMCRM_SEED = {"--seed-customers": "200", "--seed-products": "50", "--seed-orders": "500", "--seed-users": "10"}
INVOICED_SEED = {"--seed-customers": "30"}
TYPED_BY_ORG_NUMBER, TYPED_BY_EMAIL, TYPED_ITEMS = 25, 15, 5


class Meltano:
    """`meltano` in this project, `dev` environment, pointed at the sandboxes; each target's files in .demo/. The
    project's `.env` and the user's own variables are left out (sandbox.common.meltano): the demo talks to its
    sandboxes and nothing else."""

    def __init__(self, systems: Systems) -> None:
        self.env = clean_environment({
            # Its own system database, so the demo's state never mixes with a real `meltano run`'s.
            "MELTANO_DATABASE_URI": f"sqlite:///{DEMO_DIR / 'meltano.db'}",
            "DEV_CUSTOMCRM_API_URL": systems.customcrm_url,
            "DEV_CUSTOMCRM_API_TOKEN": CUSTOMCRM_TOKEN,
            "DEV_INVOICED_API_URL": systems.invoiced_url,
            "DEV_INVOICED_API_KEY": INVOICED_KEY,
            "DEV_LINK_STORE_URL": f"sqlite:///{DEMO_DIR / 'links.db'}",
        })
        for target in TARGETS:
            self.env |= self._files(target, "")

    @staticmethod
    def _files(target: str, run: str) -> dict[str, str]:
        prefix = target.upper().replace("-", "_")
        return {f"{prefix}_SUMMARY_PATH": str(DEMO_DIR / f"{target}-summary{run}.json"),
                f"{prefix}_REJECTS_PATH": str(DEMO_DIR / f"{target}-rejects.jsonl"),
                f"{prefix}_AUDIT_PATH": str(DEMO_DIR / "audit.jsonl")}

    def install(self) -> None:
        """`meltano install`, showing each plugin as it starts and ends (pip's own output stays quiet)."""
        process = subprocess.Popen(meltano_command("install"), cwd=REPO_ROOT, env=self.env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)
        tail = []
        for line in process.stderr or ():
            tail = [*tail[-40:], line]
            if found := re.search(r"(Installing|Installed) .*", line):
                say(f"[{time.monotonic() - report.STARTED:5.0f} s] {found.group(0)}")
        if process.wait() != 0:
            sys.exit("meltano install failed:\n" + "".join(tail))

    def sync(self, *, dry_run: bool = False) -> tuple[dict[str, dict[str, Any]], str]:
        """`meltano run sync`; each target's summary, and Meltano's log."""
        run = "-dry-run" if dry_run else ""
        env = dict(self.env)
        for target in TARGETS:
            env |= self._files(target, run)
            if dry_run:
                env[f"{target.upper().replace('-', '_')}_DRY_RUN"] = "true"
        done = subprocess.run(meltano_command("run", "sync"), cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                              check=False)
        if done.returncode != 0:
            sys.exit(f"meltano run sync failed:\n{done.stderr[-4000:]}")
        summaries = {target: json.loads((DEMO_DIR / f"{target}-summary{run}.json").read_text()) for target in TARGETS}
        return summaries, done.stderr


def plan_lines(log: str) -> list[dict[str, Any]]:
    """A dry run's plan, one JSON object per record, as the targets print it into Meltano's log."""
    plans = []
    for line in log.splitlines():
        start = line.find('{"stream"')
        if start >= 0:
            try:
                plans.append(json.JSONDecoder().raw_decode(line[start:])[0])
            except ValueError:
                continue
    return plans


def show_systems(systems: Systems) -> None:
    crm = {entity: len(systems.crm_all(entity)) for entity in ("customers", "products", "orders", "users")}
    inv = {path: len(systems.inv_all(f"/{path}")) for path in ("customers", "items", "invoices")}
    say(f"Customcrm {systems.customcrm_url}: {', '.join(f'{n} {what}' for what, n in crm.items())}")
    say(f"Invoiced  {systems.invoiced_url}: {', '.join(f'{n} {what}' for what, n in inv.items())}")


def first_syncs(meltano: Meltano, systems: Systems) -> None:
    heading("A dry run of `meltano run sync`: the plan, nothing written (dry_run: true on both targets)")
    summaries, log = meltano.sync(dry_run=True)
    print(report.summary_table(summaries))
    plans = plan_lines(log)
    say(f"The plan lists every record ({len(plans)} lines in Meltano's log), field by field; for example:")
    for action in ("create", "update"):
        if example := next((p for p in plans if p["action"] == action and p.get("fields")), None):
            fields = ", ".join(f"{name}: {change['old']!r} -> {change['new']!r}"
                               for name, change in list(example["fields"].items())[:3])
            say(f"  {example['stream']} {example['source_id']}: {action} ({fields}, …)")
    say("Each direction plans on its own in a dry run, so the way back does not yet see what the way there would "
        "create.")

    heading("The first `meltano run sync`: Customcrm -> Invoiced, then Invoiced -> Customcrm")
    summaries, _ = meltano.sync()
    print(report.summary_table(summaries))
    say(f"The {TYPED_BY_ORG_NUMBER + TYPED_BY_EMAIL} companies typed into Invoiced by hand were linked (by org "
        f"number or e-mail), not duplicated: 'updated', not 'created'.")
    say("On the way back, Customcrm's 'updated' records are the cross-references it now keeps (external_ids.invoiced).")
    say("Skipped on purpose (the summary lists each record and why):")
    for line in report.skipped(summaries):
        say(f"  {line}")
    for target in TARGETS:
        if lines := report.rejects(DEMO_DIR / f"{target}-rejects.jsonl"):
            say(f"Set aside by {target} (in .demo/{target}-rejects.jsonl, each saying when it is tried again):")
            for line in lines:
                say(f"  {line}")

    heading("The second sync: Invoiced gets the cross-references of what Customcrm created from it")
    summaries, _ = meltano.sync()
    print(report.summary_table(summaries))
    show_systems(systems)


def edits_and_a_clash(meltano: Meltano, systems: Systems) -> None:
    heading("Edits on both sides, and one field edited on both")
    order = next(o for o in systems.crm_all("orders")
                 if (o.get("external_ids") or {}).get("invoiced") and o["status"] in ("confirmed", "invoiced"))
    systems.crm_patch("orders", order, {"purchase_order": "PO-DEMO-2"})
    say(f"Customcrm: order {order['order_number']}'s purchase order {order['purchase_order']!r} -> 'PO-DEMO-2'")
    linked = [c for c in systems.inv_all("/customers") if (c.get("metadata") or {}).get("customcrm_id")]
    edited, clashed = linked[0], linked[1]
    systems.inv_patch(f"/customers/{edited['id']}", {"phone": "+47 400 00 001"})
    say(f"Invoiced:  customer {edited['name']}'s phone {edited.get('phone')!r} -> '+47 400 00 001'")
    crm_side = systems.crm_get("customers", clashed["metadata"]["customcrm_id"])
    systems.crm_patch("customers", crm_side, {"phone": "+47 400 00 002"})
    time.sleep(1.1)  # Invoiced keeps whole seconds: the second edit is later by the clock of both
    systems.inv_patch(f"/customers/{clashed['id']}", {"phone": "+47 400 00 003"})
    say(f"Both:      customer {clashed['name']}'s phone: '+47 400 00 002' in Customcrm, then a second later "
        "'+47 400 00 003' in Invoiced")

    heading("`meltano run sync` carries each edit where it belongs")
    summaries, _ = meltano.sync()
    print(report.summary_table(summaries))
    invoice = systems.inv_get(f"/invoices/{order['external_ids']['invoiced']}")
    say(f"Invoiced  invoice {invoice['number']}: purchase_order = {invoice.get('purchase_order')!r}")
    crm_edited = systems.crm_get("customers", edited["metadata"]["customcrm_id"])
    say(f"Customcrm customer {crm_edited['name']}: phone = {crm_edited.get('phone')!r}")
    crm_clashed = systems.crm_get("customers", clashed["metadata"]["customcrm_id"])
    inv_clashed = systems.inv_get(f"/customers/{clashed['id']}")
    say(f"Both      customer {clashed['name']}: phone = {crm_clashed.get('phone')!r} in Customcrm, "
        f"{inv_clashed.get('phone')!r} in Invoiced: the later edit won, on both sides, in one sync")
    clashes = [e for e in _audit() if e.get("conflicts")]
    for entry in clashes[-2:]:
        won = ", ".join(f"{c['field']} ({c['why']})" for c in entry["conflicts"])
        say(f"  audit.jsonl: {entry['stream']} {entry['action']}, clash on {won}")

    heading("Once more: nothing changed, so nothing is written")
    summaries, _ = meltano.sync()
    print(report.summary_table(summaries))
    say(f"Writes in either system: {report.writes(summaries)}.")


def _audit() -> list[dict[str, Any]]:
    path = DEMO_DIR / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def main() -> int:
    # Fresh sandboxes every time, so the story and its numbers are the same on every run.
    if DEMO_DIR.exists():
        shutil.rmtree(DEMO_DIR)
    DEMO_DIR.mkdir()
    heading("Two systems that have never been synced (state in .demo/)")
    with (
        running_sandbox("customcrm", "--db", str(DEMO_DIR / "customcrm.db"), "--token", CUSTOMCRM_TOKEN,
                        "--seed", "7", *(part for flag in CUSTOMCRM_SEED.items() for part in flag)) as customcrm,
        running_sandbox("invoiced", "--db", str(DEMO_DIR / "invoiced.db"), "--api-key", INVOICED_KEY,
                        "--seed", "8", *(part for flag in INVOICED_SEED.items() for part in flag)) as invoiced,
    ):
        systems = Systems(customcrm.url, invoiced.url)
        systems.type_overlap(by_org_number=TYPED_BY_ORG_NUMBER, by_email=TYPED_BY_EMAIL, items=TYPED_ITEMS)
        show_systems(systems)
        say(f"Someone had typed {TYPED_BY_ORG_NUMBER + TYPED_BY_EMAIL} of the CRM's companies into Invoiced by hand "
            f"({TYPED_BY_ORG_NUMBER} with the org number in metadata, {TYPED_BY_EMAIL} with only the billing e-mail), "
            f"and {TYPED_ITEMS} of its products.")

        heading("meltano install (the first time takes a minute or two; after that, seconds)")
        meltano = Meltano(systems)
        meltano.install()
        first_syncs(meltano, systems)
        edits_and_a_clash(meltano, systems)
    heading("Done: both sandboxes stopped")
    say("Every field written is in .demo/audit.jsonl; the last summaries in .demo/target-*-summary.json.")
    say("Run a sandbox yourself, e.g. .venv/bin/python -m sandbox.customcrm --port 8082 --db .demo/customcrm.db "
        f"--token {CUSTOMCRM_TOKEN}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
