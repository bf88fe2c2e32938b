"""`make demo`: start both sandboxes on loopback, seed them, and show what they serve.

Until the sync pipeline exists this is the whole story: two local stand-ins that answer like the
real systems. The data lives in .demo/ so a second run starts from the same seeded state.
"""

from __future__ import annotations

import shutil
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


def main() -> int:
    fresh = "--fresh" in sys.argv
    if fresh and DEMO_DIR.exists():
        shutil.rmtree(DEMO_DIR)
    DEMO_DIR.mkdir(exist_ok=True)
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
