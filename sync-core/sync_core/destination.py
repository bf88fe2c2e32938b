"""A stream's destination, declared as data: everything both targets' destinations share.

A target declares each of its streams as a subclass of `SystemDestination` with class attributes (path, entity,
match rules, references to parent flows, the planner's `Rules`) and overrides only what its system does its own
way (e.g. how Invoiced voids an invoice). The executor (sync_core.executor) asks it for what the planner needs and
to carry a plan out; the system's API (sync_core.http.<system>) makes the requests.

References to parents travel in the mapper's form, `{"<source side>_id": id}`. They are compared in that form (the
live record's projected the same way, through the links) and become the destination's ids only in a write's body.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from sync_core.client import RequestFailed
from sync_core.executor import REJECT, SOURCE, Blocked, Unprocessable
from sync_core.matching import MatchIndex, MatchRule
from sync_core.planner import Action, Blocking, Incoming, Live, Plan, Rules
from sync_core.store import LinkState, LinkStore
from sync_core.times import parse_instant
from sync_core.values import flatten, unflatten

SYSTEM_NAMES = {"customcrm": "Customcrm", "invoiced": "Invoiced"}
# The reverse mapping: a destination record in the source system's shape (with `_reject` when the mapping refuses it).
ToPeer = Callable[[Mapping[str, Any]], Mapping[str, Any]]


class SystemApi(Protocol):
    """What a destination asks of its system's API (sync_core.http.invoiced.InvoicedApi, ...CustomcrmApi)."""

    def get(self, path: str) -> dict[str, Any] | None: ...

    def list(self, path: str, params: Mapping[str, Any] | None = None) -> Iterable[dict[str, Any]]: ...

    def filter_param(self, field: str) -> str: ...

    def total(self, path: str) -> int | None: ...

    def create(self, path: str, body: Mapping[str, Any], idempotency_key: str | None) -> dict[str, Any]: ...

    def update(self, path: str, body: Mapping[str, Any], version: Any = None) -> dict[str, Any]: ...

    def delete(self, path: str, version: Any = None) -> None: ...

    def refused_field(self, failure: RequestFailed) -> str | None:
        """The field a refusal names, if it names one."""
        ...


class TargetApi(SystemApi, Protocol):
    """A system's API as a target builds it: from the plugin's settings, with one cheap read to check access."""

    client: Any  # the sync_core.client.ApiClient it sends through (its counts end the run's report)

    @classmethod
    def connect(cls, config: Mapping[str, Any], *, plugin: str, logger: Any, crashes: Any = None) -> TargetApi: ...

    @staticmethod
    def where(config: Mapping[str, Any]) -> str: ...

    def check(self) -> None: ...


@dataclass(frozen=True)
class RefusingState:
    """A parent's state in which the system refuses a new record naming it: Invoiced creates no invoice for an
    inactive customer. Known from the parent's merge base, the record is set aside as blocked without a request;
    refused by the system for that field, it is set aside as blocked too. Either way it is tried again once the
    parent's link changes (sync_core.executor: Blocked)."""

    values: Mapping[str, Any]  # in the parent's merge base, e.g. {"active": False}
    name: str  # e.g. "inactive"
    way_out: str  # e.g. "when it is made active in Customcrm"


@dataclass(frozen=True)
class Reference:
    """A field naming a record of a parent flow: the field itself (`customer`), or the field `within` each line of
    a list (`items` -> `catalog_item`)."""

    field: str
    entity: str
    within: str | None = None
    cast: Callable[[str], Any] = str  # the destination id as a write's body carries it (Invoiced's are numbers)
    refusing: RefusingState | None = None


