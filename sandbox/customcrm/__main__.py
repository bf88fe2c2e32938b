"""`python -m sandbox.customcrm --port PORT --db FILE --token TOKEN [--seed-customers N --seed S]`."""

from __future__ import annotations

import sys

from sandbox.common.cli import base_parser, serve
from sandbox.customcrm.app import CustomcrmApp
from sandbox.customcrm.seed import seed
from sandbox.customcrm.store import Store


def main(argv: list[str] | None = None) -> None:
    parser = base_parser("python -m sandbox.customcrm", "Customcrm reference service (the CRM contract) on SQLite.")
    parser.add_argument(
        "--token", action="append", required=True, metavar="TOKEN",
        help="bearer token clients must send; repeat to accept several",
    )
    parser.add_argument(
        "--seed-customers", type=int, default=0, metavar="N",
        help="fill an empty database with N customers and matching users, products and orders",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated data (default 0)")
    args = parser.parse_args(argv)
    if any(not token.strip() for token in args.token):
        sys.exit("error: --token must not be empty")
    if args.seed_customers < 0:
        sys.exit("error: --seed-customers must be >= 0")
    store = Store(args.db)
    if args.seed_customers:
        seed(store, customers=args.seed_customers, seed_value=args.seed)
    serve(CustomcrmApp(store, args.token), args)


if __name__ == "__main__":
    main()
