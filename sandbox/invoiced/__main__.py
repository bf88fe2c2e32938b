"""`python -m sandbox.invoiced --api-key KEY [--db FILE] [--seed-customers N --seed S]`."""

from __future__ import annotations

import os
import sys

from sandbox.common.cli import base_parser, serve
from sandbox.invoiced.app import InvoicedApp
from sandbox.invoiced.seed import seed
from sandbox.invoiced.store import Store

API_KEYS_ENV = "SANDBOX_INVOICED_API_KEYS"


def main(argv: list[str] | None = None) -> None:
    parser = base_parser("python -m sandbox.invoiced", "A local stand-in for the Invoiced REST API.")
    parser.add_argument(
        "--api-key",
        dest="api_keys",
        metavar="KEY",
        action="append",
        default=[],
        help=f"an API key clients may use (repeatable); or comma-separated in ${API_KEYS_ENV}",
    )
    parser.add_argument(
        "--seed-customers", type=int, default=0, metavar="N",
        help="when the database is empty, fill it with N customers and invoices, items in proportion",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for the generated data (default 0)")
    args = parser.parse_args(argv)
    api_keys = args.api_keys or [k for k in os.environ.get(API_KEYS_ENV, "").split(",") if k]
    if not api_keys:
        parser.error(f"give at least one --api-key (or set {API_KEYS_ENV})")
    if args.seed_customers < 0:
        parser.error("--seed-customers must be >= 0")
    store = Store(args.db)
    if args.seed_customers and store.is_empty():
        seed(store, args.seed_customers, args.seed)
        print(f"seeded {args.seed_customers} customers (seed {args.seed})", file=sys.stderr, flush=True)
    serve(InvoicedApp(store, api_keys), args)


if __name__ == "__main__":
    main()
