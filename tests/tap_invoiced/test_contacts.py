"""The first contacts read: customers deleted while it runs neither fail it nor make contacts be skipped or repeated."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from tests.tap_invoiced.conftest import KEY, InvoicedApi, sync, tap_config, wait_until_logged

# A page of customers listed by the contacts read (the count before it asks for one customer per page).
CUSTOMERS_PAGE = re.compile(r'"GET /customers\?sort=created_at\S*&per_page=5&page=\d ')


def test_customers_deleted_during_the_first_contacts_read(start_sandbox: Callable[..., Any]) -> None:
    with start_sandbox("invoiced", "--api-key", KEY, "--fault-latency-ms", "20", "--verbose") as sandbox:
        api = InvoicedApi(sandbox.url)
        customers = [api.create("/customers", {"name": f"Client {n} Oy"})["id"] for n in range(10)]
        contact_of = {c: api.create(f"/customers/{c}/contacts", {"name": f"Clerk of {c}"})["id"] for c in customers}
        # Two pages of five. Once the first page is listed, the last customer loses its place before its
        # contacts are read (they answer 404), and the first customer goes too: every customer after it
        # moves back one place, across the page boundary.
        doomed = [customers[-1], customers[0]]

        def delete_once_listed() -> None:
            wait_until_logged(sandbox.log, CUSTOMERS_PAGE)
            for customer_id in doomed:
                api.delete(f"/customers/{customer_id}")

        deleter = threading.Thread(target=delete_once_listed)
        deleter.start()
        first = sync(tap_config(sandbox.url, per_page=5))
        deleter.join()
        log = sandbox.log()
        second = sync(tap_config(sandbox.url, per_page=5), state=first.state)

    emitted = first.ids("contacts")
    assert len(emitted) == len(set(emitted)), "a customer's contacts were read twice"
    survivors = [c for c in customers if c not in doomed]
    assert set(emitted) == {contact_of[c] for c in survivors}
    assert f'"GET /customers/{doomed[0]}/contacts?sort=id+asc&per_page=5&page=1 HTTP/1.1" 404' in log
    # The customers' tombstones come in whichever run read the delete events after the deletes; their
    # contacts' in the next run, whose contact events start from when the first read began.
    tombstones = [r["id"] for r in first.records["customers"] + second.records["customers"] if r["deleted_at"]]
    assert sorted(tombstones) == sorted(doomed)
    deleted = [r["id"] for r in second.records["contacts"] if r["deleted_at"]]
    assert sorted(deleted) == sorted(contact_of[c] for c in doomed)
    # Contacts created within the overlap before the first read began come once more (their events are in
    # the window the next run reads again); no others.
    assert {r["id"] for r in second.records["contacts"] if not r["deleted_at"]} <= set(emitted)
