"""The look-ups a sync makes before it creates are served by an index, not a scan of every record: the Invoiced
sandbox must never be what a benchmark measures (bench/bench_invoiced_sandbox.py shows the cost at scale)."""

from __future__ import annotations

from email.message import Message

import pytest

from sandbox.common.http import Request
from sandbox.invoiced.listing import ListSpec, order_by, sort_terms, start_query, where_clause
from sandbox.invoiced.resources import customers, invoices, items
from sandbox.invoiced.store import Store

LOOKUPS = [
    (customers.SPEC, "metadata[customcrm_id]", "customers_customcrm_id"),
    (customers.SPEC, "metadata[org_number]", "customers_org_number"),
    (customers.SPEC, "filter[email]", "customers_email"),
    (invoices.SPEC, "metadata[customcrm_id]", "invoices_customcrm_id"),
    (invoices.SPEC, "metadata[sales_rep_id]", "invoices_sales_rep_id"),
    (invoices.SPEC, "filter[number]", "invoices_number"),
    (items.SPEC, "metadata[customcrm_id]", "items_customcrm_id"),
]


def _plans(store: Store, spec: ListSpec, parameter: str) -> list[str]:
    request = Request("GET", f"/{spec.table}", [(parameter, "Some-Value")], Message(), b"")
    query = start_query(request, spec)
    where, args = where_clause(query.conditions)
    count = f"SELECT COUNT(*) FROM {spec.table}{where}"  # noqa: S608 - names from the spec
    page = f"SELECT {spec.key_column}, doc FROM {spec.table}{where} ORDER BY {order_by(spec, sort_terms(spec, None))}"  # noqa: S608
    return [" ".join(str(row[-1]) for row in store.rows(f"EXPLAIN QUERY PLAN {sql}", args)) for sql in (count, page)]


@pytest.mark.parametrize(("spec", "parameter", "index"), LOOKUPS, ids=[f"{s.table}-{p}" for s, p, _ in LOOKUPS])
def test_a_sync_look_up_is_served_by_an_index(spec: ListSpec, parameter: str, index: str) -> None:
    store = Store(":memory:")
    for plan in _plans(store, spec, parameter):
        assert f"USING INDEX {index}" in plan, plan


def test_a_look_up_without_an_index_scans_so_the_check_above_can_fail() -> None:
    plans = _plans(Store(":memory:"), customers.SPEC, "metadata[segment]")
    assert all("SCAN customers" in plan for plan in plans), plans
