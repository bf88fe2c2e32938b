"""Contacts: a customer deleted between being listed and having its contacts read does not fail the run."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from tests.tap_invoiced.conftest import KEY, InvoicedApi, sync, tap_config

# The contacts read lists the customers (one page here) before reading their contacts; the sandbox logs it.
LISTED = '"GET /customers?sort=created_at+asc%2Cid+asc&per_page=100&page=1 '


def test_customer_deleted_during_the_first_contacts_read(start_sandbox: Callable[..., Any]) -> None:
    args = ("--api-key", KEY, "--seed-customers", "30", "--seed", "2", "--fault-latency-ms", "40", "--verbose")
    with start_sandbox("invoiced", *args) as sandbox:
        api = InvoicedApi(sandbox.url)
        doomed = api.create("/customers", {"name": "Leaving Soon Ltd"})
        api.create(f"/customers/{doomed['id']}/contacts", {"name": "Gone Too"})

        def delete_once_listed() -> None:
            # The doomed customer is listed last; its contacts are read ~30 requests (40 ms each) later.
            deadline = time.monotonic() + 60
            while LISTED not in sandbox.log() and time.monotonic() < deadline:
                time.sleep(0.01)
            api.delete(f"/customers/{doomed['id']}")

        deleter = threading.Thread(target=delete_once_listed)
        deleter.start()
        first = sync(tap_config(sandbox.url))
        deleter.join()
        log = sandbox.log()
        second = sync(tap_config(sandbox.url), state=first.state)

    assert f'"GET /customers/{doomed["id"]}/contacts?sort=id+asc&per_page=100&page=1 HTTP/1.1" 404' in log
    assert len(first.ids("contacts")) == len(set(first.ids("contacts")))
    assert all(record["customer"] != doomed["id"] for record in first.records["contacts"])
    # The customer's tombstone comes in whichever run read the delete events after the delete; the contact's
    # in the next run, whose contact events start from when the first read began.
    tombstones = [r["id"] for r in first.records["customers"] + second.records["customers"] if r["deleted_at"]]
    assert tombstones == [doomed["id"]]
    assert [r["customer"] for r in second.records["contacts"]] == [doomed["id"]]
    assert all(record["deleted_at"] for record in second.records["contacts"])
