"""Items: archiving an item while the tap walks the archived items neither repeats nor loses one."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

from tests.tap_invoiced.conftest import KEY, InvoicedApi, sync, tap_config

ARCHIVED_PAGE_1 = re.compile(r'"GET /items\?archived=1&\S*per_page=1&page=1 ')


def test_an_item_archived_while_the_archived_ones_are_read(start_sandbox: Callable[..., Any]) -> None:
    args = ("--api-key", KEY, "--seed-customers", "1", "--fault-latency-ms", "15", "--verbose")
    with start_sandbox("invoiced", *args) as sandbox:
        api = InvoicedApi(sandbox.url, log=sandbox.log)
        # Seeded items are the oldest: archived, one sorts before every item archived below.
        oldest = min(api.all("/items"), key=lambda item: (item["created_at"], item["id"]))
        retired = [f"retired-{n}" for n in range(8)]
        for item_id in retired:
            api.create("/items", {"id": item_id, "name": f"Retired {item_id}"})
            api.delete(f"/items/{item_id}")

        def archive_once_the_walk_began() -> None:
            deadline = time.monotonic() + 60
            while not ARCHIVED_PAGE_1.search(sandbox.log()) and time.monotonic() < deadline:
                time.sleep(0.005)
            # Lands a page or two into the 8 pages of archived items and moves each row one page on.
            api.delete(f"/items/{oldest['id']}")

        archiver = threading.Thread(target=archive_once_the_walk_began)
        archiver.start()
        first = sync(tap_config(sandbox.url, per_page=1))
        archiver.join()
        second = sync(tap_config(sandbox.url, per_page=1), state=first.state)

    emitted = first.ids("items")
    assert len(emitted) == len(set(emitted)), "an item was emitted twice in one run"
    assert set(retired) <= set(emitted)
    # Archived behind the walk and gone from the live list: it comes, archived, in the next run.
    assert oldest["id"] not in emitted
    assert second.ids("items") == [oldest["id"]]
    assert second.by_id("items")[oldest["id"]]["archived"] is True
