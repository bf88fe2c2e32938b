"""Customcrm as the destination of each flow: how to find, compare and write customers, products and orders.

Customcrm's rules (docs/customcrm-contract.md): writes carry `If-Match` with the version read (a 412 makes the core
read again, plan again and try once more), creates carry an `Idempotency-Key`, a PATCH merges `billing_address`
and `external_ids` key by key and replaces `lines` whole, a delete is soft. References are compared in the form
the mapper names them (`{"invoiced_id": ...}`, `{"email": ...}`), the live record's projected the same way
through the links, and become Customcrm ids only in the body of a write.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from customcrm_invoiced_mapper.engine import map_record
from customcrm_invoiced_mapper.spec import Flow
from sync_core.executor import SOURCE, MatchRule, Unprocessable
from sync_core.planner import Action, FieldRule, Incoming, Live, Plan, Rules
from sync_core.store import LinkState, LinkStore
from sync_core.times import parse_instant
from sync_core.values import CUSTOMCRM_MAPS, canonical, casefolded, flatten, unflatten

from target_customcrm.api import CustomcrmApi

CROSS_REFERENCE = MatchRule("external_ids.invoiced")
OWN_ID = MatchRule("id")  # the Customcrm id Invoiced keeps in metadata.customcrm_id
CASE_BLIND = FieldRule(same=casefolded)
READ_ONLY = frozenset({"id", "version", "created_at", "updated_at", "deleted_at", "total", "amount"})


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


class CustomcrmDestination:
    side = "customcrm"
    source_side = "invoiced"
    stream: ClassVar[str]
    entity: ClassVar[str]
    path: ClassVar[str]
    match_rules: ClassVar[tuple[MatchRule, ...]]

    def __init__(
        self, api: CustomcrmApi, store: LinkStore, flow: Flow, zone: ZoneInfo, *, users: Users, options: Options
    ) -> None:
        self.api, self.store, self.flow, self.zone = api, store, flow, zone
        self.users, self.options = users, options
        self.rules = self.make_rules()

    def make_rules(self) -> Rules:
        raise NotImplementedError

    # Reading.

    def prepare(self, record: Mapping[str, Any], *, final: bool) -> Incoming:
        source = record[SOURCE]
        return Incoming(
            source_id=str(source["id"]),
            values=flatten(record, maps=CUSTOMCRM_MAPS),
            updated_at=_instant(source.get("updated_at")),
            deleted=source.get("deleted_at") is not None,
        )

    def fetch(self, record_id: str) -> Live | None:
        found = self.api.get(f"{self.path}/{record_id}")
        if found is None or found.get("deleted_at"):
            return None  # deleted in Customcrm: that delete travels the other way
        return self.live(found)

    def lookup(self, rule: MatchRule, value: Any) -> list[Live]:
        if rule.field == "id":
            found = self.fetch(str(value))
            return [] if found is None else [found]
        name = "external_id[invoiced]" if rule.field == "external_ids.invoiced" else rule.field
        return [self.live(found) for found in self.api.list(self.path, {name: value})]

    def list_all(self) -> Iterable[Live]:
        return (self.live(found) for found in self.api.list(self.path))

    def count(self) -> int | None:
        return None  # Customcrm's lists carry no count

    def live(self, found: Mapping[str, Any]) -> Live:
        return Live(id=str(found["id"]), values=self.project(found), updated_at=_instant(found.get("updated_at")),
                    record=found)

    def project(self, found: Mapping[str, Any]) -> dict[str, Any]:
        return flatten(found, maps=CUSTOMCRM_MAPS)

    # Writing.

    def carry_out(self, plan: Plan, incoming: Incoming, live: Live | None, idempotency_key: str | None) -> Live | None:
        if plan.action is Action.CREATE:
            return self.live(self.api.create(self.path, self.body(incoming.values, None), idempotency_key))
        assert live is not None
        if plan.action is Action.UPDATE:
            body = self.body(plan.updates, live)
            return self.live(self.api.update(f"{self.path}/{live.id}", body, live.record.get("version")))
        if plan.action is Action.DELETE:
            self.api.delete(f"{self.path}/{live.id}", live.record.get("version"))
            return Live(live.id, live.values, live.updated_at, {**live.record, "deleted": True})
        msg = f"{self.stream} cannot {plan.action.value} in Customcrm"
        raise Unprocessable(msg)

    def body(self, values: Mapping[str, Any], live: Live | None) -> dict[str, Any]:
        return {name: value for name, value in unflatten(values, maps=CUSTOMCRM_MAPS).items()
                if name not in READ_ONLY}

    def peer_base(self, base: Mapping[str, Any], live: Live, incoming: Incoming) -> Mapping[str, Any] | None:
        """The base in Invoiced's shape, mapped with the mapping layer from the live record with every agreed
        field set to the agreed value (see sync-core's README)."""
        agreed = dict(live.record)
        for path, value in unflatten(self.in_customcrm_ids(base), maps=CUSTOMCRM_MAPS).items():
            if isinstance(value, Mapping) and isinstance(agreed.get(path), Mapping):
                agreed[path] = {**agreed[path], **value}
            elif path not in READ_ONLY:
                agreed[path] = value
        agreed["deleted_at"] = None
        mapped = map_record(self.flow, "to_invoiced", agreed, self.zone)
        if "_reject" in mapped:
            return None
        peer = flatten(mapped)
        # The cross-reference as Invoiced holds it (none yet after a first create): one it lacks gets written.
        peer["metadata.customcrm_id"] = incoming.values.get("id")
        return peer

    def in_customcrm_ids(self, base: Mapping[str, Any]) -> dict[str, Any]:
        """The base with its references (kept in the mapper's form) back in Customcrm ids, where they resolve."""
        return dict(base)


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

    @staticmethod
    def pick(versions: list[Mapping[str, Any]]) -> Mapping[str, Any]:
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

    def prepare(self, record: Mapping[str, Any], *, final: bool) -> Incoming:
        incoming = super().prepare(record, final=final)
        if incoming.deleted:
            return incoming
        waiting: list[str] = []
        customer = incoming.values.get("customer_id")
        if isinstance(customer, Mapping):
            self._linked("customer", customer["invoiced_id"], waiting)
        for line in incoming.values.get("lines") or []:
            product = line.get("product_id")
            if isinstance(product, Mapping):
                self._linked("product", product["invoiced_id"], waiting)
        owner = incoming.values.get("owner_user_id")
        if isinstance(owner, Mapping) and owner.get("email") and self.users.id_of(owner["email"]) is None:
            msg = (f"owner_user_id: no Customcrm user has the e-mail {owner['email']!r} set as the invoice's sales "
                   "rep in Invoiced; fix: set a Customcrm user's e-mail there, or add that user to Customcrm")
            raise Unprocessable(msg)
        return Incoming(incoming.source_id, incoming.values, incoming.updated_at, incoming.deleted, tuple(waiting))

    def _linked(self, entity: str, invoiced_id: str, waiting: list[str]) -> str | None:
        link = self.store.find(entity, "invoiced", str(invoiced_id))
        if link is None or link.customcrm_id is None or link.state is LinkState.PENDING:
            waiting.append(f"{entity} {invoiced_id}")
            return None
        # One deleted since still names its record: an edit of another field goes through, and a write that
        # carries the reference is answered by Customcrm, which refuses references to deleted records.
        return link.customcrm_id

    def _reference(self, entity: str, customcrm_id: Any) -> dict[str, str] | None:
        if customcrm_id is None:
            return None
        link = self.store.find(entity, "customcrm", str(customcrm_id))
        if link is None or link.invoiced_id is None:
            return {"customcrm_id": str(customcrm_id)}  # linked to nothing: never equal to an Invoiced reference
        return {"invoiced_id": link.invoiced_id}

    def project(self, found: Mapping[str, Any]) -> dict[str, Any]:
        values = super().project(found)
        values["customer_id"] = self._reference("customer", found.get("customer_id"))
        values["owner_user_id"] = {"email": self.users.email_of(found.get("owner_user_id"))}
        values["lines"] = [
            {"product_id": self._reference("product", line.get("product_id")), "description": line["description"],
             "quantity": line["quantity"], "unit_price": line["unit_price"]}
            for line in found.get("lines") or []
        ]
        return values

    def carry_out(self, plan: Plan, incoming: Incoming, live: Live | None, idempotency_key: str | None) -> Live | None:
        if plan.action is Action.VOID and live is not None:
            cancelled = self.api.update(f"{self.path}/{live.id}", {"status": "cancelled"}, live.record.get("version"))
            return self.live(cancelled)
        return super().carry_out(plan, incoming, live, idempotency_key)

    def body(self, values: Mapping[str, Any], live: Live | None) -> dict[str, Any]:
        return super().body(self.in_customcrm_ids(values, live=live, strict=True), live)

    def in_customcrm_ids(self, values: Mapping[str, Any], *, live: Live | None = None,
                         strict: bool = False) -> dict[str, Any]:
        out = dict(values)
        if isinstance(out.get("customer_id"), Mapping):
            out["customer_id"] = self._customcrm_id("customer", out["customer_id"]["invoiced_id"], strict)
        if isinstance(out.get("owner_user_id"), Mapping):
            email = out["owner_user_id"].get("email")
            out["owner_user_id"] = self.users.id_of(email) if email else None
            if out["owner_user_id"] is None:
                out.pop("owner_user_id")
        if "lines" in out:
            ids = {line["id"] for line in (live.record.get("lines") or [])} if live is not None else set()
            lines = []
            for line in out["lines"] or []:
                sent = {k: v for k, v in line.items() if k not in ("id", "amount")}
                if isinstance(sent.get("product_id"), Mapping):
                    sent["product_id"] = self._customcrm_id("product", sent["product_id"]["invoiced_id"], strict)
                if line.get("id") in ids:
                    sent["id"] = line["id"]  # the same line, kept
                lines.append(sent)
            out["lines"] = lines
        return out

    def _customcrm_id(self, entity: str, invoiced_id: str, strict: bool) -> str | None:
        link = self.store.find(entity, "invoiced", str(invoiced_id))
        if link is None or link.customcrm_id is None:
            if strict:
                msg = f"{entity} {invoiced_id} is not linked to Customcrm any more"
                raise Unprocessable(msg)
            return None
        return link.customcrm_id

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


def _instant(value: Any) -> Any:
    if value is None:
        return None
    try:
        return parse_instant(value)
    except ValueError:
        return None


DESTINATIONS: tuple[type[CustomcrmDestination], ...] = (CustomersDestination, ProductsDestination, OrdersDestination)
