"""`python -m sandbox.customcrm --port PORT --db FILE --token TOKEN [--seed-customers N --seed S]`
(or the tokens in $SANDBOX_CUSTOMCRM_TOKENS)."""

from __future__ import annotations

import os
import sys

from sandbox.common.cli import base_parser, serve
from sandbox.customcrm.app import CustomcrmApp
from sandbox.customcrm.seed import seed
from sandbox.customcrm.store import Store

# Tokens can come from the environment so they stay out of the process list, as the Invoiced sandbox's keys do.
TOKENS_ENV = "SANDBOX_CUSTOMCRM_TOKENS"


def main(argv: list[str] | None = None) -> None:
    parser = base_parser("python -m sandbox.customcrm", "Customcrm reference service (the CRM contract) on SQLite.")
    parser.add_argument(
        "--token", dest="tokens", action="append", default=[], metavar="TOKEN",
        help=f"bearer token clients must send; repeat to accept several, or comma-separated in ${TOKENS_ENV}",
    )
    parser.add_argument(
        "--seed-customers", type=int, default=0, metavar="N",
        help="fill an empty database with N customers and matching users, products and orders",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated data (default 0)")
    args = parser.parse_args(argv)
    tokens = [token.strip() for token in args.tokens or os.environ.get(TOKENS_ENV, "").split(",")]
    if not all(tokens):
        parser.error(f"give --token TOKEN (not empty), or set {TOKENS_ENV}")
    if args.seed_customers < 0:
        sys.exit("error: --seed-customers must be >= 0")
    store = Store(args.db)
    if args.seed_customers:
        seed(store, customers=args.seed_customers, seed_value=args.seed)
    serve(CustomcrmApp(store, tokens), args)


if __name__ == "__main__":
    main()
