"""Sales reps: a Customcrm user is no Invoiced object, but every invoice of the user's orders carries the user's
id, name and e-mail in its metadata. The latest name and e-mail are kept in the link store (entity `user`); the
invoices flow fills them in, and a change here updates every invoice found with `metadata[sales_rep_id]`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sync_core.client import RequestFailed
from sync_core.executor import SOURCE
from sync_core.http.invoiced import InvoicedApi
from sync_core.outcomes import Outcomes
from sync_core.store import LinkState, LinkStore, RetryKind
from sync_core.values import canonical, flatten

from target_invoiced.destinations import locked_invoice

STREAM = "sales_reps"
REP_FIELDS = ("metadata.sales_rep_name", "metadata.sales_rep_email")


class SalesReps:
    def __init__(self, api: InvoicedApi, store: LinkStore, outcomes: Outcomes, *, dry_run: bool,
                 logger: logging.Logger, max_in_flight: int = 1) -> None:
        self.api, self.store, self.outcomes, self.dry_run, self.logger = api, store, outcomes, dry_run, logger
        self.max_in_flight = max_in_flight
        self.seen: set[str] = set()  # user ids handled in this run

    def run(self, records: Sequence[Mapping[str, Any]]) -> None:
        latest = {str(record[SOURCE]["id"]): record for record in records}  # a user sent twice: its last version
        self.seen.update(latest)
        # Each rep is a look-up of its invoices (and their updates when it changed): as many at once as the
        # executor's records get, not one round trip after another.
        if self.max_in_flight <= 1 or len(latest) <= 1:
            for record in latest.values():
                self._one(record)
        else:
            with ThreadPoolExecutor(self.max_in_flight, thread_name_prefix=STREAM) as pool:
                for _ in pool.map(self._one, latest.values()):
                    pass
        if not self.dry_run:
            self.store.record_audit(self.outcomes.take_audit())

    def _one(self, record: Mapping[str, Any]) -> None:
        source = record[SOURCE]
        user_id = str(source["id"])
        if "_reject" in record:
            reject = record["_reject"]
            reason = f"{reject.get('field')}: {reject.get('reason')}; fix: {reject.get('fix')}"
            self.outcomes.count(STREAM, "rejected")
            if not self.dry_run:
                self.store.set_aside(STREAM, user_id, RetryKind.REJECTED, reason, record)
                self.outcomes.reject(STREAM, user_id, record, reason)
            return
        if source.get("deleted_at") is not None:
            self.outcomes.count(STREAM, "unchanged")  # the rep stays on the invoices as history
            return
        rep = {name: flatten(record).get(name) for name in REP_FIELDS}
        link = self.store.find("user", "customcrm", user_id)
        known = link.base("invoiced") if link is not None else None
        if known is not None and all(canonical(known.get(k)) == canonical(v) for k, v in rep.items()):
            self.outcomes.count(STREAM, "unchanged")
            return
        written, failed = self._update_invoices(user_id, rep)
        if failed:
            # Not stored as agreed: the rep is tried again on the next run, with the invoices that missed it.
            reason = f"{failed} of the rep's invoices were not updated: {failed[0]}"
            self.outcomes.count(STREAM, "rejected")
            if not self.dry_run:
                self.store.set_aside(STREAM, user_id, RetryKind.TRANSIENT, reason, record)
                self.outcomes.reject(STREAM, user_id, record, reason)
            return
        if not self.dry_run:
            self.store.save("user", customcrm_id=user_id, invoiced_id=None, origin="customcrm",
                            state=LinkState.LINKED, bases={"invoiced": rep})
            self.store.resolved(STREAM, user_id)
        # A rep is never created in Invoiced: it is written onto invoices, or (none differed) only remembered.
        self.outcomes.count(STREAM, "updated" if written else "unchanged")
        if written:
            self.logger.info("Sales rep %s: updated on %d invoice(s)", user_id, written)

    def retry_earlier(self) -> None:
        """Reps whose invoices were not all updated by an earlier run."""
        again = [r.record for r in self.store.set_aside_records(STREAM)
                 if r.kind is RetryKind.TRANSIENT and r.source_id not in self.seen]
        if again:
            self.logger.info("Retrying %d sales rep(s) whose invoices were not all updated", len(again))
            self.run(again)

    def _update_invoices(self, user_id: str, rep: Mapping[str, Any]) -> tuple[int, list[str]]:
        written, failed = 0, []
        for invoice in list(self.api.list("/invoices", {"metadata[sales_rep_id]": user_id})):
            metadata = invoice.get("metadata") or {}
            if all(canonical(metadata.get(k.removeprefix("metadata."))) == canonical(v) for k, v in rep.items()):
                continue
            changes = {k.removeprefix("metadata."): {"old": metadata.get(k.removeprefix("metadata.")), "new": v}
                       for k, v in rep.items()}
            entry = {"stream": STREAM, "action": "update", "customcrm_id": user_id,
                     "invoiced_id": str(invoice["id"]), "fields": {f"metadata.{k}": v for k, v in changes.items()}}
            if self.dry_run:
                self.outcomes.show_plan(entry)
                continue
            if locked_invoice(invoice) is not None:
                continue  # a paid, closed or voided invoice keeps the rep it was issued with
            merged = {**metadata, **{k.removeprefix("metadata."): v for k, v in rep.items() if v is not None}}
            try:
                self.api.update(f"/invoices/{invoice['id']}", {"metadata": merged})
            except RequestFailed as failure:
                self.logger.warning("Sales rep %s: invoice %s not updated: %s", user_id, invoice["id"], failure)
                failed.append(f"invoice {invoice['id']}: {failure}")
                continue
            self.outcomes.audit(entry)
            written += 1
        return written, failed
