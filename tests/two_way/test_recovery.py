"""A lost link store, through `meltano run sync`: a deleted link store is rebuilt from the cross-references that both
systems hold, with no duplicate. (Crashes: the named moments a crash can hit are in test_crash_points.py, a SIGKILL
at a random moment of any process of the run in tests/reliability/test_crashes.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SandboxStarter
from tests.two_way.conftest import TwoWay, two_way


@pytest.fixture(scope="module")
def systems(tmp_path_factory: pytest.TempPathFactory, start_sandbox: SandboxStarter,
            meltano_root: Path) -> Iterator[TwoWay]:
    yield from two_way(tmp_path_factory, start_sandbox, meltano_root,
                       crm_seed=("--seed-customers", "20", "--seed", "21"),
                       inv_seed=("--seed-customers", "10", "--seed", "22"))


def _everything_once(systems: TwoWay) -> None:
    """Nothing duplicated, nothing missing: each record on one side has exactly one linked record on the other."""
    systems.assert_no_duplicates()
    customers = systems.crm_customers()
    companies = systems.companies()
    assert len(customers) == len(companies)
    assert {c["id"] for c in customers} == {c["metadata"].get("customcrm_id") for c in companies}
    assert {str(c["id"]) for c in companies} == {c["external_ids"].get("invoiced") for c in customers}
    products = [p for p in systems.crm_all("products") if p["active"]]
    items = systems.inv_all("/items")
    assert {p["id"] for p in products} == {i["metadata"].get("customcrm_id") for i in items}
    assert {i["id"] for i in items} == {p["external_ids"].get("invoiced") for p in products}


def test_a_deleted_link_store_is_rebuilt_from_the_cross_references(systems: TwoWay) -> None:
    systems.sync()
    systems.sync()
    pairs = systems.store_links("customer")
    systems.links_path.unlink()

    # Only the records that changed come in an incremental run: the edited one links again, not doubled.
    customer = systems.crm_customers()[0]
    systems.crm("PATCH", f"/customers/{customer['id']}", json={"phone": "+47 40 00 00 01"})
    edited = systems.run()
    assert edited.total("created") == 0
    assert systems.inv("GET", f"/customers/{customer['external_ids']['invoiced']}")["phone"] == "+47 40 00 00 01"

    # A full refresh reads everything again and rebuilds every link. It creates nothing: the records refused
    # before (orders of inactive customers) are tried once more, since their memory went with the store.
    counts = (len(systems.crm_customers()), len(systems.companies()), len(systems.inv_all("/invoices")))
    rebuilt = systems.run(full_refresh=True)
    assert rebuilt.total("created") == 0
    assert {path for method, path in rebuilt.writes if method == "POST"} <= {"/invoices"}
    assert counts == (len(systems.crm_customers()), len(systems.companies()), len(systems.inv_all("/invoices")))
    assert systems.store_links("customer") == pairs
    _everything_once(systems)
    assert systems.sync().writes == []
