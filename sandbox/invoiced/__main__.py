"""`python -m sandbox.invoiced --api-key KEY [--db FILE] [--seed-customers N --seed S]`
(or the keys in $SANDBOX_INVOICED_API_KEYS)."""

from __future__ import annotations

import sys

from sandbox.common.cli import Credential, parse_args, serve
from sandbox.invoiced.app import InvoicedApp
from sandbox.invoiced.seed import seed
from sandbox.invoiced.store import Store

API_KEYS = Credential("--api-key", "SANDBOX_INVOICED_API_KEYS", "an API key clients may use")


def main(argv: list[str] | None = None) -> None:
    args = parse_args("python -m sandbox.invoiced", "A local stand-in for the Invoiced REST API.", API_KEYS, argv)
    store = Store(args.db)
    if args.seed_customers and store.is_empty():
        seed(store, args.seed_customers, args.seed)
        print(f"seeded {args.seed_customers} customers (seed {args.seed})", file=sys.stderr, flush=True)
    serve(InvoicedApp(store, args.credentials), args)


if __name__ == "__main__":
    main()
