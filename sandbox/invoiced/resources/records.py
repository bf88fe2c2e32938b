"""Reading and writing one integer-keyed object, and the auto-numbering customers and invoices share."""

from __future__ import annotations

from typing import Any

from sandbox.invoiced.errors import invalid, not_found
from sandbox.invoiced.store import Store, dump, load


def fetch(store: Store, table: str, object_id: int, model: str) -> dict[str, Any]:
    """The stored object with its id first, or the API's 404."""
    found = store.row(f"SELECT doc FROM {table} WHERE id = ?", (object_id,))  # noqa: S608 - fixed names
    if found is None:
        raise not_found(model, object_id)
    return {"id": object_id, **load(found[0])}


def document(obj: dict[str, Any]) -> str:
    """The stored form: everything but the id, which is the row key."""
    return dump({k: v for k, v in obj.items() if k != "id"})


def number_key(number: str) -> str:
    # Numbers are unique ignoring case and surrounding blanks, as in the real API.
    return number.strip().lower()


def check_number_free(
    store: Store, table: str, number: str, *, model: str, exclude_id: int | None = None
) -> None:
    taken = store.scalar(
        f"SELECT id FROM {table} WHERE number_key = ? AND id IS NOT ?",  # noqa: S608 - fixed names
        (number_key(number), exclude_id),
    )
    if taken is not None:
        raise invalid(f"The given {model} number has already been taken: {number}", "number")


def next_number(store: Store, table: str, prefix: str) -> str:
    """The next free auto-number (CUST-00001, INV-00001), skipping numbers users chose by hand."""
    while True:
        candidate = f"{prefix}-{store.next_value(table + '_number'):05d}"
        if store.scalar(f"SELECT 1 FROM {table} WHERE number_key = ?", (number_key(candidate),)) is None:  # noqa: S608
            return candidate
