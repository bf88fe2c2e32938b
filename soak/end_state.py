"""What both systems hold after a sync, in a form two runs from the same seed can be compared in, and the checks a
soak ends with: no duplicate, nothing missing, the link store agreeing with both systems.

Ids the systems hand out (a Customcrm id of a customer made from Invoiced, an Invoiced id of a customer made from
Customcrm, line and customer numbers) depend on the order of writes, which faults and threads change. So each
record is keyed by the id it was seeded with in the system it began in, and a reference to another record is
replaced by that record's key. Everything else is compared as each system serves it.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from tests.two_way.conftest import TwoWay

# (entity in the link store, Customcrm collection, Invoiced path)
ENTITIES = (("customer", "customers", "/customers"), ("product", "products", "/items"),
            ("order", "orders", "/invoices"))
# Handed out by a system in order of arrival, or stamped with the wall clock: not part of what a sync agrees on.
VOLATILE = frozenset({"id", "created_at", "updated_at", "version", "external_ids"})
VOLATILE_INVOICED = {"/customers": frozenset({"number"}), "/items": frozenset(), "/invoices": frozenset()}


@dataclass(frozen=True)
class Seeded:
    """The ids each system held before the first sync."""

    crm: dict[str, frozenset[str]]
    inv: dict[str, frozenset[str]]

    @classmethod
    def read(cls, systems: TwoWay) -> Seeded:
        return cls({c: frozenset(r["id"] for r in systems.crm_all(c)) for _, c, _ in ENTITIES},
                   {p: frozenset(str(r["id"]) for r in systems.inv_all(p)) for _, _, p in ENTITIES})


def _crm_key(seeded: Seeded, collection: str, record: dict[str, Any]) -> str:
    if record["id"] in seeded.crm[collection]:
        return f"crm:{record['id']}"
    return f"inv:{(record.get('external_ids') or {}).get('invoiced')}"


def _inv_key(seeded: Seeded, path: str, record: dict[str, Any]) -> str:
    if str(record["id"]) in seeded.inv[path]:
        return f"inv:{record['id']}"
    return f"crm:{(record.get('metadata') or {}).get('customcrm_id')}"


def end_state(systems: TwoWay, seeded: Seeded) -> dict[str, dict[str, Any]]:
    """`{"customers crm:cus_1": {...fields}, "/customers inv:7": {...}}`: every record of both systems, keyed by
    where it began, without the fields either system hands out by itself."""
    crm = {c: systems.crm_all(c) for _, c, _ in ENTITIES}
    inv = {p: systems.inv_all(p) for _, _, p in ENTITIES}
    crm_keys = {r["id"]: _crm_key(seeded, c, r) for c, rows in crm.items() for r in rows}
    inv_keys = {r["id"]: _inv_key(seeded, "/customers", r) for r in inv["/customers"]}
    state: dict[str, dict[str, Any]] = {}
    for collection, rows in crm.items():
        for record in rows:
            fields = {k: v for k, v in record.items() if k not in VOLATILE}
            if "customer_id" in fields:
                fields["customer_id"] = crm_keys.get(fields["customer_id"], fields["customer_id"])
            if "lines" in fields:
                fields["lines"] = [{**{k: v for k, v in line.items() if k != "id"},
                                    "product_id": crm_keys.get(line.get("product_id"), line.get("product_id"))}
                                   for line in fields["lines"]]
            state[f"{collection} {crm_keys[record['id']]}"] = fields
    for path, rows in inv.items():
        for record in rows:
            fields = {k: v for k, v in record.items() if k not in VOLATILE | VOLATILE_INVOICED[path]}
            fields["metadata"] = {k: v for k, v in (record.get("metadata") or {}).items() if k != "customcrm_id"}
            if path == "/invoices":
                fields["customer"] = inv_keys.get(record["customer"], record["customer"])
                fields["items"] = [{k: v for k, v in line.items() if k != "id"} for line in record.get("items", [])]
            state[f"{path} {_inv_key(seeded, path, record)}"] = fields
    return state


def differences(expected: dict[str, dict[str, Any]], actual: dict[str, dict[str, Any]]) -> list[str]:
    """Each record missing or extra, and each field that differs, one line apiece."""
    out = [f"missing: {key}" for key in sorted(expected.keys() - actual.keys())]
    out += [f"extra: {key}" for key in sorted(actual.keys() - expected.keys())]
    for key in sorted(expected.keys() & actual.keys()):
        want, got = expected[key], actual[key]
        out += [f"{key} {name}: expected {want.get(name)!r}, found {got.get(name)!r}"
                for name in sorted(want.keys() | got.keys()) if want.get(name) != got.get(name)]
    return out


def duplicates(systems: TwoWay) -> list[str]:
    """Records of one system that two records of the other point to, by either system's cross-reference."""
    found = []
    for _, collection, path in ENTITIES:
        counts = Counter((r.get("metadata") or {}).get("customcrm_id") for r in systems.inv_all(path))
        counts.pop(None, None)
        found += [f"{path}: {count} records carry customcrm_id {value}" for value, count in counts.items() if count > 1]
        counts = Counter((r.get("external_ids") or {}).get("invoiced") for r in systems.crm_all(collection))
        counts.pop(None, None)
        found += [f"{collection}: {count} records carry invoiced id {value}" for value, count in counts.items()
                  if count > 1]
    return found


