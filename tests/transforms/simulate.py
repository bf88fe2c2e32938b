"""Plays the parts between two mapper runs: the Singer wire, the targets resolving references, and each system
storing what it was sent and giving it back the way its tap reads it.

It is deliberately small and literal, so a round-trip test shows the mapping, not this file, is what holds.
"""

from __future__ import annotations

import io
import itertools
import json
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from customcrm_invoiced_mapper.envelope import REJECT, SOURCE
from singer_sdk.singerlib.json import serialize_json


def wire(record: dict[str, Any]) -> dict[str, Any]:
    """What the next process reads: the SDK writer's JSON, read back with Decimal for fractions."""
    return json.load(io.StringIO(serialize_json(record)), parse_float=Decimal)


def mapped(record: dict[str, Any]) -> dict[str, Any]:
    """The mapped values only, without the envelope."""
    assert REJECT not in record, record[REJECT]
    return {k: v for k, v in record.items() if k != SOURCE}


class Systems:
    """The links both targets keep, and the user directory target-invoiced keeps from the sales_reps stream."""

    def __init__(self) -> None:
        self._numbers = itertools.count(100_000)
        self.crm_to_inv: dict[str, Any] = {}
        self.inv_to_crm: dict[str, str] = {}
        self.users: dict[str, dict[str, str]] = {}  # Customcrm user id → name, e-mail

    def link(self, crm_id: str | None, inv_id: Any) -> None:
        if crm_id is not None and inv_id is not None:
            self.crm_to_inv[crm_id] = inv_id
            self.inv_to_crm[str(inv_id)] = crm_id

    def invoiced_id(self, crm_id: str, *, new: Any = None) -> Any:
        if crm_id not in self.crm_to_inv:
            self.link(crm_id, new if new is not None else next(self._numbers))
        return self.crm_to_inv[crm_id]

    def customcrm_id(self, inv_id: Any, prefix: str) -> str:
        if str(inv_id) not in self.inv_to_crm:
            self.link(f"{prefix}{next(self._numbers)}", inv_id)
        return self.inv_to_crm[str(inv_id)]

    def user_by_email(self, email: str) -> str:
        for user_id, user in self.users.items():
            if user["email"] == email:
                return user_id
        user_id = f"usr_{next(self._numbers)}"
        self.users[user_id] = {"email": email, "name": email}
        return user_id


def _stamp(unix: int | None) -> str | None:
    if unix is None:
        return None
    return datetime.fromtimestamp(unix, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def stored_in_invoiced(
    stream: str, sent: dict[str, Any], systems: Systems, previous: dict[str, Any] | None = None
) -> dict[str, Any]:
    """target-invoiced writes `sent` (over `previous`, if the object existed); tap-invoiced reads the object back
    (timestamps as RFC 3339, references resolved, status computed the way Invoiced does)."""
    before = previous or {}
    obj = {**before, **mapped(wire(sent))}
    meta = {**(before.get("metadata") or {}), **(obj.get("metadata") or {})}
    obj["metadata"] = meta
    crm_id = meta.get("customcrm_id")
    if stream == "items" or ("id" in obj and obj["id"] is not None):
        systems.link(crm_id, obj["id"])
    else:
        obj["id"] = systems.invoiced_id(crm_id)
    if stream == "invoices":
        if obj.get("customer") is not None:
            obj["customer"] = systems.invoiced_id(obj["customer"]["customcrm_id"])
        for item in obj.get("items") or []:
            ref = item.get("catalog_item")
            item["catalog_item"] = (
                None if ref is None else systems.invoiced_id(ref["customcrm_id"], new=f"item-{ref['customcrm_id']}")
            )
        rep = meta.get("sales_rep_id")
        if rep is not None:
            user = systems.users.setdefault(rep, {"name": f"Rep {rep}", "email": f"{rep}@example.com"})
            meta.update(sales_rep_name=user["name"], sales_rep_email=user["email"])
        obj["date"], obj["due_date"] = _stamp(obj.get("date")), _stamp(obj.get("due_date"))
        voided = obj.get("voided") is True or before.get("voided") is True
        draft = obj.get("draft") is True and not voided
        paid = before.get("paid") is True  # only payments pay an invoice; the sync records none
        kept = before.get("status") if before.get("status") not in (None, "draft", "voided", "paid") else "not_sent"
        obj["status"] = "voided" if voided else "draft" if draft else "paid" if paid else kept
        obj.update(voided=voided, draft=draft, paid=paid)
    obj.update(updated_at="2030-01-01T00:00:00Z", deleted_at=None)
    return obj


def stored_in_customcrm(stream: str, sent: dict[str, Any], systems: Systems) -> dict[str, Any]:
    """target-customcrm writes `sent`; tap-customcrm reads the record back (references resolved to ids)."""
    rec = mapped(wire(sent))
    prefix = {"customers": "cus_", "products": "prd_", "orders": "ord_"}[stream]
    inv_id = (rec.get("external_ids") or {}).get("invoiced")
    if rec.get("id") is None:
        rec["id"] = systems.customcrm_id(inv_id, prefix)
    if stream == "orders":
        if rec.get("customer_id") is not None:
            rec["customer_id"] = systems.customcrm_id(rec["customer_id"]["invoiced_id"], "cus_")
        owner = rec.get("owner_user_id")
        rec["owner_user_id"] = None if owner is None else systems.user_by_email(owner["email"])
        for line in rec.get("lines") or []:
            ref = line.get("product_id")
            line["product_id"] = None if ref is None else systems.customcrm_id(ref["invoiced_id"], "prd_")
            if line.get("id") is None:
                line["id"] = f"lin_{next(systems._numbers)}"
    rec.update(updated_at="2030-01-01T00:00:00.000000Z", deleted_at=None, version=2)
    return rec
