"""A walk while another client edits and deletes records misses nothing and never goes back in time."""

from __future__ import annotations

import itertools
import threading
from typing import Any

from tests.tap_customcrm.conftest import COLLECTIONS, CrmApi, sync, tap_config

EDITS = 60


def _edit_while(crm: CrmApi, syncing: threading.Event, done: threading.Event, log: list[dict[str, Any]]) -> None:
    """PATCH customers and products and DELETE orders, round robin, for as long as the sync runs."""
    editor = CrmApi(crm.url)  # its own connection, like another user of the CRM
    customers = [r["id"] for r in editor.walk("customers")]
    products = [r["id"] for r in editor.walk("products")]
    orders = [r["id"] for r in editor.walk("orders")]
    syncing.wait(timeout=30)
    for n in itertools.count():
        if done.is_set() or n >= EDITS:
            return
        match n % 3:
            case 0:
                log.append(
                    {"stream": "customers", **editor.patch("customers", customers[n % 40], {"notes": f"edit {n}"})}
                )
            case 1:
                log.append({"stream": "products", **editor.patch("products", products[n % 10], {"name": f"Edit {n}"})})
            case _:
                log.append({"stream": "orders", **editor.delete("orders", orders[(n * 7) % len(orders)])})


def test_walk_during_edits_and_deletes_misses_nothing(crm: CrmApi) -> None:
    syncing, done = threading.Event(), threading.Event()
    log: list[dict[str, Any]] = []
    editor = threading.Thread(target=_edit_while, args=(crm, syncing, done, log))
    editor.start()
    try:
        syncing.set()
        during = sync(tap_config(crm.url, page_size=2))
    finally:
        done.set()
        editor.join(timeout=60)
    catch_up = sync(tap_config(crm.url, page_size=2), during.state)

    edits_during_walk = [
        e for e in log if e["updated_at"] <= during.state["bookmarks"][e["stream"]]["replication_key_value"]
    ]
    assert len(edits_during_walk) >= 5, "precondition: the editor must overlap the walk; the machine was too slow"
    for stream in COLLECTIONS:
        emitted = during.records[stream]
        # Sorted by (updated_at, id), so no older version ever follows a newer one of the same record.
        assert [(r["updated_at"], r["id"]) for r in emitted] == sorted((r["updated_at"], r["id"]) for r in emitted)
        latest_seen: dict[str, int] = {}
        for record in emitted:
            assert record["version"] > latest_seen.get(record["id"], 0), f"{stream} {record['id']} went back"
            latest_seen[record["id"]] = record["version"]
        # Every record that exists now was emitted, in its final version, by the walk or (if edited after the
        # walk passed the end) by the catch-up run; an edit the walk could see is in the walk itself.
        final = {r["id"]: r for r in crm.walk(stream)}
        both = {**latest_seen, **{r["id"]: r["version"] for r in catch_up.records[stream]}}
        assert both == {record_id: r["version"] for record_id, r in final.items()}, stream
        for edit in (e for e in edits_during_walk if e["stream"] == stream):
            assert latest_seen[edit["id"]] >= edit["version"], f"{stream} {edit['id']} v{edit['version']} missed"
        tombstones = [r for r in final.values() if r["deleted_at"] is not None]
        for record in tombstones:
            assert (during.records[stream] + catch_up.records[stream]).count(record) == 1
    # Each edit (and each tombstone) is sent once over both runs, never re-sent.
    for stream in COLLECTIONS:
        keys = during.keys(stream) + catch_up.keys(stream)
        assert len(keys) == len(set(keys)), stream
