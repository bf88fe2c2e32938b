"""How to walk an Invoiced list without skipping records while other clients change it.

Invoiced pages by `page`/`per_page` offsets. An offset walk over a set that changes under it skips records:
an edit or delete moves a later record onto a page already read. Each walk here is chosen so that every
record that stays put during the walk is read at least once (repeats are dropped by the caller):

- `KeysetWalk` (lists with `updated_after`): always page 1 of "updated after the last second seen", sorted by
  `updated_at, id`. When a whole page shares one second, that second is read on its own, and in reverse page
  order, once it is over (see `KeysetWalk.next`).
- `ReverseWalk` (lists that only shrink in the middle and grow at the end): count first, then read the pages
  from last to first, so a removal can only move a record onto a page still to come.
- `PageWalk` (append-only lists such as events): plain forward pages, following the `Link: rel="next"` header.

A walk turns one `Page` (what the server answered) into the next `Step` (what to ask next); `WalkPaginator`
plugs a walk into the SDK's request loop.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import requests
from singer_sdk.pagination import BaseAPIPaginator

SORT_BY_UPDATE = "updated_at asc,id asc"
Params = tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Step:
    """One request of a walk: a path below the API root and its query parameters."""

    path: str
    params: Params
    # "page": an ordinary page; "probe": a one-record request that only counts; "sweep": part of a
    # reverse read, where an empty page (the set shrank) does not end the walk.
    kind: str = "page"
    second: int | None = None  # the whole second a keyset walk is reading on its own, if any
    page: int = 1
    missing_ok: bool = False  # a 404 means "the parent is gone", not a misconfiguration

    def query(self) -> dict[str, Any]:
        return {**dict(self.params), "page": self.page}


@dataclass(frozen=True)
class Page:
    """What one list response said, decoded once for both the records and the walk."""

    rows: list[dict[str, Any]]
    total: int | None = None  # X-Total-Count
    has_next: bool = False  # Link: rel="next"
    server_time: int | None = None  # the Date header, in Unix seconds


class Walk(ABC):
    """A read of one list endpoint, as a sequence of steps decided from the pages answered so far."""

    @abstractmethod
    def first(self) -> Step: ...

    @abstractmethod
    def next(self, step: Step, page: Page) -> Step | None:
        """The step after `step`, given the page it answered; None when the walk is complete."""


class PageWalk(Walk):
    """Forward pages until the server stops offering `rel="next"`; safe for lists that only grow at the end."""

    def __init__(self, path: str, params: Mapping[str, Any], per_page: int, *, missing_ok: bool = False) -> None:
        self._first = Step(path, (*params.items(), ("per_page", per_page)), missing_ok=missing_ok)

    def first(self) -> Step:
        return self._first

    def next(self, step: Step, page: Page) -> Step | None:
        return replace(step, page=step.page + 1) if page.has_next else None


class ReverseWalk(Walk):
    """Count, then read pages last to first: a record that stays is read even if others are removed.

    Removals only move a record towards lower pages, which are still to come. Records added after the count
    land beyond it (the list must be sorted so that additions go to the end) and are not read by this walk.
    The sort must not be a lone `id` term: under it Invoiced pages by a cursor cached from the previous
    page and refuses a jump to an offset of 10 000 or more ("You must retrieve all preceding page numbers").
    """

    def __init__(self, path: str, params: Mapping[str, Any], per_page: int) -> None:
        self._path, self._params, self._per_page = path, tuple(params.items()), per_page

    def first(self) -> Step:
        return Step(self._path, (*self._params, ("per_page", 1)), kind="probe")

    def next(self, step: Step, page: Page) -> Step | None:
        if step.kind == "probe":
            pages = math.ceil((page.total or 0) / self._per_page)
            if pages == 0:
                return None
            return Step(self._path, (*self._params, ("per_page", self._per_page)), kind="sweep", page=pages)
        return replace(step, page=step.page - 1) if step.page > 1 else None


class KeysetWalk(Walk):
    """Records updated after `after` (Unix seconds, exclusive), oldest change first, through to the present.

    Each request is page 1 of `updated_after=<cursor>` sorted by `updated_at, id`. After a page whose last
    record changed in second `T`, the cursor becomes `T - 1`: `updated_after` is strict and timestamps are
    whole seconds, so records of second `T` beyond this page are only reachable that way (the ones already
    read come back and are dropped by the caller). When all `per_page` records of a page share second `T`,
    moving the cursor cannot help; then second `T` is read on its own with `updated_after=T-1` and
    `updated_before=T+1`, in id order, as a `ReverseWalk`: a record that is edited or deleted meanwhile
    leaves the second (an edit gives it a later second, which this walk reaches later), so the second only
    shrinks, which a reverse read survives. A second still in progress on the server could still grow, so
    the walk stops there instead; the next run starts below that second and reads the rest.
    """

    def __init__(self, path: str, after: int, per_page: int, *, now: Callable[[Page], int]) -> None:
        self._path, self._after, self._per_page, self._now = path, after, per_page, now

    def first(self) -> Step:
        return self._page_after(self._after)

    def next(self, step: Step, page: Page) -> Step | None:
        return self._after_page(page) if step.second is None else self._within_second(step, step.second, page)

    def _after_page(self, page: Page) -> Step | None:
        if len(page.rows) < self._per_page:
            return None
        first, last = page.rows[0]["updated_at"], page.rows[-1]["updated_at"]
        if first < last:
            return self._page_after(last - 1)
        if self._now(page) <= last:
            return None  # the second is not over: stop at the present, the next run reads on from below it
        return self._second(last, kind="probe", per_page=1)

    def _within_second(self, step: Step, second: int, page: Page) -> Step | None:
        if step.kind == "probe":
            pages = math.ceil((page.total or 0) / self._per_page)
            if pages == 0:
                return self._page_after(second)
            return self._second(second, kind="sweep", per_page=self._per_page, page=pages)
        if step.page > 1:
            return replace(step, page=step.page - 1)
        return self._page_after(second)

    def _page_after(self, after: int) -> Step:
        params = (("updated_after", after), ("sort", SORT_BY_UPDATE), ("per_page", self._per_page))
        return Step(self._path, params)

    def _second(self, second: int, *, kind: str, per_page: int, page: int = 1) -> Step:
        params = (
            ("updated_after", second - 1),
            ("updated_before", second + 1),
            ("sort", SORT_BY_UPDATE),  # by id within the second; never a lone id sort (see ReverseWalk)
            ("per_page", per_page),
        )
        return Step(self._path, params, kind=kind, second=second, page=page)


class WalkPaginator(BaseAPIPaginator[Step]):
    """Runs a `Walk` inside the SDK's request loop; `read_page` decodes a response once for everyone."""

    def __init__(self, walk: Walk, read_page: Callable[[requests.Response], Page]) -> None:
        super().__init__(walk.first())
        self._walk, self._read_page = walk, read_page

    def get_next(self, response: requests.Response) -> Step | None:
        return self._walk.next(self.current_value, self._read_page(response))

    def continue_if_empty(self, response: requests.Response) -> bool:
        # A probe may count zero and a sweep page may have emptied; the walk decides what comes next.
        return self.current_value.kind in ("probe", "sweep")
