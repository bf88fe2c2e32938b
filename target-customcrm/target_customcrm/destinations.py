"""Customcrm as the destination of each flow: how to find, compare and write customers, products and orders.

Customcrm's rules (docs/customcrm-contract.md): writes carry `If-Match` with the version read (a 412 makes the core
read again, plan again and try once more), creates carry an `Idempotency-Key`, a PATCH merges `billing_address`
and `external_ids` key by key and replaces `lines` whole, a delete is soft. References are compared in the form
the mapper names them (`{"invoiced_id": ...}`, `{"email": ...}`), the live record's projected the same way
through the links, and become Customcrm ids only in the body of a write.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sync_core.destination import Reference, SystemDestination, ToPeer
from sync_core.executor import SOURCE, MatchRule, Unprocessable
from sync_core.http.customcrm import CustomcrmApi
from sync_core.planner import Action, FieldRule, Incoming, Live, Plan, Rules
from sync_core.store import LinkStore
from sync_core.values import CUSTOMCRM_MAPS, INVOICED_MAPS, canonical, casefolded

CROSS_REFERENCE = MatchRule("external_ids.invoiced")
OWN_ID = MatchRule("id")  # the Customcrm id Invoiced keeps in metadata.customcrm_id
CASE_BLIND = FieldRule(same=casefolded)


@dataclass(frozen=True)
class Options:
    create_from_invoiced: bool = True
    create_orders_from_invoiced: bool = False


class Users:
    """Customcrm's users, read once per run: an order's owner is compared and written by e-mail."""

    def __init__(self, api: CustomcrmApi) -> None:
        self.api = api
        self._by_id: dict[str, dict[str, Any]] | None = None

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._by_id is None:
            self._by_id = {u["id"]: u for u in self.api.list("/v1/users")}
        return self._by_id

    def email_of(self, user_id: Any) -> str | None:
        user = self._load().get(str(user_id)) if user_id else None
        return user["email"] if user else None

    def user(self, user_id: Any) -> dict[str, Any] | None:
        return self._load().get(str(user_id)) if user_id else None

    def id_of(self, email: str) -> str | None:
        wanted = email.strip().casefold()
        return next((u["id"] for u in self._load().values()
                     if (u.get("email") or "").casefold() == wanted and not u.get("deleted_at")), None)


class CustomcrmDestination(SystemDestination):
    side = "customcrm"
    source_side = "invoiced"
    maps = CUSTOMCRM_MAPS
    peer_maps = INVOICED_MAPS
    read_only = frozenset({"id", "version", "created_at", "updated_at", "deleted_at", "total", "amount"})
    peer_cross_reference = "metadata.customcrm_id"

    def __init__(self, api: CustomcrmApi, store: LinkStore, to_peer: ToPeer, *, users: Users,
                 options: Options) -> None:
        self.users, self.options = users, options  # before the rules, which read the options
        super().__init__(api, store, to_peer)

    def peer_cross_reference_value(self, incoming: Incoming) -> Any:
        """As Invoiced holds it: none yet after a first create, so one it lacks gets written."""
        return incoming.values.get("id")


def _by_flag(live: Live) -> tuple[Action, str]:
    return Action.DELETE, "deleted in Invoiced: soft deleted in Customcrm"


class CustomersDestination(CustomcrmDestination):
    stream = "customers"
    entity = "customer"
    path = "/v1/customers"
    match_rules = (CROSS_REFERENCE, OWN_ID, MatchRule("org_number"), MatchRule("email", same=casefolded))

    def make_rules(self) -> Rules:
        return Rules(
            fields={"email": CASE_BLIND, "currency": CASE_BLIND},
            on_delete=_by_flag,
            skip_create=lambda _incoming: None if self.options.create_from_invoiced
            else "create_from_invoiced is off: customers made in Invoiced are not created in Customcrm",
        )


class ProductsDestination(CustomcrmDestination):
    stream = "products"
    entity = "product"
    path = "/v1/products"
    match_rules = (CROSS_REFERENCE, OWN_ID, MatchRule("sku"))

    def make_rules(self) -> Rules:
        return Rules(
            fields={"currency": CASE_BLIND},
            # An item archived in Invoiced (active: false here) is an item deleted there.
            cancelled_by={"active": False},
            on_delete=lambda live: (Action.NOOP, "already inactive") if live.record.get("active") is False
            else (Action.DELETE, "deleted (archived) in Invoiced: soft deleted in Customcrm"),
            skip_create=lambda incoming: "an archived item is not created" if incoming.values.get("active") is False
            else None,
        )

    def pick(self, versions: list[Mapping[str, Any]]) -> Mapping[str, Any]:
        """An archived version next to a live one of the same item is a price change (archive and re-create in
        Invoiced), not a delete: the live version counts."""
        live = [v for v in versions if v.get("active") is not False and v[SOURCE].get("deleted_at") is None]
        return live[-1] if live else versions[-1]


def _lines_compared(lines: Any) -> Any:
    """Order lines by what they say; a line's Customcrm id is how it is written, not what it means."""
    return canonical([{k: v for k, v in line.items() if k not in ("id", "amount")} for line in lines or []])


