"""`make demo`: the sync's story on two local sandboxes.

1. Start both sandboxes on loopback, seeded with the same realistic data every time, and show them answering.
2. `meltano run sync` (the job in meltano.yml, `dev` environment): Customcrm -> Invoiced with target-invoiced,
   then Invoiced -> Customcrm with target-customcrm, each printing what it did. A second run completes the
   cross-references of what Customcrm created.
3. Edit one record on each side and sync again: exactly those two edits travel; one more sync writes nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import requests

from sandbox.common.process import REPO_ROOT, running_sandbox

DEMO_DIR = REPO_ROOT / ".demo"
INVOICED_KEY = "demo_invoiced_key"
CUSTOMCRM_TOKEN = "demo_customcrm_token"  # noqa: S105 - a public demo value
SEED_CUSTOMERS = "50"


def _show(label: str, response: requests.Response, summary: str) -> None:
    print(f"  {response.request.method} {label:<42} -> {response.status_code}  {summary}")


def show_invoiced(url: str) -> None:
    session = requests.Session()
    session.auth = (INVOICED_KEY, "")
    print(f"\nInvoiced sandbox at {url} (HTTP Basic, key as username)")
    for path in ("/customers", "/invoices", "/items", "/events"):
        response = session.get(url + path, params={"per_page": 3}, timeout=10)
        total = response.headers.get("X-Total-Count")
        _show(path + "?per_page=3", response, f"{total} in all; Link: {response.headers.get('Link', '')[:60]}…")
    invoice = session.get(url + "/invoices", params={"per_page": 1}, timeout=10).json()[0]
    lines = ", ".join(f"{line['quantity']} x {line['name']}" for line in invoice["items"])
    print(f"  first invoice {invoice['number']}: {invoice['status']}, total {invoice['total']} "
          f"{invoice['currency']} ({lines})")
    refused = requests.get(url + "/customers", auth=("wrong-key", ""), timeout=10)
    _show("/customers with a wrong key", refused, refused.json()["message"])


def show_customcrm(url: str) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {CUSTOMCRM_TOKEN}"
    print(f"\nCustomcrm reference service at {url} (Bearer token, contract in sandbox/customcrm)")
    for entity in ("customers", "products", "orders", "users"):
        response = session.get(f"{url}/v1/{entity}", params={"limit": 3}, timeout=10)
        body = response.json()
        names = "; ".join(str(r.get("name") or r.get("order_number")) for r in body["data"])
        _show(f"/v1/{entity}?limit=3", response, f"{names[:70]}")
    refused = requests.get(url + "/v1/customers", timeout=10)
    _show("/v1/customers without a token", refused, refused.json()["error"]["message"])


MELTANO = str(Path(sys.executable).with_name("meltano"))
TARGETS = ("target-invoiced", "target-customcrm")


def meltano(env: dict[str, str], *args: str) -> None:
    result = subprocess.run([MELTANO, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"meltano {' '.join(args)} failed:\n{result.stderr[-4000:]}")


def run_sync(env: dict[str, str], *, full_refresh: bool) -> dict[str, dict[str, int]]:
    """`meltano run sync` (both directions); per target, what it did."""
    # The demo keeps its own state ids, so it never touches the state of a real `meltano run`.
    flags = ["--state-id-suffix", "demo", *(["--full-refresh"] if full_refresh else [])]
    meltano(env, "run", *flags, "sync")
    done = {}
    for target in TARGETS:
        summary = json.loads((DEMO_DIR / f"{target}-summary.json").read_text())
        done[target] = {f"{stream} {outcome}": count for stream, row in summary["streams"].items()
                        for outcome, count in row.items() if count and outcome != "unchanged"}
    return done


def _show_sync(label: str, done: dict[str, dict[str, int]]) -> None:
    print(f"\n{label}")
    for target, counts in done.items():
        print(f"  {target:<17} {', '.join(f'{n} {what}' for what, n in counts.items()) or 'wrote nothing'}")


def show_sync(customcrm_url: str, invoiced_url: str) -> None:
    env = {
        **os.environ,
        "DEV_CUSTOMCRM_API_URL": customcrm_url,
        "DEV_CUSTOMCRM_API_TOKEN": CUSTOMCRM_TOKEN,
        "DEV_INVOICED_API_URL": invoiced_url,
        "DEV_INVOICED_API_KEY": INVOICED_KEY,
        "DEV_LINK_STORE_URL": f"sqlite:///{DEMO_DIR / 'links.db'}",
    }
    for target in TARGETS:
        prefix = target.upper().replace("-", "_")
        env[f"{prefix}_SUMMARY_PATH"] = str(DEMO_DIR / f"{target}-summary.json")
        env[f"{prefix}_REJECTS_PATH"] = str(DEMO_DIR / "rejects.jsonl")
        env[f"{prefix}_AUDIT_PATH"] = str(DEMO_DIR / "audit.jsonl")
    print("\nInstalling the Meltano plugins (first time only takes a while) …")
    meltano(env, "install")
    _show_sync("First `meltano run sync` (Customcrm -> Invoiced, then Invoiced -> Customcrm):",
               run_sync(env, full_refresh=True))
    _show_sync("Second sync (Invoiced gets the cross-references of what Customcrm created):",
               run_sync(env, full_refresh=False))

    crm = requests.Session()
    crm.headers["Authorization"] = f"Bearer {CUSTOMCRM_TOKEN}"
    # An order that reached Invoiced (orders of inactive customers are refused there, and cancelled ones skipped).
    orders = crm.get(f"{customcrm_url}/v1/orders", params={"limit": 100}, timeout=10).json()["data"]
    order = next(o for o in orders if (o.get("external_ids") or {}).get("invoiced"))
    crm.patch(f"{customcrm_url}/v1/orders/{order['id']}", json={"purchase_order": "PO-DEMO-2"}, timeout=10)
    customer = next(c for c in requests.get(f"{invoiced_url}/customers", auth=(INVOICED_KEY, ""), timeout=10).json()
                    if (c.get("metadata") or {}).get("customcrm_id"))
    requests.patch(f"{invoiced_url}/customers/{customer['id']}", json={"phone": "+47 400 00 000"},
                   auth=(INVOICED_KEY, ""), timeout=10)
    print(f"\nEdited order {order['order_number']} in Customcrm (purchase order) and customer {customer['name']} in "
          "Invoiced (phone).")
    _show_sync("Third sync carries exactly those two edits:", run_sync(env, full_refresh=False))
    _show_sync("Fourth sync: nothing changed, nothing written:", run_sync(env, full_refresh=False))
    print(f"\nEvery field written is in {DEMO_DIR / 'audit.jsonl'}, every record set aside in "
          f"{DEMO_DIR / 'rejects.jsonl'}.")


def main() -> int:
    # Fresh sandboxes every time, so the story and its numbers are the same on every run.
    if DEMO_DIR.exists():
        shutil.rmtree(DEMO_DIR)
    DEMO_DIR.mkdir()
    seed = ["--seed-customers", SEED_CUSTOMERS, "--seed", "7"]
    print(f"Starting both sandboxes with {SEED_CUSTOMERS} seeded customers each (state in {DEMO_DIR}) …")
    with (
        running_sandbox("invoiced", "--db", str(DEMO_DIR / "invoiced.db"), "--api-key", INVOICED_KEY, *seed)
        as invoiced,
        running_sandbox("customcrm", "--db", str(DEMO_DIR / "customcrm.db"), "--token", CUSTOMCRM_TOKEN, *seed)
        as customcrm,
    ):
        show_invoiced(invoiced.url)
        show_customcrm(customcrm.url)
        show_sync(customcrm.url, invoiced.url)
    print(
        "\nBoth sandboxes stopped. Run one yourself, e.g.\n"
        f"  .venv/bin/python -m sandbox.invoiced --port 8081 --db {Path('.demo/invoiced.db')} "
        f"--api-key {INVOICED_KEY}\n"
        f"  .venv/bin/python -m sandbox.customcrm --port 8082 --db {Path('.demo/customcrm.db')} "
        f"--token {CUSTOMCRM_TOKEN}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
