"""Fault injection shared by both sandboxes.

Every request draws its fate from one seeded RNG, so a run with the same seed and the same
sequence of requests sees the same faults. Each system renders the injected errors in its own
error format; this module only decides.
"""

from __future__ import annotations

import argparse
import enum
import os
import random
import threading
import time
from dataclasses import dataclass, fields

ENV_PREFIX = "SANDBOX_FAULT_"


class Fault(enum.Enum):
    """What happens to one request instead of (or after) normal handling."""

    NONE = "none"
    SERVER_ERROR = "server_error"  # answer 500 without handling
    RATE_LIMIT = "rate_limit"  # answer 429 without handling
    DROP = "drop"  # close the connection before handling
    AMBIGUOUS_WRITE = "ambiguous_write"  # handle and commit, then close without answering
    # As if the client died between the headers and the body of a write: handled with an empty body (its answer kept
    # under its Idempotency-Key, as a server that did not wait for the body would), then closed without answering.
    HEADERS_ONLY = "headers_only"


HELP = {
    "latency_ms": "milliseconds added before every answer, >= 0 (e.g. 50: a distant API)",
    "jitter_ms": "up to this many more milliseconds, drawn per request, >= 0",
    "error_rate": "share of requests answered 500 without being handled, 0 to 1 (e.g. 0.1)",
    "rate_limit_rate": "share of requests answered 429 without being handled, 0 to 1",
    "drop_rate": "share of requests whose connection is closed before handling, 0 to 1",
    "ambiguous_write_rate": "share of writes handled and committed, then closed without an answer, 0 to 1",
    "headers_only_rate": "share of writes with a body handled as if the client had died after sending its headers "
    "(handled with an empty body, the answer kept under the Idempotency-Key, then closed unanswered), 0 to 1",
    "seed": "seed of the fault draws: the same seed and requests meet the same faults",
}


@dataclass(frozen=True)
class FaultConfig:
    """Shares are probabilities in [0, 1]; latency is in milliseconds."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    drop_rate: float = 0.0
    ambiguous_write_rate: float = 0.0
    headers_only_rate: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("error_rate", "rate_limit_rate", "drop_rate", "ambiguous_write_rate", "headers_only_rate"):
            share = getattr(self, name)
            if not 0.0 <= share <= 1.0:
                msg = f"fault setting {name}={share} is out of range: use a share between 0 and 1"
                raise ValueError(msg)
        if self.latency_ms < 0 or self.jitter_ms < 0:
            msg = "fault latency and jitter must be >= 0 milliseconds"
            raise ValueError(msg)
        request_shares = self.error_rate + self.rate_limit_rate + self.drop_rate
        if request_shares > 1.0:
            msg = "error_rate + rate_limit_rate + drop_rate must not exceed 1"
            raise ValueError(msg)
        if self.ambiguous_write_rate + self.headers_only_rate > 1.0:
            msg = "ambiguous_write_rate + headers_only_rate must not exceed 1"
            raise ValueError(msg)

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self) if f.name != "seed")

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Add one --fault-* flag per setting; each defaults to its SANDBOX_FAULT_* variable."""
        group = parser.add_argument_group(
            "fault injection", f"off by default; each flag may also be set as {ENV_PREFIX}<NAME>"
        )
        for f in fields(cls):
            env_name = ENV_PREFIX + f.name.upper()
            kind = int if f.name == "seed" else float
            group.add_argument(
                "--fault-" + f.name.replace("_", "-"),
                dest="fault_" + f.name,
                type=kind,
                default=kind(os.environ.get(env_name, f.default)),
                metavar="N" if f.name == "seed" else ("MS" if f.name.endswith("_ms") else "SHARE"),
                help=f"{HELP[f.name]} (or ${env_name})",
            )

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> FaultConfig:
        return cls(**{f.name: getattr(args, "fault_" + f.name) for f in fields(cls)})


WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})


class FaultInjector:
    """Decides, per request, which fault (if any) strikes it and how long it waits first."""

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self._rng = random.Random(config.seed)
        self._lock = threading.Lock()

    def draw(self, method: str) -> tuple[Fault, float]:
        """Return the fault for one request and its added latency in seconds."""
        config = self.config
        if not config.active:
            return Fault.NONE, 0.0
        with self._lock:
            delay = config.latency_ms + self._rng.uniform(0, config.jitter_ms)
            roll = self._rng.random()
            write_roll = self._rng.random()
        fault = Fault.NONE
        for share, kind in (
            (config.error_rate, Fault.SERVER_ERROR),
            (config.rate_limit_rate, Fault.RATE_LIMIT),
            (config.drop_rate, Fault.DROP),
        ):
            if roll < share:
                fault = kind
                break
            roll -= share
        if fault is Fault.NONE and method in WRITE_METHODS:
            if write_roll < config.ambiguous_write_rate:
                fault = Fault.AMBIGUOUS_WRITE
            elif write_roll < config.ambiguous_write_rate + config.headers_only_rate:
                fault = Fault.HEADERS_ONLY
        return fault, delay / 1000.0

    @staticmethod
    def wait(seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)
