"""List endpoints: paging, the Link and X-Total-Count headers, sort, filter[...] and metadata[...].

A resource describes what may be filtered and sorted in a `ListSpec`; `run_list` turns the
query string into one COUNT and one page query (continuing from a cursor under a primary-key
sort, see cursors.py), and `list_response` renders the bare array with the headers the official
clients require on every list answer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sandbox.common.http import Request, Response
from sandbox.invoiced.cursors import DEEP_OFFSET, PRECEDING_PAGES_MESSAGE, PageCursors
from sandbox.invoiced.errors import invalid
from sandbox.invoiced.store import Store, load_many
from sandbox.invoiced.validation import FALSE_WORDS, TRUE_WORDS, to_decimal, to_int, unflatten

DEFAULT_PER_PAGE = 100
PAGE_LIMIT = 100
_METADATA_KEY = re.compile(r"^[A-Za-z0-9_-]*$")

# How a filter value from the query string is turned into what SQLite stores.
FilterKind = Callable[[str], Any]


def as_text(value: str) -> str:
    return value


def as_int(value: str) -> int:
    number = to_int(value)
    if number is None:
        raise ValueError(value)
    return number


def as_bool(value: str) -> int:
    if value in TRUE_WORDS:
        return 1
    if value in FALSE_WORDS:
        return 0
    raise ValueError(value)


def as_number(value: str) -> float:
    number = to_decimal(value)
    if number is None:
        raise ValueError(value)
    return float(number)


@dataclass(frozen=True)
class ListSpec:
    """What one list endpoint allows. `columns` maps fields kept in SQL columns to their names."""

    table: str
    filterable: Mapping[str, FilterKind]
    sortable: frozenset[str]
    columns: Mapping[str, str] = field(default_factory=dict)
    key_column: str = "id"
    descending: bool = False
    metadata: bool = False
    id_in_doc: bool = False  # items keep their own string id in the document

    def expression(self, name: str) -> str:
        # `name` always comes from this spec, never straight from the request.
        return self.columns.get(name) or f"json_extract(doc, '$.{name}')"


@dataclass
class Page:
    number: int
    size: int


@dataclass
class ListQuery:
    """The SQL conditions built from a request; resources add their own before running it."""

    spec: ListSpec
    page: Page
    params: dict[str, Any]
    conditions: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    def add(self, condition: str, *args: Any) -> None:
        self.conditions.append((condition, args))

    def identity(self) -> tuple[str, tuple[tuple[str, tuple[Any, ...]], ...]]:
        """Which rows the list holds, whatever order the parameters came in (the cursors' key)."""
        return self.spec.table, tuple(sorted(self.conditions, key=repr))

    def timestamp(self, name: str) -> int | None:
        """A Unix-seconds query parameter such as `updated_after`, or None when absent."""
        return _whole_number(self.params.get(name), name, "a Unix timestamp in seconds")

    def between(self, column: str, after: str, before: str, *, strict: bool) -> None:
        """Bound `column` by two timestamp parameters: `updated_after`/`updated_before` are strict,
        `start_date`/`end_date` inclusive."""
        low, high = self.timestamp(after), self.timestamp(before)
        if low is not None:
            self.add(f"{column} {'>' if strict else '>='} ?", low)
        if high is not None:
            self.add(f"{column} {'<' if strict else '<='} ?", high)


def page_of(params: Mapping[str, Any]) -> Page:
    return Page(
        number=max(1, _page_value(params, "page", 1)),
        size=max(1, min(PAGE_LIMIT, _page_value(params, "per_page", DEFAULT_PER_PAGE))),
    )


def _page_value(params: Mapping[str, Any], name: str, default: int) -> int:
    raw = params.get(name)
    number = _whole_number(raw, name, "a whole number")
    # The backend tests the raw value for truth, so `per_page=0` means the default, not 1.
    return number or default


def _whole_number(raw: Any, name: str, expected: str) -> int | None:
    """An integer query parameter, or None when it is absent or blank."""
    if raw is None or raw == "":
        return None
    number = to_int(raw) if isinstance(raw, str) else None
    if number is None:
        raise invalid(f"Invalid value for `{name}`: expected {expected}, got {raw!r}.", name)
    return number


def start_query(request: Request, spec: ListSpec) -> ListQuery:
    """Parse paging, `filter[...]` and `metadata[...]`; resources add their own parameters after."""
    params = unflatten(request.query)
    query = ListQuery(spec=spec, page=page_of(params), params=params)
    filters = params.get("filter", {})
    if not isinstance(filters, (dict, list)):
        raise invalid("Invalid filter parameter: filter must be given as filter[field]=value", "filter")
    for name, value in (filters.items() if isinstance(filters, dict) else enumerate(filters)):
        kind = spec.filterable.get(str(name))
        if kind is None:
            raise invalid(f"Invalid filter parameter: {name}", str(name))
        if not isinstance(value, str):
            raise invalid(f"Invalid value for `{name}` filter parameter", str(name))
        try:
            converted = kind(value)
        except ValueError:
            raise invalid(f"Invalid value for `{name}` filter parameter", str(name)) from None
        if kind is as_text:
            query.add(f"{spec.expression(str(name))} = ? COLLATE NOCASE", converted)
        else:
            query.add(f"{spec.expression(str(name))} = ?", converted)
    if spec.metadata:
        _add_metadata_filters(query, params.get("metadata"))
    return query


def _add_metadata_filters(query: ListQuery, metadata: Any) -> None:
    if metadata is None:
        return
    if not isinstance(metadata, dict):
        raise invalid("Invalid filter parameter: metadata must be given as metadata[key]=value", "metadata")
    for key, value in metadata.items():
        if not _METADATA_KEY.match(key) or key.isdigit() or not isinstance(value, str):
            raise invalid(f"Invalid filter parameter: {key}", "metadata")
        # The key is in the SQL itself, not a parameter, so the expression matches the store's metadata indexes
        # (store.py); the pattern above admits only letters, digits, '_' and '-', so it cannot break out.
        query.add(f"{metadata_expression(key)} = ?", value)


def metadata_expression(key: str) -> str:
    """The SQL expression for one metadata key's value, as lists filter on it and indexes are built on it."""
    return f"CAST(json_extract(doc, '$.metadata.\"{key}\"') AS TEXT)"


def where_clause(conditions: Sequence[tuple[str, tuple[Any, ...]]]) -> tuple[str, list[Any]]:
    """` WHERE a AND b` (empty without conditions) and its arguments."""
    if not conditions:
        return "", []
    where = " AND ".join(condition for condition, _ in conditions)
    return f" WHERE {where}", [arg for _, args in conditions for arg in args]


def sort_terms(spec: ListSpec, sort: Any) -> list[tuple[str, str]]:
    """`sort=col dir[,col dir]` as (expression, direction); unknown columns and bad directions are dropped
    like the API does."""
    terms: list[tuple[str, str]] = []
    if isinstance(sort, str):
        for term in sort.split(","):
            words = term.split()
            if not words or len(words) > 2 or words[0] not in spec.sortable:
                continue
            direction = words[1].upper() if len(words) == 2 else "ASC"
            if direction in ("ASC", "DESC"):
                terms.append((spec.expression(words[0]), direction))
    return terms


def key_direction(spec: ListSpec, terms: list[tuple[str, str]]) -> str | None:
    """The direction when the list is sorted by its primary key alone (where the backend pages by cursor)."""
    if not terms:
        return "DESC" if spec.descending else "ASC"
    if len(terms) == 1 and terms[0][0] == spec.key_column:
        return terms[0][1]
    return None


def order_by(spec: ListSpec, terms: list[tuple[str, str]]) -> str:
    # The key last keeps pages stable when the sort column has ties.
    tiebreak = (spec.key_column, "DESC" if spec.descending else "ASC")
    return ", ".join(f"{expression} {direction}" for expression, direction in [*terms, tiebreak])


def run_list(store: Store, query: ListQuery, cursors: PageCursors) -> tuple[list[dict[str, Any]], int]:
    """Return the page's objects and the total count of matches."""
    spec = query.spec
    where, args = where_clause(query.conditions)
    total = int(store.scalar(f"SELECT COUNT(*) FROM {spec.table}{where}", args))  # noqa: S608
    terms = sort_terms(spec, query.params.get("sort"))
    direction = key_direction(spec, terms)
    offset = (query.page.number - 1) * query.page.size
    cursor = None
    if direction is not None and offset > 0:
        cursor = cursors.find(query.identity(), offset)
        if cursor is None and offset >= DEEP_OFFSET:
            raise invalid(PRECEDING_PAGES_MESSAGE)
    if cursor is not None:
        # As in the backend: the rows after the cursor, however many before it went meanwhile.
        after = (f"{spec.key_column} {'>' if direction == 'ASC' else '<'} ?", (cursor,))
        where, args = where_clause([*query.conditions, after])
        offset = 0
    elif offset >= total:
        # Past the end; also keeps absurd page numbers from overflowing SQLite's 64-bit OFFSET.
        return [], total
    rows = store.rows(
        f"SELECT {spec.key_column}, doc FROM {spec.table}{where} "  # noqa: S608 - names come from the spec
        f"ORDER BY {order_by(spec, terms)} LIMIT ? OFFSET ?",
        [*args, query.page.size, offset],
    )
    if direction is not None and rows:
        cursors.remember(query.identity(), query.page.number * query.page.size, rows[-1][0])
    docs = load_many([doc for _, doc in rows])
    if spec.id_in_doc:
        return docs, total
    return [{"id": key, **doc} for (key, _), doc in zip(rows, docs, strict=True)], total


def link_header(base_url: str, request: Request, page: Page, total: int) -> str:
    """The Link header as the backend builds it: self, first, [previous], [next], last, each the
    request's own parameters with `page` replaced and `per_page` last, only when not the default."""
    page_count = max(1, math.ceil(total / page.size))
    # The caller's parameters as PHP reads them: a repeated name keeps its first place and its last
    # value, except `name[]`, whose every value counts.
    query: list[tuple[str, str]] = []
    for key, value in request.query:
        if key == "per_page":
            continue
        seen = None if key.endswith("[]") else next((i for i, (k, _) in enumerate(query) if k == key), None)
        if seen is None:
            query.append((key, value))
        else:
            query[seen] = (key, value)
    if page.size != DEFAULT_PER_PAGE:
        query.append(("per_page", str(page.size)))
    endpoint = base_url + (request.path.rstrip("/") or "/")

    def link(number: int, rel: str) -> str:
        replaced = [(k, str(number) if k == "page" else v) for k, v in query]
        if not any(k == "page" for k, _ in query):
            replaced.append(("page", str(number)))
        return f'<{endpoint}?{urlencode(replaced)}>; rel="{rel}"'

    links = [link(page.number, "self"), link(1, "first")]
    if page.number > 1:
        links.append(link(page.number - 1, "previous"))
    if page.number < page_count:
        links.append(link(page.number + 1, "next"))
    links.append(link(page_count, "last"))
    return ", ".join(links)


def list_response(
    base_url: str, request: Request, page: Page, total: int, objects: Sequence[Any]
) -> Response:
    return Response(
        200,
        list(objects),
        {"X-Total-Count": str(total), "Link": link_header(base_url, request, page, total)},
    )
