"""`python -m sandbox.customcrm --port PORT --db FILE --token TOKEN [--seed-customers N --seed S]`
(or the tokens in $SANDBOX_CUSTOMCRM_TOKENS)."""

from __future__ import annotations

import argparse

from sandbox.common.cli import Credential, parse_args, serve
from sandbox.customcrm.app import CustomcrmApp
from sandbox.customcrm.seed import seed
from sandbox.customcrm.store import Store

TOKENS = Credential("--token", "SANDBOX_CUSTOMCRM_TOKENS", "bearer token clients must send")


def _seed_scale(parser: argparse.ArgumentParser) -> None:
    for flag, what in (("--seed-users", "users"), ("--seed-products", "products"), ("--seed-orders", "orders")):
        parser.add_argument(flag, type=_positive, metavar="N",
                            help=f"seed N {what} instead of a number in proportion to --seed-customers")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: list[str] | None = None) -> None:
    args = parse_args(
        "python -m sandbox.customcrm", "Customcrm reference service (the CRM contract) on SQLite.", TOKENS, argv,
        add_own=_seed_scale,
    )
    store = Store(args.db)
    if args.seed_customers:
        seed(store, customers=args.seed_customers, seed_value=args.seed, users=args.seed_users,
             products=args.seed_products, orders=args.seed_orders)
    serve(CustomcrmApp(store, args.credentials), args)


if __name__ == "__main__":
    main()
