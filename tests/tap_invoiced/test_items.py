"""Items: archiving items while the tap walks the lists neither repeats, skips nor loses one."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from tests.tap_invoiced.conftest import KEY, InvoicedApi, sync, tap_config, wait_until_logged

ARCHIVED_LIST = re.compile(r'"GET /items\?archived=1&\S*per_page=1&page=1 ')
LIVE_LIST = re.compile(r'"GET /items\?sort=\S*per_page=1&page=1 ')


def test_items_archived_while_the_lists_are_read(start_sandbox: Callable[..., Any]) -> None:
    args = ("--api-key", KEY, "--seed-customers", "1", "--fault-latency-ms", "15", "--verbose")
    with start_sandbox("invoiced", *args) as sandbox:
        api = InvoicedApi(sandbox.url, log=sandbox.log)
        # The seeded items are the oldest, so each one archived below sorts before the rows not read yet.
        oldest, next_oldest, *others = sorted(api.all("/items"), key=lambda item: (item["created_at"], item["id"]))
        retired = [f"retired-{n}" for n in range(8)]
        for item_id in retired:
            api.create("/items", {"id": item_id, "name": f"Retired {item_id}"})
            api.delete(f"/items/{item_id}")

        def archive_once_each_walk_began() -> None:
            # One item lands among the 8 archived ones read, one page each; it moves every row one page on.
            # The other leaves the live list as it is read; a forward read would then skip a live item.
            for began, item in ((ARCHIVED_LIST, oldest), (LIVE_LIST, next_oldest)):
                wait_until_logged(sandbox.log, began)
                api.delete(f"/items/{item['id']}")

        archiver = threading.Thread(target=archive_once_each_walk_began)
        archiver.start()
        first = sync(tap_config(sandbox.url, per_page=1))
        archiver.join()
        second = sync(tap_config(sandbox.url, per_page=1), state=first.state)

    emitted = first.ids("items")
    assert len(emitted) == len(set(emitted)), "an item was emitted twice in one run"
    # The live list lost an item as it was read (usually before the item's own page): none of the rest is lost.
    assert set(emitted) - {next_oldest["id"]} == {*retired, *(item["id"] for item in others)}
    # Both were archived behind the walks and are gone from the live list: they come, archived, next run.
    assert sorted(second.ids("items")) == sorted([oldest["id"], next_oldest["id"]])
    assert all(record["archived"] is True for record in second.records["items"])
