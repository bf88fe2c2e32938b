"""The sinks: thin adapters from a stream to the core. Every stream but sales_reps is the core's SyncSink."""

from __future__ import annotations

from sync_core.target import SyncSink


class SalesRepsSink(SyncSink):
    """Users are no Invoiced object of their own: they reach Invoiced on their invoices (see reps.py)."""

    def write(self, records: list[dict]) -> None:
        self.sync_target.reps.run(records)  # type: ignore[attr-defined]
