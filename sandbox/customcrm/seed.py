"""Deterministic seed data: the same (customers, seed) always gives the same records and ids.

Scale follows the customer count: one user per 10 customers (at least 3, so orders are spread over a
sales team, not one or two people), one product per 4 customers (at least 5), two orders per customer,
each with 1 to 5 lines; `users`, `products` and `orders` override those proportions.
"""

from __future__ import annotations

import datetime as dt
import sys

from sandbox.common.names import SeedNames
from sandbox.customcrm.entities import CUSTOMERS, ORDERS, PRODUCTS, USERS, Entity, format_decimal
from sandbox.customcrm.paging import ListQuery
from sandbox.customcrm.store import Store
from sandbox.customcrm.validation import validate_create

ANCHOR_DATE = dt.date(2025, 1, 1)  # order dates fall in the year before, whatever day the seed runs
ORDER_STATUSES = ("draft", "confirmed", "confirmed", "invoiced", "invoiced", "paid", "paid", "paid", "cancelled")


def seed(store: Store, *, customers: int, seed_value: int = 0, users: int | None = None,
         products: int | None = None, orders: int | None = None) -> None:
    if store.list(CUSTOMERS, ListQuery(limit=1, include_deleted=True))[0]:
        sys.stderr.write("seed: the database already holds customers; leaving it as it is\n")
        return
    names = SeedNames(seed_value)
    rng = names.rng
    with store.batch():
        user_ids = [_create(store, USERS, _user(names, i)) for i in range(users or max(3, customers // 10))]
        catalog = [_product(names, i) for i in range(products or max(5, customers // 4))]
        product_ids = [_create(store, PRODUCTS, p) for p in catalog]
        customer_rows = [_customer(names, i) for i in range(customers)]
        customer_ids = [_create(store, CUSTOMERS, c) for c in customer_rows]
        for i in range(orders or 2 * customers):
            k = rng.randrange(customers)
            customer = customer_rows[k]
            order_date = ANCHOR_DATE - dt.timedelta(days=rng.randint(1, 365))
            lines = []
            for _ in range(rng.randint(1, 5)):
                p = rng.randrange(len(catalog))
                free_text = rng.random() < 0.15
                lines.append({
                    "product_id": None if free_text else product_ids[p],
                    "description": "Freight and handling" if free_text else catalog[p]["name"],
                    "quantity": format_decimal(names.quantity(), 3),
                    "unit_price": format_decimal(names.price(), 2) if free_text else catalog[p]["unit_price"],
                })
            order = {
                "order_number": f"SO-{10001 + i}",
                "customer_id": customer_ids[k],
                "owner_user_id": rng.choice(user_ids),
                "order_date": order_date.isoformat(),
                "due_date": (order_date + dt.timedelta(days=customer["payment_terms_days"])).isoformat(),
                "currency": customer["currency"],
                "status": rng.choice(ORDER_STATUSES),
                "purchase_order": f"PO-{rng.randint(1000, 99999)}" if rng.random() < 0.4 else None,
                "lines": lines,
            }
            _create(store, ORDERS, order)


def _create(store: Store, entity: Entity, body: dict[str, object]) -> str:
    # Seed records go through the same validation as API calls, so seed data always obeys the contract.
    doc, external_ids = validate_create(entity, body)
    return store.create(entity, doc, external_ids).record["id"]


def _user(names: SeedNames, i: int) -> dict[str, object]:
    first, last = names.person()
    return {
        "name": f"{first} {last}",
        "email": f"{names.slug(first)}.{names.slug(last)}{i + 1}@sales.example.com",
        "phone": names.phone(),
        "title": names.title(),
    }


def _product(names: SeedNames, i: int) -> dict[str, object]:
    name = names.product()
    return {
        "sku": f"{names.slug(name).upper()[:16]}-{i + 1:05d}",
        "name": name,
        "unit_price": format_decimal(names.price(), 2),
        "currency": names.place()["currency"],
        "taxable": names.rng.random() < 0.8,
    }


def _customer(names: SeedNames, i: int) -> dict[str, object]:
    company = names.company(i)
    place = names.place()
    currency = place.pop("currency")
    domain = names.slug(company)[:40].strip("-")
    return {
        "name": company,
        "org_number": f"{910_000_001 + i}",
        "email": f"billing@{domain}.example.com",
        "phone": names.phone(),
        "website": f"https://{domain}.example.com",
        "billing_address": place,
        "currency": currency,
        "payment_terms_days": names.rng.choice((14, 30, 30, 45, 60)),
        "status": "active" if names.rng.random() < 0.9 else "inactive",
    }