class OrdersDestination(CustomcrmDestination):
    stream = "orders"
    entity = "order"
    path = "/v1/orders"
    match_rules = (CROSS_REFERENCE, OWN_ID, MatchRule("order_number", same=casefolded))

    def make_rules(self) -> Rules:
        return Rules(
            fields={"currency": CASE_BLIND, "order_number": CASE_BLIND, "lines": FieldRule(same=_lines_compared),
                    "owner_user_id": FieldRule(same=lambda v: casefolded((v or {}).get("email")))},
            on_delete=lambda live: (Action.NOOP, "already cancelled") if live.record.get("status") == "cancelled"
            else (Action.VOID, "voided or deleted in Invoiced: the order is cancelled"),
            skip_create=lambda _incoming: None if self.options.create_orders_from_invoiced
            else "an invoice typed in Invoiced makes no order (create_orders_from_invoiced is off)",
        )

    references = (Reference("customer_id", "customer"), Reference("lines", "product", within="product_id"))

    def prepare(self, record: Mapping[str, Any], *, final: bool) -> Incoming:
        incoming = super().prepare(record, final=final)
        owner = incoming.values.get("owner_user_id")
        if not incoming.deleted and isinstance(owner, Mapping) and owner.get("email") and \
                self.users.id_of(owner["email"]) is None:
            msg = (f"owner_user_id: no Customcrm user has the e-mail {owner['email']!r} set as the invoice's sales "
                   "rep in Invoiced; fix: set a Customcrm user's e-mail there, or add that user to Customcrm")
            raise Unprocessable(msg)
        return incoming

    def project(self, found: Mapping[str, Any]) -> dict[str, Any]:
        values = super().project(found)
        values["owner_user_id"] = {"email": self.users.email_of(found.get("owner_user_id"))}
        return values

    def project_line(self, line: Mapping[str, Any]) -> dict[str, Any]:
        return {"description": line["description"], "quantity": line["quantity"], "unit_price": line["unit_price"]}

    def remove(self, plan: Plan, incoming: Incoming, live: Live) -> Live | None:
        if plan.action is Action.VOID:
            return self.live(self.api.update(f"{self.path}/{live.id}", {"status": "cancelled"},
                                             live.record.get("version")))
        return super().remove(plan, incoming, live)

    def in_own_ids(self, values: Mapping[str, Any], *, strict: bool = False,
                   live: Live | None = None) -> dict[str, Any]:
        """Besides the references: the owner by e-mail (left out when no user has it), and the lines as
        Customcrm replaces them, a line that is the same keeping its id."""
        out = super().in_own_ids(values, strict=strict, live=live)
        owner = out.get("owner_user_id")
        if isinstance(owner, Mapping):
            user_id = self.users.id_of(owner["email"]) if owner.get("email") else None
            if user_id is None:
                out.pop("owner_user_id")
            else:
                out["owner_user_id"] = user_id
        if "lines" in out:
            ids = {line["id"] for line in (live.record.get("lines") or [])} if live is not None else set()
            out["lines"] = [{**{k: v for k, v in line.items() if k not in ("id", "amount")},
                             **({"id": line["id"]} if line.get("id") in ids else {})}
                            for line in out["lines"] or []]
        return out

    def peer_base(self, base: Mapping[str, Any], live: Live, incoming: Incoming) -> Mapping[str, Any] | None:
        peer = super().peer_base(base, live, incoming)
        if peer is None:
            return None
        # target-invoiced fills each invoice's rep name and e-mail from the user; the base says the same.
        user = self.users.user(live.record.get("owner_user_id"))
        if user is not None:
            peer["metadata.sales_rep_name"] = user.get("name")
            peer["metadata.sales_rep_email"] = user.get("email")
        return peer


DESTINATIONS: tuple[type[CustomcrmDestination], ...] = (CustomersDestination, ProductsDestination, OrdersDestination)
