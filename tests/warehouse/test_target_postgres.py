"""Both taps loaded into MeltanoLabs target-postgres, as a data engineer's ELT stack would load them.

The real executables piped together (tap | target-postgres) into a fresh database on the session's embedded
PostgreSQL, twice: a first full run, then edits and deletes in each system and a run from the first one's state.
Checked in the database: the column types a warehouse user relies on (money `numeric`, times `timestamp`, calendar
dates `date`), a primary key on `id`, one row per record after the second run, the edits, and the tombstones'
`_sdc_deleted_at`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from sandbox.common.meltano import clean_environment
from tests.sync_core.conftest import postgres_server  # noqa: F401 -- the session's real PostgreSQL

BIN = Path(sys.executable).parent
TOKEN, KEY = "crm-warehouse-token-41d0", "sk_warehouse_test_9e2b"

# Per table: what each column must be. The SDK's loaders make `date-time` a plain `timestamp` (the values are UTC).
EXPECTED_TYPES = {
    "customcrm": {
        "customers": {"updated_at": "timestamp without time zone", "deleted_at": "timestamp without time zone"},
        "orders": {"total": "numeric", "order_date": "date", "due_date": "date", "lines": "ARRAY"},
        "products": {"unit_price": "numeric"},
        "users": {"active": "boolean", "updated_at": "timestamp without time zone"},
    },
    "invoiced": {
        "customers": {"credit_limit": "numeric", "updated_at": "timestamp without time zone"},
        "contacts": {"updated_at": "timestamp without time zone"},
        "invoices": {"total": "numeric", "balance": "numeric", "subtotal": "numeric", "items": "ARRAY"},
        "items": {"unit_cost": "numeric"},
    },
}


@pytest.fixture
def warehouse(postgres_server: str) -> Iterator[str]:  # noqa: F811
    """A new, empty database on the session's server, as a SQLAlchemy URL; dropped afterwards."""
    name = f"warehouse_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as db:
        db.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as db:
            db.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def engine(warehouse: str) -> Iterator[sa.Engine]:
    made = sa.create_engine(warehouse)
    yield made
    made.dispose()


