"""Command-line plumbing shared by `python -m sandbox.invoiced` and `python -m sandbox.customcrm`."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from typing import NoReturn

from sandbox.common.faults import FaultConfig, FaultInjector
from sandbox.common.http import App, SandboxServer


def base_parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (printed)")
    parser.add_argument("--db", default=":memory:", help="SQLite file holding the state, or :memory:")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    FaultConfig.add_arguments(parser)
    return parser


def serve(app: App, args: argparse.Namespace) -> NoReturn:
    """Serve until SIGINT or SIGTERM; the first stdout line is `listening on <url>`."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        faults = FaultConfig.from_args(args)
    except ValueError as exc:
        sys.exit(f"error: {exc}")
    server = SandboxServer((args.host, args.port), app, FaultInjector(faults), verbose=args.verbose)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"listening on {server.url}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    sys.exit(0)
