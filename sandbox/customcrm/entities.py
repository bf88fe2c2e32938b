"""The Customcrm entities as data: one definition per entity, read by validation, storage and the OpenAPI
generator alike, so a field is added in exactly one place."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

Kind = Literal[
    "string", "email", "country", "currency", "decimal", "integer", "boolean", "date", "enum", "ref", "id",
    "object", "list",
]


@dataclass(frozen=True)
class Field:
    """One writable (or computed) field of an entity, an address or an order line."""

    name: str
    kind: Kind
    description: str
    required: bool = False  # must be given on create and can never be null
    default: object = None  # stored on create when the field is absent
    max_length: int = 255
    scale: int = 0  # decimals: digits after the point, always rendered in full
    int_digits: int = 13  # decimals: digits before the point
    signed: bool = False  # decimals: negative values allowed
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    ref: str | None = None  # refs: the entity (collection name) the id points to
    unique: bool = False  # unique among records that are not deleted
    lookup: bool = False  # exact-match filter on the list endpoint
    fold_case: bool = False  # compared (unique, lookup) without regard to case
    fields: tuple[Field, ...] = ()  # object members, or the members of each list item
    title: str = ""  # objects and lists: the schema name of the members in the OpenAPI document
    max_items: int = 0
    computed: bool = False  # rendered by the server, never accepted on input

    @property
    def nullable(self) -> bool:
        """Whether a record can hold null here. A field with a default always holds a value (null would be a
        third state readers must guess at), and objects and lists are empty rather than null."""
        return not (
            self.required or self.computed or self.default is not None or self.kind in ("id", "object", "list")
        )

    @property
    def accepts_null(self) -> bool:
        """Whether a request may send null: to clear a nullable field, to empty an object or a list, or as the
        id of a new order line (a mapped line that has no id yet)."""
        return self.nullable or (not self.required and self.kind in ("id", "object", "list"))


@dataclass(frozen=True)
class Entity:
    name: str  # collection name, as in /v1/{name}
    title: str  # schema name in the OpenAPI document
    id_prefix: str
    fields: tuple[Field, ...]
    description: str
    # Fills in the computed fields of a stored document (after validation and merging, before it is saved).
    derive: Callable[[dict[str, Any]], dict[str, Any]] | None = None

    @property
    def writable(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if not f.computed)

    @property
    def lookups(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.lookup)

    @property
    def uniques(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.unique)

    @property
    def columns(self) -> tuple[Field, ...]:
        """Fields kept in their own indexed column because lists filter or constrain on them."""
        return tuple(f for f in self.fields if f.lookup or f.unique)


MONEY_SCALE = 2
QUANTITY_SCALE = 3
LINE_ID_PREFIX = "lin_"

ADDRESS = (
    Field("line1", "string", "Street address.", max_length=200),
    Field("line2", "string", "Second address line (suite, floor, c/o).", max_length=200),
    Field("city", "string", "City.", max_length=100),
    Field("region", "string", "State, county or region.", max_length=100),
    Field("postal_code", "string", "Postal code, as written locally.", max_length=20),
    Field("country", "country", "ISO 3166-1 alpha-2 country code, upper-case (e.g. NO, US)."),
)


def format_decimal(number: Decimal, scale: int) -> str:
    """A decimal as the contract renders it: every digit of its scale, and never `-0`."""
    text = f"{number:.{scale}f}"
    return text[1:] if text.startswith("-") and Decimal(text) == 0 else text


def order_amounts(doc: dict[str, Any]) -> dict[str, Any]:
    """The computed fields of an order: each line's `amount` and the order's `total`, as described below."""
    cent = Decimal(1).scaleb(-MONEY_SCALE)
    total = Decimal(0)
    lines = []
    for line in doc.get("lines") or []:
        amount = (Decimal(line["quantity"]) * Decimal(line["unit_price"])).quantize(cent, ROUND_HALF_UP)
        total += amount
        lines.append({**line, "amount": format_decimal(amount, MONEY_SCALE)})
    return {**doc, "lines": lines, "total": format_decimal(total, MONEY_SCALE)}


ORDER_LINE = (
    Field("id", "id", "Server-assigned line id. Send it back on PATCH to keep a line; omit it for a new line."),
    Field("product_id", "ref", "The product sold on this line, or null for a free-text line.", ref="products"),
    Field("description", "string", "What the line is for.", required=True, max_length=1000),
    Field(
        "quantity", "decimal", "Quantity, a decimal string with 3 decimals (e.g. \"2.500\"); not negative.",
        required=True, scale=QUANTITY_SCALE, int_digits=9,
    ),
    Field(
        "unit_price", "decimal", "Price per unit, a decimal string with 2 decimals; negative for discounts.",
        required=True, scale=MONEY_SCALE, signed=True,
    ),
    Field(
        "amount", "decimal", "quantity × unit_price, rounded half-up to 2 decimals.",
        scale=MONEY_SCALE, int_digits=22, signed=True, computed=True,
    ),
)

CUSTOMERS = Entity(
    name="customers",
    title="Customer",
    id_prefix="cus_",
    description="Companies that buy from us.",
    fields=(
        Field("name", "string", "Company name.", required=True, max_length=200),
        Field(
            "org_number", "string", "Business registration number; unique among customers that are not deleted.",
            max_length=50, unique=True, lookup=True,
        ),
        Field("email", "email", "Billing e-mail address (look-ups ignore case).", lookup=True, fold_case=True),
        Field("phone", "string", "Phone number as written.", max_length=50),
        Field("website", "string", "Website URL.", max_length=255),
        Field("billing_address", "object", "Billing address; PATCH merges it key by key.", fields=ADDRESS,
              title="Address"),
        Field("currency", "currency", "ISO 4217 currency code, upper-case (e.g. NOK, EUR)."),
        Field("payment_terms_days", "integer", "Days until an invoice is due.", minimum=0, maximum=3650),
        Field("tax_id", "string", "VAT or tax registration id.", max_length=50),
        Field("notes", "string", "Free-form notes.", max_length=10_000),
        Field("status", "enum", "Whether we still do business.", choices=("active", "inactive"), default="active"),
    ),
)

PRODUCTS = Entity(
    name="products",
    title="Product",
    id_prefix="prd_",
    description="What we sell: goods and services with a list price.",
    fields=(
        Field(
            "sku", "string", "Stock keeping unit; unique among products that are not deleted.",
            required=True, max_length=100, unique=True, lookup=True,
        ),
        Field("name", "string", "Product name.", required=True, max_length=200),
        Field("description", "string", "Longer description.", max_length=10_000),
        Field(
            "unit_price", "decimal", "List price, a decimal string with 2 decimals (e.g. \"199.00\").",
            required=True, scale=MONEY_SCALE,
        ),
        Field("currency", "currency", "ISO 4217 currency code of unit_price, upper-case.", required=True),
        Field("taxable", "boolean", "Whether sales tax applies.", default=True),
        Field("active", "boolean", "Whether the product can still be sold.", default=True),
    ),
)

USERS = Entity(
    name="users",
    title="User",
    id_prefix="usr_",
    description="People in our sales team; a user owns orders.",
    fields=(
        Field("name", "string", "Full name.", required=True, max_length=200),
        Field(
            "email", "email", "Work e-mail; unique among users that are not deleted (ignoring case).",
            required=True, unique=True, lookup=True, fold_case=True,
        ),
        Field("phone", "string", "Phone number as written.", max_length=50),
        Field("title", "string", "Job title.", max_length=100),
        Field("active", "boolean", "Whether the user still works here.", default=True),
    ),
)

ORDERS = Entity(
    name="orders",
    title="Order",
    id_prefix="ord_",
    description="Sales orders: a customer buys lines of products, owned by a user.",
    fields=(
        Field(
            "order_number", "string", "Our order number; unique among orders that are not deleted.",
            required=True, max_length=50, unique=True, lookup=True,
        ),
        Field("customer_id", "ref", "The customer who buys.", required=True, ref="customers", lookup=True),
        Field("owner_user_id", "ref", "The user who owns (sold) the order.", ref="users", lookup=True),
        Field("order_date", "date", "Calendar date of the order (YYYY-MM-DD).", required=True),
        Field("due_date", "date", "Calendar date payment is due (YYYY-MM-DD)."),
        Field("currency", "currency", "ISO 4217 currency code of all amounts, upper-case.", required=True),
        Field(
            "status", "enum", "Where the order is in its life.",
            choices=("draft", "confirmed", "invoiced", "paid", "cancelled"), default="draft",
        ),
        Field("purchase_order", "string", "The customer's purchase order reference.", max_length=100),
        Field("notes", "string", "Free-form notes.", max_length=10_000),
        Field(
            "lines", "list",
            "Order lines. PATCH replaces the list: lines sent with their id are kept (and updated), lines "
            "without id are added, lines not sent are removed.",
            fields=ORDER_LINE, title="OrderLine", max_items=500, default=(),
        ),
        Field(
            "total", "decimal", "Sum of the line amounts, a decimal string with 2 decimals.",
            scale=MONEY_SCALE, int_digits=25, signed=True, computed=True,
        ),
    ),
    derive=order_amounts,
)

ENTITIES: dict[str, Entity] = {e.name: e for e in (CUSTOMERS, PRODUCTS, USERS, ORDERS)}

# external_ids: which id a record has in another system, e.g. {"invoiced": "15444"}.
EXTERNAL_SYSTEM_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
EXTERNAL_ID_MAX_LENGTH = 255
EXTERNAL_IDS_MAX_KEYS = 20
