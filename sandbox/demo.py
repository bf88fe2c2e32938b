"""`make demo`: the sync's story on two local sandboxes.

1. Start both sandboxes on loopback, seeded with the same realistic data every time, and show them answering.
2. Run both Meltano pipelines (tap -> mapping -> loader) against them. Customcrm -> Invoiced writes into the
   Invoiced sandbox with target-invoiced and prints its summary. Until target-customcrm lands, the way back
   ends in target-jsonl: what that target would receive is written to .demo/output/<pipeline>/<stream>.jsonl.
3. Edit one record on each side and run again: Meltano's state makes only the edited records flow, and
   target-invoiced writes just the changed field.
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
PIPELINES = {
    "customcrm-to-invoiced": ("tap-customcrm", "customcrm-to-invoiced", "target-invoiced"),
    "invoiced-to-customcrm": ("tap-invoiced", "invoiced-to-customcrm", "target-jsonl"),
}


def meltano(env: dict[str, str], *args: str) -> None:
    result = subprocess.run([MELTANO, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"meltano {' '.join(args)} failed:\n{result.stderr[-4000:]}")


def run_pipeline(env: dict[str, str], name: str, *, full_refresh: bool) -> dict[str, int]:
    """Run one pipeline; return how many records each output stream received in this run."""
    output = DEMO_DIR / "output" / name
    before = {f.stem: _count_lines(f) for f in output.glob("*.jsonl")}
    # The demo keeps its own state ids, so it never touches the state of a real `meltano run`.
    flags = ["--state-id-suffix", "demo", *(["--full-refresh"] if full_refresh else [])]
    meltano({**env, "TARGET_JSONL_DESTINATION_PATH": str(output)}, "run", *flags, *PIPELINES[name])
    if PIPELINES[name][-1] == "target-invoiced":
        summary = json.loads((DEMO_DIR / "summary.json").read_text())
        return {f"{stream} {outcome}": count for stream, row in summary["streams"].items()
                for outcome, count in row.items() if count}
    after = {f.stem: _count_lines(f) for f in output.glob("*.jsonl")}
    return {stream: count - before.get(stream, 0) for stream, count in sorted(after.items())}


def _count_lines(path: Path) -> int:
    with path.open() as file:
        return sum(1 for _ in file)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {stream}" for stream, n in counts.items() if n) or "nothing"


def show_pipelines(customcrm_url: str, invoiced_url: str) -> None:
    env = {
        **os.environ,
        "TAP_CUSTOMCRM_API_URL": customcrm_url,
        "TAP_CUSTOMCRM_API_TOKEN": CUSTOMCRM_TOKEN,
        "TAP_INVOICED_API_URL": invoiced_url,
        "TAP_INVOICED_API_KEY": INVOICED_KEY,
        "TARGET_INVOICED_API_URL": invoiced_url,
        "TARGET_INVOICED_API_KEY": INVOICED_KEY,
        "TARGET_INVOICED_LINK_STORE_URL": f"sqlite:///{DEMO_DIR / 'links.db'}",
        "TARGET_INVOICED_SUMMARY_PATH": str(DEMO_DIR / "summary.json"),
        "TARGET_INVOICED_REJECTS_PATH": str(DEMO_DIR / "rejects.jsonl"),
        "TARGET_INVOICED_AUDIT_PATH": str(DEMO_DIR / "audit.jsonl"),
    }
    print("\nInstalling the Meltano plugins (first time only takes a while) …")
    meltano(env, "install")
    print("\nFirst runs (full refresh):")
    for name, plugins in PIPELINES.items():
        print(f"  meltano run {' '.join(plugins)}: {_counts(run_pipeline(env, name, full_refresh=True))}")

    crm = requests.Session()
    crm.headers["Authorization"] = f"Bearer {CUSTOMCRM_TOKEN}"
    # An order that reached Invoiced (orders of inactive customers are refused there, and cancelled ones skipped).
    orders = crm.get(f"{customcrm_url}/v1/orders", params={"limit": 100}, timeout=10).json()["data"]
    order = next(o for o in orders if requests.get(
        f"{invoiced_url}/invoices", params={"metadata[customcrm_id]": o["id"]}, auth=(INVOICED_KEY, ""), timeout=10
    ).json())
    crm.patch(f"{customcrm_url}/v1/orders/{order['id']}", json={"purchase_order": "PO-DEMO-2"}, timeout=10)
    customer = requests.get(f"{invoiced_url}/customers", auth=(INVOICED_KEY, ""), timeout=10).json()[0]
    requests.patch(
        f"{invoiced_url}/customers/{customer['id']}", json={"phone": "+47 400 00 000"},
        auth=(INVOICED_KEY, ""), timeout=10,
    )
    print(
        f"\nEdited order {order['order_number']} in Customcrm and customer {customer['number']} in Invoiced; "
        "second runs (incremental, from Meltano's state):"
    )
    for name, plugins in PIPELINES.items():
        print(f"  meltano run {' '.join(plugins)}: {_counts(run_pipeline(env, name, full_refresh=False))}")
    print(f"\ntarget-invoiced's audit trail (every field it wrote) is in {DEMO_DIR / 'audit.jsonl'}, its rejects in "
          f"{DEMO_DIR / 'rejects.jsonl'}; what target-customcrm would receive is in "
          f"{DEMO_DIR / 'output'}/invoiced-to-customcrm/<stream>.jsonl")


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
        show_pipelines(customcrm.url, invoiced.url)
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
