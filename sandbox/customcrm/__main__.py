"""`python -m sandbox.customcrm --port PORT --db FILE --token TOKEN [--seed-customers N --seed S]`
(or the tokens in $SANDBOX_CUSTOMCRM_TOKENS)."""

from __future__ import annotations

from sandbox.common.cli import Credential, parse_args, serve
from sandbox.customcrm.app import CustomcrmApp
from sandbox.customcrm.seed import seed
from sandbox.customcrm.store import Store

TOKENS = Credential("--token", "SANDBOX_CUSTOMCRM_TOKENS", "bearer token clients must send")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(
        "python -m sandbox.customcrm", "Customcrm reference service (the CRM contract) on SQLite.", TOKENS, argv
    )
    store = Store(args.db)
    if args.seed_customers:
        seed(store, customers=args.seed_customers, seed_value=args.seed)
    serve(CustomcrmApp(store, args.credentials), args)


if __name__ == "__main__":
    main()
