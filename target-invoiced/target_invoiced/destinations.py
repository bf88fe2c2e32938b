"""Invoiced as the destination of each flow: customers, items and invoices, declared on sync-core's
SystemDestination with Invoiced's rules.

No If-Match (the live record is read just before a write); `metadata` replaced whole by a PATCH (so it is merged
here and other tools' keys survive); items whose price, currency or tax flag change archived and created again;
paid, closed or voided invoices never edited; invoice lines sent whole.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from sync_core.client import RequestFailed
from sync_core.destination import FanOut, Reference, RefusingState, SystemDestination
from sync_core.executor import MatchRule
from sync_core.planner import Action, FieldRule, Incoming, Live, Plan, Rules
from sync_core.values import CUSTOMCRM_MAPS, INVOICED_MAPS, casefolded, flatten

CROSS_REFERENCE = MatchRule("metadata.customcrm_id")
CASE_BLIND = FieldRule(same=casefolded)
FLAG = FieldRule(same=bool)  # an absent flag is a false one
ONE_WAY = FieldRule(one_way=True)


class InvoicedDestination(SystemDestination):
    side = "invoiced"
    source_side = "customcrm"
    maps = INVOICED_MAPS
    peer_maps = CUSTOMCRM_MAPS
    # Whether Customcrm holds the cross-reference is not known here (an item's id may be derived from its SKU): no
    # agreed value, so target-customcrm writes it where it is missing and leaves it where it is the same.
    peer_cross_reference = "external_ids.invoiced"
    # A deactivated customer or archived item can still be named on an invoice: the sync refuses that itself.
    refuses_deleted_references = True

    def body(self, values: Mapping[str, Any], live: Live | None) -> dict[str, Any]:
        """The fields to write, with `metadata` merged into the live map (a PATCH replaces it whole)."""
        body = super().body(values, live)
        if "metadata" in body:
            merged = dict((live.record.get("metadata") or {}) if live is not None else {})
            merged.update(body["metadata"])
            body["metadata"] = {key: value for key, value in merged.items() if value not in (None, "")}
        return body


class CustomersDestination(InvoicedDestination):
    stream = "customers"
    entity = "customer"
    path = "/customers"
    rules = Rules(
        fields={"email": CASE_BLIND, "currency": CASE_BLIND, "country": CASE_BLIND},
        on_delete=lambda live: (
            (Action.NOOP, "already inactive") if live.record.get("active") is False
            else (Action.DEACTIVATE, "deleted in Customcrm; Invoiced keeps customers that have invoices")
        ),
    )
    # Customcrm's own cross-reference (external_ids.invoiced, mapped to id) first, then Invoiced's, then the
    # business keys.
    match_rules = (CROSS_REFERENCE, MatchRule("id"), MatchRule("metadata.org_number"),
                   MatchRule("email", same=casefolded))

    def lookup(self, rule: MatchRule, value: Any) -> list[Live]:
        if rule.field == "id":
            found = self.fetch(str(value)) if str(value).isdigit() else None
            return [] if found is None else [found]
        return super().lookup(rule, value)

    def remove(self, plan: Plan, incoming: Incoming, live: Live) -> Live | None:
        return self.live(self.api.update(f"{self.path}/{live.id}", {"active": False}))


class ItemsDestination(InvoicedDestination):
    stream = "items"
    entity = "product"
    path = "/items"
    rules = Rules(
        fields={"currency": CASE_BLIND, "archived": FLAG},
        recreate_on=frozenset({"unit_cost", "currency", "taxable"}),
        transitions={"archived": {False: Action.RECREATE}},  # an archived item made active again
        cancelled_by={"archived": True},
        on_delete=lambda live: (
            (Action.NOOP, "already archived") if live.record.get("archived")
            else (Action.ARCHIVE, "deleted or made inactive in Customcrm")
        ),
        skip_create=lambda incoming: "an inactive product is not created" if incoming.values.get("archived") else None,
        # Archived in Invoiced while the sync last left it live: deleted there, not to be revived by an edit.
        vanished=lambda live, base: bool(live.record.get("archived")) and not (base or {}).get("archived"),
    )
    match_rules = (CROSS_REFERENCE, MatchRule("id", same=casefolded))  # item ids ignore case in Invoiced
    chooses_id = True

    # Invoiced's item objects carry no archived flag: a live item is in the default list, an archived one only
    # under archived=1 (and GET /items/{id} answers either). So items are read from the two lists.

    def fetch(self, record_id: str) -> Live | None:
        for archived in (False, True):
            found = list(self.api.list(self.path, {"filter[id]": record_id, **({"archived": 1} if archived else {})}))
            if found:
                return self.live({**found[-1], "archived": archived})
        return None

    def lookup(self, rule: MatchRule, value: Any) -> list[Live]:
        if rule.field == "id":
            found = self.fetch(str(value))
            return [] if found is None or found.record.get("archived") else [found]
        return [self.live({**live.record, "archived": False}) for live in super().lookup(rule, value)]

    def list_all(self) -> Iterable[Live]:
        return (self.live({**found, "archived": False}) for found in self.api.list(self.path))

    def remove(self, plan: Plan, incoming: Incoming, live: Live) -> Live | None:
        path = f"{self.path}/{live.id}"
        if plan.action is Action.ARCHIVE:
            self.api.delete(path)
            return self.live({**live.record, "archived": True})
        # RECREATE: Invoiced keeps price, currency and tax flag fixed on an item, and allows its id again once
        # the item is archived. An archived item stays archived: archiving it again finds nothing to do. The new
        # item is the live one with the plan's changes: what Invoiced changed alone, and other tools' metadata, stay.
        if not live.record.get("archived"):
            self.api.delete(path)
        kept = {name: live.record.get(name) for name in ITEM_FIELDS if live.record.get(name) is not None}
        values = {**flatten(kept), **plan.updates, "id": live.id, "archived": None}
        # The archived version's time names this attempt: a lost answer replays it, a later change (even back to
        # the same values) is a new one.
        digest = hashlib.sha256(f"{live.id}|{live.record.get('updated_at')}|{sorted(map(str, values.items()))}"
                                .encode()).hexdigest()
        created = self.api.create(self.path, self.body(values, None), f"recreate-{digest[:40]}")
        return self.live({**created, "archived": False})

    def carry_out(self, plan: Plan, incoming: Incoming, live: Live | None, idempotency_key: str | None) -> Live | None:
        after = super().carry_out(plan, incoming, live, idempotency_key)
        if after is not None and "archived" not in after.record:
            after = self.live({**after.record, "archived": False})
        return after

    def body(self, values: Mapping[str, Any], live: Live | None) -> dict[str, Any]:
        body = super().body(values, live)
        body.pop("archived", None)  # archiving is a DELETE, never a field
        return body


# What an item is made of (all an item's writable fields), for creating it again as it was.
ITEM_FIELDS = ("name", "currency", "unit_cost", "description", "type", "taxable", "discountable",
               "avalara_tax_code", "avalara_location_code", "gl_account", "metadata")
LOCKED_STATUSES = ("paid", "voided")
LINE_FIELDS = ("catalog_item", "name", "quantity", "unit_cost")


def locked_invoice(record: Mapping[str, Any]) -> str | None:
    """Why Invoiced refuses to edit this invoice, or None."""
    status = record.get("status")
    if status in LOCKED_STATUSES or record.get("closed"):
        state = status if status in LOCKED_STATUSES else "closed"
        return (f"invoice {record.get('number')} is {state} in Invoiced, which refuses edits to paid, closed or "
                "voided invoices; change it in Invoiced (or issue a credit note) if the order really changed")
    return None


class InvoicesDestination(InvoicedDestination):
    stream = "invoices"
    entity = "order"
    path = "/invoices"
    match_rules = (CROSS_REFERENCE, MatchRule("number", same=casefolded))

    @staticmethod
    def _locked(live: Live) -> str | None:
        return locked_invoice(live.record)

    @staticmethod
    def _on_delete(live: Live) -> tuple[Action, str]:
        record = live.record
        if record.get("voided"):
            return Action.NOOP, "already voided"
        if record.get("status") == "paid":
            return Action.CONFLICT, (f"order deleted or cancelled in Customcrm, but invoice {record.get('number')} is "
                                     "paid: left as it is; settle it in Invoiced (e.g. a credit note)")
        if record.get("draft"):
            return Action.DELETE, "order deleted or cancelled in Customcrm; the invoice was a draft"
        return Action.VOID, "order deleted or cancelled in Customcrm; the invoice was issued, so it is voided"

    rules = Rules(
        fields={"currency": CASE_BLIND, "number": CASE_BLIND, "metadata.sales_rep_email": CASE_BLIND,
                "voided": FLAG, "draft": FLAG,
                # The rep's id and name follow the order's owner in Customcrm; only the e-mail travels back.
                "metadata.sales_rep_id": ONE_WAY, "metadata.sales_rep_name": ONE_WAY},
        fixed={"customer": "Invoiced keeps an invoice's customer as it was created (a PATCH ignores it): void the "
                           "invoice in Invoiced and create the order again under its new customer"},
        cancelled_by={"voided": True},  # a cancelled order: deleted, voided or left alone as a delete would be
        locked=_locked,
        on_delete=_on_delete,
        skip_create=lambda incoming: "a cancelled order is not invoiced" if incoming.values.get("voided") else None,
    )

    references = (
        Reference("customer", "customer", cast=int,
                  refusing=RefusingState({"active": False}, "inactive", "e.g. when it is made active in Customcrm")),
        Reference("items", "product", within="catalog_item"),
    )

    def prepare(self, record: Mapping[str, Any], *, final: bool) -> Incoming:
        """Besides the references: the order owner's name and e-mail, as the users flow last left them."""
        incoming = super().prepare(record, final=final)
        if incoming.deleted:
            return incoming
        values, waiting = dict(incoming.values), list(incoming.waiting_on)
        rep_id = values.get("metadata.sales_rep_id")
        if rep_id:
            rep = self.store.find("user", "customcrm", str(rep_id))
            base = rep.base("invoiced") if rep is not None else None
            if base is not None:
                values.update(base)
            elif not final:
                # The input may carry the user later: wait for it, this run only.
                waiting.append(f"sales rep {rep_id}")
        return replace(incoming, values=values, waiting_on=tuple(waiting))

    def project_line(self, line: Mapping[str, Any]) -> dict[str, Any]:
        projected = {name: line.get(name) for name in LINE_FIELDS}
        projected["metadata"] = {"customcrm_id": (line.get("metadata") or {}).get("customcrm_id")}
        return projected

    def remove(self, plan: Plan, incoming: Incoming, live: Live) -> Live | None:
        if plan.action is Action.VOID:
            return self._void(live)
        return super().remove(plan, incoming, live)

    def _void(self, live: Live) -> Live:
        try:
            return self.live(self.api.action(f"{self.path}/{live.id}/void"))
        except RequestFailed:
            # A retried void whose first answer was lost is refused as "already voided": that is success.
            now = self.fetch(live.id)
            if now is not None and now.record.get("voided"):
                return now
            raise

    def body(self, values: Mapping[str, Any], live: Live | None) -> dict[str, Any]:
        body = super().body(values, live)
        body.pop("voided", None)  # voiding is its own request
        if "items" in body:
            body["items"] = self._lines(body["items"] or [], live)
        if live is not None and body.get("draft") is True:
            body.pop("draft")  # an issued invoice cannot go back to draft
        return body

    @staticmethod
    def _lines(lines: list[Mapping[str, Any]], live: Live | None) -> list[dict[str, Any]]:
        """The whole list, as Invoiced replaces it; a line keeps its Invoiced id through its Customcrm line id."""
        existing = {}
        for item in (live.record.get("items") or []) if live is not None else []:
            line_id = (item.get("metadata") or {}).get("customcrm_id")
            if line_id:
                existing[line_id] = item
        sent = []
        for line in lines:
            body = {name: line.get(name) for name in LINE_FIELDS if line.get(name) is not None}
            metadata = dict(line.get("metadata") or {})
            kept = existing.get(metadata.get("customcrm_id"))
            if kept is not None:
                body["id"] = kept["id"]
                metadata = {**(kept.get("metadata") or {}), **metadata}  # a line's other metadata keys stay
            body["metadata"] = metadata
            sent.append(body)
        return sent


class SalesRepsDestination(FanOut):
    """A Customcrm user is no Invoiced object: every invoice of the user's orders carries the user's id, name and
    e-mail in its metadata. A change of name or e-mail is written onto each of them; the invoices flow fills new
    invoices in from the values kept on the user's link."""

    stream = "sales_reps"
    entity = "user"
    fields = ("metadata.sales_rep_name", "metadata.sales_rep_email")
    carried_by = MatchRule("metadata.sales_rep_id")
    rules = Rules(fields={"metadata.sales_rep_email": CASE_BLIND})


DESTINATIONS: tuple[type[InvoicedDestination], ...] = (CustomersDestination, ItemsDestination, InvoicesDestination)
