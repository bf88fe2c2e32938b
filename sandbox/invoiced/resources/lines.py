"""Invoice line items, discounts, taxes and totals, in exact decimal arithmetic."""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from typing import Any

from sandbox.invoiced.errors import ApiError, invalid
from sandbox.invoiced.validation import boolean, decimal, integer, metadata, read_fields, string

CENT = Decimal("0.01")
ZERO = Decimal(0)
# Inputs stay below 10^15, so products and sums of many lines need ~35 digits; the default 28 would
# round them or refuse to quantize.
MONEY = Context(prec=60, rounding=ROUND_HALF_UP)

LINE_FIELDS = {
    "id": integer(nullable=True),
    "catalog_item": string(255),
    "type": string(255),
    "name": string(255),
    "description": string(10_000),
    "quantity": decimal(nullable=False),
    "unit_cost": decimal(nullable=False),
    "discountable": boolean,
    "taxable": boolean,
    "plan": string(255),
    "metadata": metadata,
}
# What a line copies from its catalog item when the request leaves it out.
FROM_CATALOG = ("name", "description", "type", "unit_cost", "discountable", "taxable")

ItemLookup = Callable[[str], dict[str, Any] | None]
NewId = Callable[[], int]


def money(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, context=MONEY)


def _entries(raw: Any, param: str) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(entry, dict) for entry in raw):
        raise invalid(f"Invalid value for `{param}`: expected a list of objects.", param)
    return raw


def read_lines(
    raw: Any, existing: list[dict[str, Any]], find_item: ItemLookup, new_id: NewId
) -> list[dict[str, Any]]:
    """The complete new list of lines: listed ids update those lines, others are new, the rest go."""
    by_id = {line["id"]: line for line in existing}
    lines = []
    for index, entry in enumerate(_entries(raw, "items")):
        try:
            fields = read_fields(entry, LINE_FIELDS, model="LineItem")
        except ApiError as exc:
            raise invalid(f"Invalid line item items[{index}]: {exc.message}", "items") from None
        line_id = fields.pop("id", None)
        if line_id is not None and line_id not in by_id:
            raise invalid(f"Invalid line item items[{index}]: no line item with ID {line_id} on this invoice.", "items")
        if line_id is not None and any(line["id"] == line_id for line in lines):
            raise invalid(f"Invalid line item items[{index}]: line item ID {line_id} is listed twice.", "items")
        base = by_id[line_id] if line_id is not None else _new_line(fields, find_item, index)
        line = {**base, **fields}
        if line.get("unit_cost") is None:
            raise invalid(f"Invalid line item items[{index}]: unit_cost missing", "items")
        line["id"] = line_id if line_id is not None else new_id()
        # Stored lines come back with whole numbers as int; Decimal keeps the product exact either way.
        with localcontext(MONEY):
            line["amount"] = money(Decimal(line["quantity"]) * Decimal(line["unit_cost"]))
        lines.append(line)
    return lines


def _new_line(fields: dict[str, Any], find_item: ItemLookup, index: int) -> dict[str, Any]:
    line: dict[str, Any] = {
        "id": None, "object": "line_item", "catalog_item": None, "type": None, "name": None,
        "description": None, "quantity": Decimal(1), "unit_cost": None, "amount": ZERO,
        "discountable": True, "discounts": [], "taxable": True, "taxes": [], "plan": None, "metadata": {},
    }
    item_id = fields.get("catalog_item")
    if item_id:
        item = find_item(item_id)
        if item is None:
            raise invalid(f"Invalid line item items[{index}]: no such item: {item_id}", "items")
        line.update({key: item[key] for key in FROM_CATALOG})
        line["catalog_item"] = item["id"]
    return line


def read_adjustments(raw: Any, kind: str, new_id: NewId) -> list[dict[str, Any]]:
    """Invoice-level `discounts` or `taxes`, each given as an amount."""
    key = "taxes" if kind == "tax" else "discounts"
    adjustments = []
    for index, entry in enumerate(_entries(raw, key)):
        if "amount" not in entry:
            raise invalid(f"Invalid {kind} {key}[{index}]: amount missing", key)
        try:
            amount = decimal(nullable=False, minimum=ZERO)(entry["amount"], "amount")
        except ApiError as exc:
            raise invalid(f"Invalid {kind} {key}[{index}]: {exc.message}", key) from None
        reference = "coupon" if kind == "discount" else "tax_rate"
        adjustment = {"id": new_id(), "object": kind, "amount": money(amount), reference: None}
        if kind == "discount":
            adjustment["expires"] = None
        adjustments.append(adjustment)
    return adjustments


def totals(invoice: dict[str, Any]) -> None:
    """Set subtotal, total and balance from the lines and adjustments."""
    with localcontext(MONEY):
        subtotal = sum((Decimal(line["amount"]) for line in invoice["items"]), ZERO)
        discounts = sum((Decimal(d["amount"]) for d in invoice["discounts"]), ZERO)
        taxes = sum((Decimal(t["amount"]) for t in invoice["taxes"]), ZERO)
        total = money(subtotal - discounts + taxes)
    if total < 0:
        raise invalid(
            f"The invoice total cannot be negative ({total}); check the line amounts and the discounts.", "total"
        )
    invoice["subtotal"] = money(subtotal)
    invoice["total"] = total
    invoice["balance"] = ZERO if invoice["paid"] or invoice["voided"] else total
