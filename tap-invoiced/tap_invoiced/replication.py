"""The three ways an Invoiced list is read incrementally; the README explains why each is sound.

- `UpdatedAfterStream` (customers, invoices): tombstones from the `*.deleted` events first, then a keyset
  walk over `updated_after` from the bookmark minus the overlap, dropping versions already emitted.
- `EventSourcedStream` (contacts): no `updated_after`; one full read under every customer the first time,
  then only the contact events since the previous run, newest snapshot per contact.
- `CatalogStream` (items): no filter and no events; a full read (archived and live) every run that emits
  what changed since the bookmark, plus items seen archived for the first time.

Every stream is "unsorted" for the SDK (`is_sorted = False`): tombstones and late re-reads do not arrive in
`updated_at` order, so the SDK keeps the highest `updated_at` emitted and saves it when the stream is done.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from sync_core.times import parse_instant

from tap_invoiced.bookmarks import EVENTS, RECENT, EventCursor, RecentlyEmitted
from tap_invoiced.client import InvoicedStream
from tap_invoiced.pagination import KeysetWalk, PageWalk, ReverseWalk
from tap_invoiced.records import DELETED_AT, DecimalPlan, decimal_plan, shaped, snapshot, tombstone, unix_seconds

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

BY_ID = {"sort": "id asc"}
BY_CREATION = {"sort": "created_at asc,id asc"}  # additions go to the end, which a ReverseWalk needs


class IncrementalStream(InvoicedStream):
    """Shared bookkeeping: where a run starts, and where the next one is expected to start (the overlap window)."""

    replication_key = "updated_at"
    is_sorted = False
    timestamps: ClassVar[tuple[str, ...]] = ("created_at", "updated_at", DELETED_AT)

    def post_process(self, row: dict[str, Any], context: Context | None = None) -> dict[str, Any] | None:
        return shaped(row, self.fields, self.timestamps, self.decimals)

    @cached_property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.schema["properties"])

    @cached_property
    def decimals(self) -> dict[str, DecimalPlan]:
        """Where this stream's amounts, quantities and rates are, each written as decimal text."""
        plan = decimal_plan(self.schema)
        return plan if isinstance(plan, dict) else {}

    def starting_second(self, context: Context | None) -> int | None:
        start = self.get_starting_timestamp(context)  # the bookmark, or start_date on a first run
        return None if start is None else unix_seconds(start)

    def start_date_second(self) -> int:
        start = self.config.get("start_date")
        return unix_seconds(parse_instant(start)) if start else 0  # checked at start (sync_core.config)

    def next_starting_second(self, context: Context | None, newest: int | None, before: int | None) -> int:
        """Where the next run is expected to start: the newest `updated_at` emitted, capped at the signpost,
        or `before` when nothing was emitted.

        Not the bookmark itself: the SDK computes and saves that on its own (by the same rule). This value only
        decides which `recently_emitted` entries to keep (those the next run re-reads, within the overlap below
        it), and for items it is also their own `changed_up_to`.
        """
        if newest is None:
            return before or 0
        signpost = self.get_replication_key_signpost(context)
        return min(newest, unix_seconds(signpost)) if signpost else newest


class UpdatedAfterStream(IncrementalStream):
    """A list with `updated_after`, whose deletes are `<deleted_event>` events."""

    deleted_event: ClassVar[str]

    def get_replication_key_signpost(self, context: Context | None = None) -> None:
        # The SDK caps the bookmark at the tap's start by the local clock. Here the newest updated_at emitted
        # is already sound (tombstones first, all older; then a walk in updated_at order to the present), and
        # the cap would only make the next run re-read, and re-send, whatever changed during this run more
        # than the overlap before its end (the overlap bookkeeping keeps only those last seconds). It would
        # also tie the bookmark to the local clock agreeing with Invoiced's.
        return None

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        state = self.get_context_state(context)
        start = self.starting_second(context)
        recent = RecentlyEmitted(state.get(RECENT), overlap=self.overlap, newest=start)
        deletes = EventCursor(state.get(EVENTS), overlap=self.overlap, since=self.start_date_second())
        newest: int | None = None
        # Deletes first: their times are then all older than the walk's start, so a tombstone can never
        # lift the bookmark above a live change the walk has not read yet.
        events = {"filter[type]": self.deleted_event, "sort": "id asc", "start_date": deletes.start_date}
        for event in self.walk(PageWalk("/events", events, self.per_page), context):
            if deletes.admit(event):
                newest = max(newest or 0, event["timestamp"])
                yield tombstone(event)
        after = (start or 0) - self.overlap
        for row in self.walk(KeysetWalk(self.path, after, self.per_page, now=self.server_time), context):
            if recent.admit(str(row["id"]), row["updated_at"], row):
                newest = max(newest or 0, row["updated_at"])
                yield {**row, DELETED_AT: None}
        state[RECENT] = recent.saved(self.next_starting_second(context, newest, start))
        state[EVENTS] = deletes.saved()


