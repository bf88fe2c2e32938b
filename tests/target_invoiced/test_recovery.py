"""Crashes and lost answers never duplicate: a killed target, and writes that commit but never answer."""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SandboxStarter
from tests.target_invoiced.conftest import BIN, CUSTOMCRM_TOKEN, INVOICED_KEY, Systems


def _once_each(systems: Systems) -> None:
    """Every Customcrm record that should be in Invoiced is there exactly once."""
    for path, collection in (("/customers", "customers"), ("/items", "products"), ("/invoices", "orders")):
        counts = Counter((r.get("metadata") or {}).get("customcrm_id") for r in systems.inv_all(path))
        assert max(counts.values()) == 1, (path, counts.most_common(3))
        wanted = {r["id"] for r in systems.crm_all(collection)
                  if r.get("status") not in ("inactive", "cancelled") and r.get("active", True)}
        if collection == "orders":
            inactive = {c["id"] for c in systems.crm_all("customers") if c["status"] == "inactive"}
            wanted = {o["id"] for o in systems.crm_all("orders")
                      if o["status"] != "cancelled" and o["customer_id"] not in inactive}
        assert wanted <= set(counts), (path, wanted - set(counts))


@pytest.fixture
def slow(tmp_path: Path, start_sandbox: SandboxStarter) -> Iterator[Systems]:
    with (
        start_sandbox("customcrm", "--token", CUSTOMCRM_TOKEN, "--seed-customers", "30", "--seed", "11") as crm,
        start_sandbox("invoiced", "--api-key", INVOICED_KEY, "--verbose", "--fault-latency-ms", "40") as invoiced,
    ):
        yield Systems(crm, invoiced, tmp_path)


def test_a_target_killed_mid_run_leaves_no_duplicate_after_the_next_run(slow: Systems) -> None:
    # Map once into a file, so the kill hits the target alone.
    mapped = slow.root / "mapped.jsonl"
    tap_config = slow._write("tap.json", {"api_url": slow.customcrm.url, "api_token": CUSTOMCRM_TOKEN})
    mapper_config = slow._write("mapper.json", {"direction": "customcrm_to_invoiced"})
    with mapped.open("w") as out:
        tap = subprocess.Popen([BIN / "tap-customcrm", "--config", tap_config], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
        subprocess.run([BIN / "customcrm-invoiced-mapper", "--config", mapper_config], stdin=tap.stdout,
                       stdout=out, stderr=subprocess.DEVNULL, check=True)
        tap.wait(60)
    target_config = slow._write("target.json", slow.target_config)
    with mapped.open() as feed:
        target = subprocess.Popen([BIN / "target-invoiced", "--config", target_config], stdin=feed,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while slow.invoiced.log().count('"POST /customers') < 8 and time.monotonic() < deadline:
            time.sleep(0.005)
        target.send_signal(signal.SIGKILL)
        target.wait(10)
    created_before_kill = len(slow.inv_all("/customers"))
    assert 0 < created_before_kill < len(slow.crm_all("customers"))

    slow.sync()

    _once_each(slow)
    assert slow.sync().writes == []


@pytest.fixture
def flaky(tmp_path: Path, start_sandbox: SandboxStarter) -> Iterator[Systems]:
    faults = ["--fault-ambiguous-write-rate", "0.25", "--fault-error-rate", "0.05", "--fault-drop-rate", "0.03",
              "--fault-seed", "5"]
    with (
        start_sandbox("customcrm", "--token", CUSTOMCRM_TOKEN, "--seed-customers", "20", "--seed", "12") as crm,
        start_sandbox("invoiced", "--api-key", INVOICED_KEY, "--verbose", *faults) as invoiced,
    ):
        yield Systems(crm, invoiced, tmp_path)


def test_writes_that_commit_but_never_answer_are_not_repeated(flaky: Systems) -> None:
    run = flaky.sync(max_retries=8)

    assert run.count("customers", "created") > 0
    assert "retry" in run.log  # the faults were met
    _once_each(flaky)
    assert flaky.rejects() == [] or all("inactive" in r["reason"] for r in flaky.rejects())
    # Deletes and voids whose answers are lost too.
    order = next(o for o in flaky.crm_all("orders") if flaky.linked("/invoices", o["id"])
                 and flaky.linked("/invoices", o["id"])[0]["status"] not in ("paid", "voided", "draft"))
    flaky.crm("DELETE", f"/orders/{order['id']}")
    flaky.sync(max_retries=8)
    (invoice,) = flaky.linked("/invoices", order["id"])
    assert invoice["status"] == "voided"