def unlinked(systems: TwoWay) -> list[str]:
    """Live records of either system with no partner: customers and products both ways, orders to invoices."""
    missing = []
    companies = {str(c["id"]): c for c in systems.companies()}
    for customer in systems.crm_customers():
        if (customer.get("external_ids") or {}).get("invoiced") not in companies:
            missing.append(f"customer {customer['id']} has no company in Invoiced")
    crm_ids = {c["id"] for c in systems.crm_customers()}
    missing += [f"company {c['id']} has no customer in Customcrm" for c in companies.values()
                if c["active"] and c["metadata"].get("customcrm_id") not in crm_ids]
    items = {i["id"] for i in systems.inv_all("/items")}
    products = [p for p in systems.crm_all("products") if p["active"]]
    missing += [f"product {p['id']} has no item in Invoiced" for p in products
                if (p.get("external_ids") or {}).get("invoiced") not in items]
    product_ids = {p["id"] for p in products}
    missing += [f"item {i['id']} has no product in Customcrm" for i in systems.inv_all("/items")
                if (i.get("metadata") or {}).get("customcrm_id") not in product_ids]
    return missing


def set_aside(systems: TwoWay) -> set[tuple[str, str, str]]:
    """What the link store holds set aside, as (stream, kind, the record's business key): a number, a SKU or a name,
    which two runs from one seed share (the ids that systems hand out in order of arrival they do not)."""
    engine = sa.create_engine(f"sqlite:///{systems.links_path}")
    try:
        with engine.connect() as db:
            rows = db.execute(sa.text("SELECT stream, kind, source_id, record FROM sync_retries "
                                      "WHERE namespace = 'dev'")).all()
    finally:
        engine.dispose()
    found = set()
    for stream, kind, source_id, text in rows:
        record = json.loads(text)
        key = next((str(record[name]) for name in ("number", "order_number", "sku", "name") if record.get(name)),
                   source_id)
        found.add((stream, kind, key))
    return found


def store_disagreements(systems: TwoWay) -> list[str]:
    """Links in the store that either system's cross-reference contradicts, and cross-referenced pairs the store
    does not hold as linked."""
    engine = sa.create_engine(f"sqlite:///{systems.links_path}")
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT entity, customcrm_id, invoiced_id FROM sync_links WHERE namespace = 'dev' "
                "AND state = 'linked'")).all()
    finally:
        engine.dispose()
    stored = {(entity, crm_id, inv_id) for entity, crm_id, inv_id in rows}
    problems = []
    for entity, collection, path in ENTITIES:
        in_crm = {(entity, r["id"], (r.get("external_ids") or {}).get("invoiced")) for r in systems.crm_all(collection)
                  if (r.get("external_ids") or {}).get("invoiced")}
        in_inv = {(entity, (r.get("metadata") or {}).get("customcrm_id"), str(r["id"])) for r in systems.inv_all(path)
                  if (r.get("metadata") or {}).get("customcrm_id")}
        links = {link for link in stored if link[0] == entity}
        problems += [f"{entity} {crm} <-> {inv}: in the systems, not linked in the store"
                     for _, crm, inv in sorted((in_crm & in_inv) - links)]
        problems += [f"{entity} {crm} <-> {inv}: linked in the store, not in Customcrm"
                     for _, crm, inv in sorted(links - in_crm)]
        problems += [f"{entity} {crm} <-> {inv}: linked in the store, not in Invoiced"
                     for _, crm, inv in sorted(links - in_inv)]
    return problems