class EventSourcedStream(IncrementalStream):
    """A list under each customer, with `<event_object>.*` events for every change."""

    event_object: ClassVar[str]

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        state = self.get_context_state(context)
        if EVENTS in state:
            yield from self._changes_since(state, context)
        else:
            yield from self._everything(state, context)

    def _everything(self, state: dict[str, Any], context: Context | None) -> Iterator[dict[str, Any]]:
        """First run: one list per customer. Changes made meanwhile come again from events next run."""
        started: int | None = None
        # A customer deleted meanwhile moves the ones after it back a place, so one already listed can be
        # listed again on the next (lower) page; its contacts are read once.
        listed: set[int] = set()
        customers = ReverseWalk("/customers", BY_CREATION, self.per_page)
        for customer in self.walk(customers, context):
            if started is None:
                started = self.server_time()
            if customer["id"] in listed:
                continue
            listed.add(customer["id"])
            path = self.path.format(customer_id=customer["id"])
            for row in self.walk(PageWalk(path, BY_ID, self.per_page, missing_ok=True), context):
                yield {**row, DELETED_AT: None}
        since = started if started is not None else self.server_time()
        state[EVENTS] = EventCursor(None, overlap=self.overlap, since=since).saved()

    def _changes_since(self, state: dict[str, Any], context: Context | None) -> Iterator[dict[str, Any]]:
        """Later runs: the newest snapshot of every object with an event since the cursor."""
        cursor = EventCursor(state[EVENTS], overlap=self.overlap, since=0)
        newest: dict[Any, tuple[int, dict[str, Any]]] = {}
        query = {"type": self.event_object, "sort": "id asc", "start_date": cursor.start_date}
        for event in self.walk(PageWalk("/events", query, self.per_page), context):
            if cursor.admit(event):
                deleted = event["type"].endswith(".deleted")
                row = tombstone(event) if deleted else {**snapshot(event), DELETED_AT: None}
                newest[row["id"]] = (event["id"], row)
        for _, row in sorted(newest.values(), key=lambda entry: entry[0]):
            yield row
        state[EVENTS] = cursor.saved()


class CatalogStream(IncrementalStream):
    """A list without `updated_after` or events, whose deletes archive (`archived=1` lists those)."""

    ARCHIVED = "archived_versions"  # state: "<id>@<created_at>" of every archived item already emitted
    # state: the bookmark that live items are filtered by. The SDK's own bookmark can move back when a
    # run emits only newly archived items (whose updated_at may be old); this one never does.
    CHANGED_UP_TO = "changed_up_to"

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        state = self.get_context_state(context)
        start = max(self.starting_second(context) or 0, state.get(self.CHANGED_UP_TO, 0)) or None
        # The walk is not in updated_at order, so nothing is forgotten before the end (items are few).
        recent = RecentlyEmitted(state.get(RECENT), overlap=self.overlap, newest=start, ascending=False)
        archived_before = set(state.get(self.ARCHIVED, []))
        archived_now: set[str] = set()
        newest: int | None = None
        # Archived first, so that when an id was reused the live item is the one emitted last.
        # Archiving may leave updated_at alone, so archived items are recognised by version instead.
        # An item archived during this walk sorts among those already read and pushes a row read already onto
        # the next page (a repeat, never a skip), so versions are also checked against this run's.
        for row in self.walk(PageWalk(self.path, {"archived": 1, **BY_CREATION}, self.per_page), context):
            version = _version(row)
            if version not in archived_before and version not in archived_now:
                archived_now.add(version)
                newest = max(newest or 0, row["updated_at"])
                yield {**row, "archived": True}
        changed_after = (start or 0) - self.overlap
        for row in self.walk(ReverseWalk(self.path, BY_CREATION, self.per_page), context):
            if row["updated_at"] > changed_after and recent.admit(_version(row), row["updated_at"], row):
                newest = max(newest or 0, row["updated_at"])
                yield {**row, "archived": False}
        changed_up_to = max(start or 0, self.next_starting_second(context, newest, start))
        state[RECENT] = recent.saved(changed_up_to)
        state[self.CHANGED_UP_TO] = changed_up_to
        state[self.ARCHIVED] = sorted(archived_before | archived_now)


def _version(item: Mapping[str, Any]) -> str:
    # Item ids are reusable once archived; the creation time tells the versions apart.
    return f"{item['id']}@{item['created_at']}"