class SystemDestination:
    """One stream in one system. Subclasses declare the class attributes and override the hooks they need."""

    fan_out: ClassVar[bool] = False

    side: ClassVar[str]  # the destination system
    source_side: ClassVar[str]
    stream: ClassVar[str]  # the incoming stream
    entity: ClassVar[str]  # the link store's name for the pair
    path: ClassVar[str]
    match_rules: ClassVar[tuple[MatchRule, ...]]  # in order; the first is the cross-reference the sync writes
    rules: Rules
    references: ClassVar[tuple[Reference, ...]] = ()
    maps: ClassVar[frozenset[str]]  # maps written key by key (values.flatten), here and in the source system
    peer_maps: ClassVar[frozenset[str]]
    read_only: ClassVar[frozenset[str]] = frozenset({"id"})  # never in a write's body
    chooses_id: ClassVar[bool] = False  # the sync names new records (an Invoiced item's id is its SKU)
    # True where the system would take a reference to a deleted parent (a deactivated customer): the sync refuses it.
    refuses_deleted_references: ClassVar[bool] = False
    peer_cross_reference: ClassVar[str]  # the field the other target matches this record by

    def __init__(self, api: SystemApi, store: LinkStore, to_peer: ToPeer) -> None:
        self.api, self.store, self.to_peer = api, store, to_peer
        self.rules = self.make_rules()

    def make_rules(self) -> Rules:
        """The planner's rules for this stream: the class's, or built from settings by an override."""
        return type(self).rules

    # Reading.

    def prepare(self, record: Mapping[str, Any], *, final: bool) -> Incoming:
        """The incoming record as flat fields, and the references that are not linked yet (it waits for them)."""
        source = record[SOURCE]
        values = flatten(record, maps=self.maps)
        deleted = source.get("deleted_at") is not None
        waiting = () if deleted else tuple(self._unlinked(values))
        return Incoming(str(source["id"]), values, instant(source.get("updated_at")), deleted, waiting,
                        blocked=None if deleted else self._refusing_parent(values))

    def fetch(self, record_id: str) -> Live | None:
        """The live record, or None when it is gone (deleted, or soft deleted)."""
        found = self.api.get(f"{self.path}/{record_id}")
        return None if found is None or found.get("deleted_at") else self.live(found)

    def lookup(self, rule: MatchRule, value: Any) -> list[Live]:
        if rule.field == "id":
            found = self.fetch(str(value))
            return [] if found is None else [found]
        return [self.live(found) for found in self.api.list(self.path, {self.api.filter_param(rule.field): value})]

    def list_all(self) -> Iterable[Live]:
        return (self.live(found) for found in self.api.list(self.path))

    def count(self) -> int | None:
        return self.api.total(self.path)

    def live(self, found: Mapping[str, Any]) -> Live:
        return Live(id=str(found["id"]), values=self.project(found), updated_at=instant(found.get("updated_at")),
                    record=found)

    def project(self, found: Mapping[str, Any]) -> dict[str, Any]:
        """The live record in the incoming records' shape: flat fields, references in the mapper's form."""
        values = flatten(found, maps=self.maps)
        for ref in self.references:
            if ref.within is None:
                values[ref.field] = self._as_reference(ref.entity, found.get(ref.field))
            else:
                values[ref.field] = [{**self.project_line(line), ref.within: self._as_reference(ref.entity,
                                                                                                line.get(ref.within))}
                                     for line in found.get(ref.field) or []]
        return values

    def pick(self, versions: list[Mapping[str, Any]]) -> Mapping[str, Any]:
        """Of one record's versions in one batch (a bookmark tie sends it twice), the one that counts: the last."""
        return versions[-1]

    def project_line(self, line: Mapping[str, Any]) -> dict[str, Any]:
        """A line of a list that holds references, in the incoming lines' shape."""
        return dict(line)

    # Writing.

    def carry_out(self, plan: Plan, incoming: Incoming, live: Live | None, idempotency_key: str | None) -> Live | None:
        try:
            return self.write(plan, incoming, live, idempotency_key)
        except RequestFailed as failure:
            refused = self.api.refused_field(failure) if failure.status is not None else None
            for ref in self.references:
                parent = incoming.values.get(ref.field) if ref.refusing and ref.field == refused else None
                if isinstance(parent, Mapping):
                    source_id = str(parent[f"{self.source_side}_id"])
                    msg = (f"{failure}; it is sent again once {ref.entity} {source_id} is written, "
                           f"{ref.refusing.way_out}")
                    raise Blocked(msg, parent=(ref.entity, source_id), answer=failure.answer,
                                  after_lost_answer=failure.after_lost_answer) from None
            raise

    def write(self, plan: Plan, incoming: Incoming, live: Live | None, idempotency_key: str | None) -> Live | None:
        if plan.action is Action.CREATE:
            return self.live(self.api.create(self.path, self.body(incoming.values, None), idempotency_key))
        assert live is not None
        if plan.action is Action.UPDATE:
            body = self.body(plan.updates, live)
            return self.live(self.api.update(f"{self.path}/{live.id}", body, live.record.get("version")))
        return self.remove(plan, incoming, live)

    def remove(self, plan: Plan, incoming: Incoming, live: Live) -> Live | None:
        """A source delete, as the plan says; a plain DELETE here, other kinds where a stream declares them."""
        if plan.action is not Action.DELETE:
            msg = f"{self.stream} cannot {plan.action.value} in {SYSTEM_NAMES[self.side]}"
            raise Unprocessable(msg)
        self.api.delete(f"{self.path}/{live.id}", live.record.get("version"))
        return Live(live.id, live.values, live.updated_at, {**live.record, "deleted": True})

    def body(self, values: Mapping[str, Any], live: Live | None) -> dict[str, Any]:
        """What a write of these values sends (a create when `live` is None), references as this system's ids."""
        named = live is None and self.chooses_id
        nested = unflatten(self.in_own_ids(values, strict=True, live=live), maps=self.maps)
        return {name: value for name, value in nested.items() if name not in self.read_only or (named and name == "id")}

    def peer_base(self, base: Mapping[str, Any], live: Live, incoming: Incoming) -> Mapping[str, Any] | None:
        """The same merge base in the source system's shape, for the target writing the other way: the live record
        with every field both sides agreed on set to the agreed value, mapped back. So a field this side changed
        alone still reads as changed to the other target. The cross-reference is what the source is known to hold
        (`peer_cross_reference_value`): one it lacks is written."""
        agreed = dict(live.record)
        for name, value in unflatten(self.in_own_ids(base), maps=self.maps).items():
            if isinstance(value, Mapping) and isinstance(agreed.get(name), Mapping):
                agreed[name] = {**agreed[name], **value}
            elif name not in self.read_only:
                agreed[name] = value
        agreed["deleted_at"] = None
        mapped = self.to_peer(agreed)
        if REJECT in mapped:
            return None
        peer = flatten(mapped, maps=self.peer_maps)
        peer[self.peer_cross_reference] = self.peer_cross_reference_value(incoming)
        return peer

    def peer_cross_reference_value(self, incoming: Incoming) -> Any:
        """The cross-reference the source system is known to hold, or None when that is not known."""
        return None

    # References.

    def in_own_ids(self, values: Mapping[str, Any], *, strict: bool = False,
                   live: Live | None = None) -> dict[str, Any]:
        """The values with their references as this system's ids. `strict` (a write, onto `live` unless a create):
        one that no longer resolves is refused; else it is left out of the way (None)."""
        out = dict(values)
        for ref in self.references:
            if ref.field not in out:
                continue
            if ref.within is None:
                out[ref.field] = self._own_id(ref, out[ref.field], strict=strict)
            elif isinstance(out[ref.field], list):
                out[ref.field] = [{**line, ref.within: self._own_id(ref, line.get(ref.within), strict=strict)}
                                  for line in out[ref.field]]
        return out

    def _refusing_parent(self, values: Mapping[str, Any]) -> Blocking | None:
        """A parent the link store knows in a state that refuses a new record naming it (the planner sets such a
        create aside as blocked, without a request)."""
        for ref in self.references:
            parent = values.get(ref.field)
            if ref.refusing is None or not isinstance(parent, Mapping) or f"{self.source_side}_id" not in parent:
                continue
            source_id = str(parent[f"{self.source_side}_id"])
            link = self.store.find(ref.entity, self.source_side, source_id)
            agreed = link.base(self.side) if link is not None else None
            if agreed is not None and all(agreed.get(k) == v for k, v in ref.refusing.values.items()):
                system, state = SYSTEM_NAMES[self.side], ref.refusing.name
                msg = (f"{ref.entity} {source_id} is {state} in {system} (as the sync last left it), and {system} "
                       f"creates no {self.stream.removesuffix('s')} for it while it is {state}: nothing was sent; it "
                       f"is sent again once {ref.entity} {source_id} is written, {ref.refusing.way_out}")
                return Blocking((ref.entity, source_id), msg)
        return None

    def parents(self, records: Iterable[Mapping[str, Any]]) -> dict[str, set[str]]:
        """Per parent entity, the source ids a batch of records names (the executor reads their links at once)."""
        named: dict[str, set[str]] = {}
        for record in records:
            for ref, reference in self._references_in(record):
                named.setdefault(ref.entity, set()).add(str(reference[f"{self.source_side}_id"]))
        return named

    def _references_in(self, values: Mapping[str, Any]) -> Iterable[tuple[Reference, Mapping[str, Any]]]:
        """Each reference to a parent in an incoming record (in the mapper's form), with its declaration."""
        for ref in self.references:
            named = [values.get(ref.field)] if ref.within is None else [
                line.get(ref.within) for line in values.get(ref.field) or [] if isinstance(line, Mapping)]
            for reference in named:
                if isinstance(reference, Mapping) and f"{self.source_side}_id" in reference:
                    yield ref, reference

    def _unlinked(self, values: Mapping[str, Any]) -> Iterable[str]:
        for ref, reference in self._references_in(values):
            if self._linked(ref.entity, reference) is None:
                yield f"{ref.entity} {reference[f'{self.source_side}_id']}"

    def _linked(self, entity: str, reference: Mapping[str, Any]) -> Any:
        """The link a reference names, or None while it is not linked (a create not confirmed yet included)."""
        link = self.store.find(entity, self.source_side, str(reference[f"{self.source_side}_id"]))
        if link is None or link.id_on(self.side) is None or link.state is LinkState.PENDING:
            return None
        return link

    def _own_id(self, ref: Reference, reference: Any, *, strict: bool) -> Any:
        if not isinstance(reference, Mapping):
            return reference
        own = reference.get(f"{self.side}_id")  # a live record's reference to a record linked to nothing
        if own is not None:
            return ref.cast(own)
        source_id = reference[f"{self.source_side}_id"]
        link = self._linked(ref.entity, reference)
        if link is None:
            if strict:
                msg = f"{ref.entity} {source_id} is not linked to {SYSTEM_NAMES[self.side]} any more"
                raise Unprocessable(msg)
            return None
        if strict and self.refuses_deleted_references and link.state is LinkState.TOMBSTONED:
            where = link.deleted_in or self.source_side
            msg = (f"{ref.entity} {source_id} was deleted in {SYSTEM_NAMES[where]} ({SYSTEM_NAMES[self.side]} record "
                   f"{link.id_on(self.side)}): restore it, or take it off the {self.entity}")
            raise Unprocessable(msg)
        return ref.cast(link.id_on(self.side))

    def _as_reference(self, entity: str, own_id: Any) -> dict[str, str] | None:
        """A live record's reference in the mapper's form: the source id its link names, else its own id (which
        equals no incoming reference)."""
        if own_id is None:
            return None
        link = self.store.find(entity, self.side, str(own_id))
        source_id = link.id_on(self.source_side) if link is not None else None
        if source_id is None:
            return {f"{self.side}_id": str(own_id)}
        return {f"{self.source_side}_id": source_id}


