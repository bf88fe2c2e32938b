"""The sinks: thin adapters from a stream to the core. Every stream but sales_reps is the core's SyncSink."""

from __future__ import annotations

from sync_core.target import SyncSink


class SalesRepsSink(SyncSink):
    """Users are no Invoiced object of their own: they reach Invoiced on their invoices (see reps.py)."""

    def process_batch(self, context: dict) -> None:
        records = context.get("records") or []
        if records:
            target = self.sync_target
            target.executor  # noqa: B018 -- built first: checks access and opens the store
            target.reps.run(records)  # type: ignore[attr-defined]
