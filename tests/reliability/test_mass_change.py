"""The mass-change guard: when one system suddenly lacks many records (Invoiced loses half its customers, Customcrm
deletes half of its own, or Customcrm answers every list empty), the other system is not emptied in turn: the
per-run cap (max_deletes) stops the deletes with a message that says why and what to do, and an empty answer
deletes nothing at all."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from soak.scenarios import empty_customcrm, mass_delete_in_customcrm, mass_delete_in_invoiced
from soak.systems import Size, sandboxes
from tests.conftest import SandboxStarter
from tests.target_invoiced.conftest import CUSTOMCRM_TOKEN
from tests.two_way.conftest import TwoWay

SIZE = Size(24, 4, 1, 0)  # one order: every company but one can be deleted in Invoiced


@pytest.fixture(scope="module")
def systems(tmp_path_factory: pytest.TempPathFactory, meltano_root: Path) -> Iterator[TwoWay]:
    """One pair for the module: each test loses customers of its own."""
    with sandboxes(tmp_path_factory.mktemp("mass-change"), meltano_root, crm_args=SIZE.crm_seed(3),
                   inv_args=SIZE.inv_seed(3)) as systems:
        systems.sync()
        systems.sync()
        yield systems


def test_invoiced_losing_half_its_customers_deletes_no_more_than_the_cap(systems: TwoWay) -> None:
    lose = len(systems.companies()) // 2
    result = mass_delete_in_invoiced(systems, lose=lose, max_deletes=2)
    assert result.carried_out == 2
    assert result.carried_out_next == 0  # held deletes wait for a run with room for all of them
    assert f"max_deletes=2 stopped a mass change: Invoiced asked for {lose} deletes" in result.message
    assert f"run once with max_deletes of at least {lose}" in result.message
    assert result.carried_out_raised == lose - 2


def test_customcrm_deleting_half_its_customers_deactivates_no_more_than_the_cap(systems: TwoWay) -> None:
    lose = sum(1 for c in systems.crm_customers() if c["status"] == "active") // 2
    result = mass_delete_in_customcrm(systems, lose=lose, max_deletes=2)
    assert result.carried_out == 2
    assert result.carried_out_next == 0
    assert f"Customcrm asked for {lose} deletes" in result.message
    assert result.carried_out_raised == lose - 2


def test_a_customcrm_that_answers_every_list_empty_deletes_nothing(systems: TwoWay,
                                                                   start_sandbox: SandboxStarter) -> None:
    active = sum(1 for company in systems.companies() if company["active"])
    with start_sandbox("customcrm", "--token", CUSTOMCRM_TOKEN) as empty:
        writes = empty_customcrm(systems, empty.url)
    assert writes == []
    assert sum(1 for company in systems.companies() if company["active"]) == active