class Load:
    """tap | target-postgres into one schema of the warehouse, carrying the tap's state from run to run."""

    def __init__(self, tap: str, tap_config: dict[str, Any], warehouse: str, schema: str, folder: Path) -> None:
        self.tap, self.schema, self.folder = tap, schema, folder
        self.tap_config = self._write(f"{tap}.json", tap_config)
        self.target_config = self._write(f"target-postgres-{schema}.json", {
            "sqlalchemy_url": warehouse, "default_target_schema": schema, "load_method": "upsert",
            "add_record_metadata": True,
        })
        self.state: Path | None = None

    def _write(self, name: str, config: dict[str, Any]) -> Path:
        path = self.folder / name
        path.write_text(json.dumps(config))
        return path

    def run(self) -> None:
        tap_command = [str(BIN / self.tap), "--config", str(self.tap_config)]
        if self.state is not None:
            tap_command += ["--state", str(self.state)]
        env = clean_environment()
        tap = subprocess.Popen(tap_command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        target = subprocess.run([str(BIN / "target-postgres"), "--config", str(self.target_config)],
                                stdin=tap.stdout, capture_output=True, text=True, timeout=300, env=env, check=False)
        assert tap.stdout is not None
        tap.stdout.close()
        tap_errors = tap.stderr.read().decode() if tap.stderr else ""
        assert tap.wait(timeout=60) == 0, tap_errors[-3000:]
        assert target.returncode == 0, target.stderr[-3000:]
        states = [line for line in target.stdout.splitlines() if line.strip()]
        assert states, "target-postgres emitted no state"
        self.state = self._write(f"{self.tap}-state.json", json.loads(states[-1]))


def columns(engine: sa.Engine, schema: str) -> dict[str, dict[str, str]]:
    query = sa.text("SELECT table_name, column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = :schema")
    found: dict[str, dict[str, str]] = {}
    with engine.connect() as db:
        for table, column, data_type in db.execute(query, {"schema": schema}):
            found.setdefault(table, {})[column] = data_type
    return found


def primary_key(engine: sa.Engine, schema: str, table: str) -> list[str]:
    return sa.inspect(engine).get_pk_constraint(table, schema=schema)["constrained_columns"]


def rows(engine: sa.Engine, schema: str, table: str) -> dict[str, dict[str, Any]]:
    """The table's rows by id, after checking it holds one row per id."""
    loaded = sa.Table(table, sa.MetaData(), schema=schema, autoload_with=engine)
    with engine.connect() as db:
        found = [dict(row._mapping) for row in db.execute(sa.select(loaded))]
    by_id = {str(row["id"]): row for row in found}
    assert len(by_id) == len(found), f"{schema}.{table}: {len(found) - len(by_id)} duplicate rows"
    return by_id


def check_types_and_keys(engine: sa.Engine, schema: str) -> None:
    found = columns(engine, schema)
    for table, expected in EXPECTED_TYPES[schema].items():
        assert table in found, f"{schema}.{table} was not created (tables: {sorted(found)})"
        assert {name: found[table].get(name) for name in expected} == expected, f"{schema}.{table}"
        assert found[table].get("_sdc_deleted_at") == "timestamp without time zone", f"{schema}.{table}"
        assert primary_key(engine, schema, table) == ["id"], f"{schema}.{table}"


def check_second_load(engine: sa.Engine, schema: str, before: dict[str, dict[str, dict[str, Any]]],
                      renamed: tuple[str, str, str], deleted: tuple[str, str]) -> None:
    """After the second load: the same rows as `before` (by table), one renamed (table, id, name), and one
    tombstone (table, id), the only one of its table."""
    for table, rows_before in before.items():
        assert set(rows(engine, schema, table)) == set(rows_before), f"{schema}.{table}"
    table, record_id, name = renamed
    assert rows(engine, schema, table)[record_id]["name"] == name
    table, record_id = deleted
    after = rows(engine, schema, table)
    assert after[record_id]["_sdc_deleted_at"] == after[record_id]["deleted_at"]
    assert [i for i, row in after.items() if row["_sdc_deleted_at"] is not None] == [record_id]


def test_tap_customcrm_loads_into_target_postgres_with_edits_and_deletes(
        start_sandbox: Callable[..., Any], warehouse: str, engine: sa.Engine, tmp_path: Path) -> None:
    seed = ("--seed-customers", "12", "--seed", "3")
    with start_sandbox("customcrm", "--token", TOKEN, *seed) as crm:
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {TOKEN}"
        load = Load("tap-customcrm", {"api_url": crm.url, "api_token": TOKEN}, warehouse, "customcrm", tmp_path)
        load.run()
        check_types_and_keys(engine, "customcrm")
        first = rows(engine, "customcrm", "customers")
        edited, deleted = sorted(first)[:2]
        order = next(iter(rows(engine, "customcrm", "orders").values()))
        assert order["total"] is not None
        assert str(order["total"]) == api.get(f"{crm.url}/v1/orders/{order['id']}", timeout=30).json()["total"]

        api.patch(f"{crm.url}/v1/customers/{edited}", json={"name": "Renamed in the CRM AS"},
                  timeout=30).raise_for_status()
        api.delete(f"{crm.url}/v1/customers/{deleted}", timeout=30).raise_for_status()
        load.run()

        check_second_load(engine, "customcrm", {"customers": first}, ("customers", edited, "Renamed in the CRM AS"),
                          ("customers", deleted))


def test_tap_invoiced_loads_into_target_postgres_with_edits_and_deletes(
        start_sandbox: Callable[..., Any], warehouse: str, engine: sa.Engine, tmp_path: Path) -> None:
    with start_sandbox("invoiced", "--api-key", KEY, "--seed-customers", "10", "--seed", "4") as sandbox:
        api = requests.Session()
        api.auth = (KEY, "")
        api.patch(f"{sandbox.url}/customers/1", json={"credit_limit": "2500.50"}, timeout=30).raise_for_status()
        load = Load("tap-invoiced", {"api_url": sandbox.url, "api_key": KEY}, warehouse, "invoiced", tmp_path)
        load.run()
        check_types_and_keys(engine, "invoiced")
        first = rows(engine, "invoiced", "customers")
        assert first["1"]["credit_limit"] == Decimal("2500.50")  # exact, never 2500.4999...
        invoices = rows(engine, "invoiced", "invoices")
        some_invoice = next(iter(invoices.values()))
        truth = api.get(f"{sandbox.url}/invoices/{some_invoice['id']}", timeout=30).json()
        assert some_invoice["total"] == Decimal(str(truth["total"]))
        edited = next(i for i in sorted(first, key=int) if i != "1")
        gone = next(i for i in sorted(invoices, key=int))

        api.patch(f"{sandbox.url}/customers/{edited}", json={"name": "Renamed in Invoiced Oy"},
                  timeout=30).raise_for_status()
        api.delete(f"{sandbox.url}/invoices/{gone}", timeout=30).raise_for_status()
        load.run()

        check_second_load(engine, "invoiced", {"customers": first, "invoices": invoices},
                          ("customers", edited, "Renamed in Invoiced Oy"), ("invoices", gone))