class FanOut:
    """A source record that is no record of its own in the destination, but a few fields on every destination
    record that names it: a Customcrm user is the sales rep written on each of its invoices. The executor writes
    a change onto each of those carriers through the carrier's own destination (its body rules, its locks), and
    counts, retries and rejects the source record like any other. The values last written are kept as the merge
    base of the source record's link, so an unchanged one costs no request."""

    fan_out: ClassVar[bool] = True
    stream: ClassVar[str]
    entity: ClassVar[str]
    fields: ClassVar[tuple[str, ...]]  # what it writes onto each carrier, as flat paths
    carried_by: ClassVar[MatchRule]  # the carrier's field that names the source record
    rules: ClassVar[Rules]
    match_rules: ClassVar[tuple[MatchRule, ...]] = ()  # never linked to a record of its own

    def __init__(self, carrier: SystemDestination) -> None:
        self.carrier = carrier
        self.side, self.source_side = carrier.side, carrier.source_side

    def prepare(self, record: Mapping[str, Any], *, final: bool) -> Incoming:
        source = record[SOURCE]
        values = flatten(record, self.fields, maps=self.carrier.maps)
        return Incoming(str(source["id"]), values, instant(source.get("updated_at")), source.get("deleted_at")
                        is not None)

    def carriers(self, source_id: str, index: MatchIndex | None = None) -> list[Live]:
        """The destination records that carry the source record, from `index` when given, else by one look-up;
        but those their system keeps as they are (a paid invoice keeps the rep it was issued with)."""
        found = (index.get(0, self.carried_by.same(source_id)) if index is not None
                 else self.carrier.lookup(self.carried_by, source_id))
        return [live for live in found if self.carrier.rules.locked(live) is None]

    def count(self) -> int | None:
        return self.carrier.count()

    def index_carriers(self) -> MatchIndex:
        """Every carrier by the source record it carries, from one full list read of the carriers."""
        return MatchIndex((self.carried_by,), self.carrier.list_all())

    def carry_out(self, plan: Plan, incoming: Incoming, live: Live | None, idempotency_key: str | None) -> Live | None:
        return self.carrier.carry_out(plan, incoming, live, idempotency_key)

    def pick(self, versions: list[Mapping[str, Any]]) -> Mapping[str, Any]:
        return versions[-1]

    def parents(self, records: Iterable[Mapping[str, Any]]) -> dict[str, set[str]]:
        return {}


def instant(value: Any) -> Any:
    """A record's time as an aware datetime, or None when it has none or none that parses."""
    if value is None:
        return None
    try:
        return parse_instant(value)
    except ValueError:
        return None
