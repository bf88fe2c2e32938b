"""Command-line plumbing shared by `python -m sandbox.invoiced` and `python -m sandbox.customcrm`."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import ssl
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from sandbox.common.faults import FaultConfig, FaultInjector
from sandbox.common.http import App, SandboxServer, tls_context


@dataclass(frozen=True)
class Credential:
    """How clients of one sandbox prove who they are: a repeatable flag, or a comma-separated variable."""

    flag: str  # e.g. "--api-key"
    env: str  # e.g. "SANDBOX_INVOICED_API_KEYS"; keeps secrets out of the process list
    help: str


def parse_args(
    prog: str, description: str, credential: Credential, argv: list[str] | None = None,
    add_own: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.Namespace:
    """Both sandboxes' command line; `args.credentials` holds the accepted keys or tokens. `add_own` adds the flags
    only one sandbox has."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (printed)")
    parser.add_argument("--db", default=":memory:", help="SQLite file holding the state, or :memory:")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    parser.add_argument("--tls-cert", metavar="PEM", help="serve HTTPS with this certificate (chain), PEM")
    parser.add_argument("--tls-key", metavar="PEM", help="the private key of --tls-cert, PEM")
    parser.add_argument(
        credential.flag, dest="credentials", action="append", default=[], metavar="SECRET",
        help=f"{credential.help}; repeat to accept several, or comma-separated in ${credential.env}",
    )
    parser.add_argument(
        "--seed-customers", type=int, default=0, metavar="N",
        help="when the database is empty, fill it with N customers and everything else in proportion",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated data (default 0)")
    if add_own:
        add_own(parser)
    FaultConfig.add_arguments(parser)
    args = parser.parse_args(argv)
    given = args.credentials or os.environ.get(credential.env, "").split(",")
    args.credentials = [secret.strip() for secret in given]
    if not all(args.credentials):
        parser.error(f"give {credential.flag} SECRET (not empty), or set {credential.env}")
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("give --tls-cert and --tls-key together (or neither, for plain HTTP)")
    if args.seed_customers < 0:
        parser.error("--seed-customers must be >= 0")
    return args


def serve(app: App, args: argparse.Namespace) -> NoReturn:
    """Serve until SIGINT or SIGTERM; the first stdout line is `listening on <url>`."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        faults = FaultConfig.from_args(args)
    except ValueError as exc:
        sys.exit(f"error: {exc}")
    try:
        tls = tls_context(args.tls_cert, args.tls_key) if args.tls_cert else None
    except (OSError, ssl.SSLError) as exc:
        sys.exit(f"error: cannot load --tls-cert/--tls-key: {exc}")
    try:
        server = SandboxServer((args.host, args.port), app, FaultInjector(faults), verbose=args.verbose, tls=tls)
    except OSError as exc:
        sys.exit(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror} (use another --port, or 0 for a "
                 "free one)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"listening on {server.url}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    sys.exit(0)
