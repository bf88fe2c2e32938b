"""Deterministic seed data: customers with contacts, a catalog, and invoices in every state.

Everything derives from one `SeedNames(seed)` and a fixed calendar, so two sandboxes seeded
with the same numbers hold identical data. Objects go through the same insert functions as
the API, so they obey the same rules and leave the same `*.created` events.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.common.names import SeedNames
from sandbox.invoiced.resources import contacts, customers, invoices, items
from sandbox.invoiced.store import Store

# 2025-01-01T00:00:00Z: seeded history lies in the year before it, whatever day the sandbox runs.
SEED_EPOCH = 1_735_689_600
YEAR = 365 * 86_400
TERMS = ("NET 30", "NET 30", "NET 14", "DUE ON RECEIPT", None)
SEGMENTS = ("enterprise", "mid-market", "smb")


def seed(store: Store, customer_count: int, seed_value: int = 0) -> None:
    """Fill an empty store in one transaction."""
    names = SeedNames(seed_value)
    with store.transaction():
        catalog = _seed_items(store, names, max(5, customer_count // 5))
        for n in range(1, customer_count + 1):
            created = SEED_EPOCH - YEAR + (n * YEAR) // (customer_count + 1)
            customer = _seed_customer(store, names, n, created)
            for _ in range(names.rng.choice((1, 1, 2))):
                _seed_contact(store, names, customer, created)
            for _ in range(names.rng.choice((1, 2, 2, 3))):
                _seed_invoice(store, names, customer, catalog, created)


def _seed_items(store: Store, names: SeedNames, count: int) -> list[dict[str, Any]]:
    catalog = []
    for i in range(count):
        name = names.product()
        fields: dict[str, Any] = {
            "id": f"{names.slug(name)}-{i + 1:03d}",
            "name": name,
            "unit_cost": names.price(),
            "type": names.pick(("product", "service")),
            "description": f"{name}, catalog entry {i + 1}",
        }
        if i % 3 == 0:
            fields["metadata"] = {"sku": f"SKU-{10_000 + i}"}
        catalog.append(items.insert(store, fields, SEED_EPOCH - YEAR))
    return catalog


def _seed_customer(store: Store, names: SeedNames, n: int, created: int) -> dict[str, Any]:
    company = names.company(n)
    place = names.place()
    first, last = names.person()
    domain = names.slug(company).replace("-", "")[:24] or "example"
    fields: dict[str, Any] = {
        "name": company,
        "email": f"billing@{domain}.example",
        "address1": place["line1"],
        "city": place["city"],
        "state": place["region"],
        "postal_code": place["postal_code"],
        "country": place["country"],
        "currency": place["currency"].lower(),
        "phone": names.phone(),
        "payment_terms": names.pick(TERMS),
        "attention_to": f"{first} {last}",
    }
    if n % 3 == 0:
        fields["metadata"] = {"crm_id": f"CRM-{n:05d}", "segment": names.pick(SEGMENTS)}
    return customers.insert(store, fields, created)


def _seed_contact(store: Store, names: SeedNames, customer: dict[str, Any], created: int) -> None:
    first, last = names.person()
    local = names.slug(f"{first}.{last}").replace("-", ".")
    fields = {
        "name": f"{first} {last}",
        "title": names.title(),
        "email": f"{local}@{customer['email'].split('@', 1)[1]}",
        "phone": names.phone(),
        "primary": names.rng.random() < 0.5,
    }
    contacts.insert(store, customer["id"], fields, created)


def _seed_invoice(
    store: Store, names: SeedNames, customer: dict[str, Any], catalog: list[dict[str, Any]], created: int
) -> None:
    rng = names.rng
    date = created + rng.randint(0, max(1, SEED_EPOCH - created))
    lines = []
    for item in rng.sample(catalog, rng.randint(1, min(5, len(catalog)))):
        lines.append({"catalog_item": item["id"], "quantity": names.quantity()})
    if rng.random() < 0.2:
        lines.append({"name": "Freight", "quantity": Decimal(1), "unit_cost": names.price()})
    state = rng.random()
    body: dict[str, Any] = {
        "customer": customer["id"],
        "date": date,
        "items": lines,
        "draft": state < 0.15,
        "sent": rng.random() < 0.7,
    }
    if rng.random() < 0.3:
        body["metadata"] = {"order": f"SO-{rng.randint(10_000, 99_999)}"}
    paid = 0.55 <= state < 0.85
    invoice = invoices.insert(store, body, date, paid=paid)
    if state >= 0.85:
        invoices.void_invoice(store, invoice["id"], date + 86_400)
