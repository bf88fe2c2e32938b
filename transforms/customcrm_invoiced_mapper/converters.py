"""The converters a mapping row can name, each a pair of exact conversions plus what the docs and schemas say of it.

A converter never sees `None` or `""`: the engine maps an absent value to nothing, and `None` and `""` to `None`,
before calling it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo

from customcrm_invoiced_mapper import values
from customcrm_invoiced_mapper.values import Unmappable

Direction = Literal["to_invoiced", "to_customcrm"]

NULLABLE_STRING: dict[str, Any] = {"type": ["string", "null"]}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema["type"]
    return {**schema, "type": [*([kind] if isinstance(kind, str) else kind), "null"]}


def _reference_schema(key: str) -> dict[str, Any]:
    return {
        "type": ["object", "null"],
        "properties": {key: {"type": "string"}},
        "required": [key],
        "additionalProperties": False,
    }


@dataclass(frozen=True)
class Converter:
    """A named conversion; `args` come from the mapping row (e.g. `scale: 2`)."""

    args: dict[str, Any] = field(default_factory=dict)

    name: ClassVar[str]
    invoiced_type: ClassVar[str]  # the spec's "Invoiced Data Type" column
    summary: ClassVar[str]
    invoiced_schema: ClassVar[dict[str, Any]] = NULLABLE_STRING
    customcrm_schema: ClassVar[dict[str, Any]] = NULLABLE_STRING
    directions: ClassVar[frozenset[Direction]] = frozenset({"to_invoiced", "to_customcrm"})
    # Most converters are a pair of plain functions from values.py (wrapped in staticmethod); those that need the
    # row's args or the business zone override to_invoiced / to_customcrm instead.
    invoiced_value: ClassVar[Callable[[Any], Any] | None] = None
    customcrm_value: ClassVar[Callable[[Any], Any] | None] = None

    def convert(self, direction: Direction, value: Any, zone: ZoneInfo) -> Any:
        if direction == "to_invoiced":
            return self.to_invoiced(value, zone)
        return self.to_customcrm(value, zone)

    def to_invoiced(self, value: Any, zone: ZoneInfo) -> Any:
        if self.invoiced_value is None:
            raise NotImplementedError(self.name)
        return self.invoiced_value(value)

    def to_customcrm(self, value: Any, zone: ZoneInfo) -> Any:
        if self.customcrm_value is None:
            raise NotImplementedError(self.name)
        return self.customcrm_value(value)

    def schema(self, direction: Direction) -> dict[str, Any]:
        return self.invoiced_schema if direction == "to_invoiced" else self.customcrm_schema

    def target_schemas(self, direction: Direction, targets: tuple[str, ...]) -> dict[str, dict[str, Any]]:
        """The JSON schema of each property this converter writes."""
        return {path: self.schema(direction) for path in targets}

    def describe(self) -> str:
        return self.summary


class Text(Converter):
    name = "text"
    invoiced_type = "String"
    summary = "Text as is."

    def to_invoiced(self, value: Any, zone: ZoneInfo) -> str | None:
        return self._text(value, self.args.get("invoiced_max_length"), "Invoiced", "Customcrm")

    def to_customcrm(self, value: Any, zone: ZoneInfo) -> str | None:
        return self._text(value, self.args.get("customcrm_max_length"), "Customcrm", "Invoiced")

    @staticmethod
    def _text(value: Any, limit: int | None, target: str, source: str) -> str | None:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise Unmappable(f"{value!r} is not text")
        text = str(value)
        if limit is not None and len(text) > limit:
            raise Unmappable(
                f"the text is {len(text)} characters long and {target} keeps at most {limit}", f"shorten it in {source}"
            )
        return text

    def describe(self) -> str:
        limits = [
            f"{self.args[key]} characters in {system}"
            for key, system in (("invoiced_max_length", "Invoiced"), ("customcrm_max_length", "Customcrm"))
            if key in self.args
        ]
        return self.summary + (f" Refused when longer than {' or '.join(limits)}." if limits else "")


class Boolean(Converter):
    name = "boolean"
    invoiced_type = "Boolean"
    summary = "true/false as is."
    invoiced_schema: ClassVar[dict[str, Any]] = {"type": ["boolean", "null"]}
    customcrm_schema: ClassVar[dict[str, Any]] = {"type": ["boolean", "null"]}

    def to_invoiced(self, value: Any, zone: ZoneInfo) -> bool:
        return self._flag(value)

    def to_customcrm(self, value: Any, zone: ZoneInfo) -> bool:
        return self._flag(value)

    @staticmethod
    def _flag(value: Any) -> bool:
        if not isinstance(value, bool):
            raise Unmappable(f"{value!r} is not true or false")
        return value


class NegatedBoolean(Boolean):
    name = "negated_boolean"
    summary = "true on one side is false on the other."

    def to_invoiced(self, value: Any, zone: ZoneInfo) -> bool:
        return not self._flag(value)

    def to_customcrm(self, value: Any, zone: ZoneInfo) -> bool:
        return not self._flag(value)


class CustomerStatus(Converter):
    name = "customer_status"
    invoiced_type = "Boolean"
    summary = "status active ⇄ active true; inactive ⇄ false."
    invoiced_schema: ClassVar[dict[str, Any]] = {"type": ["boolean", "null"]}
    customcrm_schema: ClassVar[dict[str, Any]] = {"type": ["string", "null"], "enum": ["active", "inactive", None]}

    def to_invoiced(self, value: Any, zone: ZoneInfo) -> bool:
        if value not in ("active", "inactive"):
            raise Unmappable(f"{value!r} is not a customer status (active, inactive)")
        return value == "active"

    def to_customcrm(self, value: Any, zone: ZoneInfo) -> str:
        return "active" if Boolean._flag(value) else "inactive"


class DecimalNumber(Converter):
    name = "decimal"
    invoiced_type = "Number"
    summary = "Decimal string ⇄ JSON number, with Python Decimal only (never float)."
    invoiced_schema: ClassVar[dict[str, Any]] = {"type": ["number", "null"]}
    customcrm_schema: ClassVar[dict[str, Any]] = {"type": ["string", "null"], "pattern": r"^-?\d+\.\d+$"}
    invoiced_value = staticmethod(values.decimal_string_to_number)

    def to_customcrm(self, value: Any, zone: ZoneInfo) -> str:
        return values.number_to_decimal_string(
            value, self.args["scale"], signed=self.args.get("signed", True), int_digits=self.args.get("int_digits")
        )

    def describe(self) -> str:
        sign = "" if self.args.get("signed", True) else "; negative values refused"
        limit = self.args.get("int_digits")
        digits = f"; more than {limit} digits before the point refused" if limit else ""
        return (
            f"{self.summary} Written to Customcrm with exactly {self.args['scale']} decimals; a value with more "
            f"digits is refused, not rounded{sign}{digits}."
        )


class CalendarDate(Converter):
    name = "date"
    invoiced_type = "Timestamp (Unix seconds)"
    summary = (
        "YYYY-MM-DD ⇄ Unix seconds at local noon of that date in the business time zone; read back as the date of "
        "the timestamp in that zone, so a date survives any number of round trips (DST included)."
    )
    invoiced_schema: ClassVar[dict[str, Any]] = {"type": ["integer", "null"]}
    customcrm_schema: ClassVar[dict[str, Any]] = {"type": ["string", "null"], "format": "date"}

    def to_invoiced(self, value: Any, zone: ZoneInfo) -> int:
        return values.date_to_unix(value, zone)

    def to_customcrm(self, value: Any, zone: ZoneInfo) -> str:
        return values.unix_to_date(value, zone)


class Currency(Converter):
    name = "currency"
    invoiced_type = "String (ISO 4217, lower-case)"
    summary = "ISO 4217 code: upper-case in Customcrm (NOK), lower-case in Invoiced (nok)."
    invoiced_value = staticmethod(values.currency_to_invoiced)
    customcrm_value = staticmethod(values.currency_to_customcrm)


class Country(Converter):
    name = "country"
    invoiced_type = "String (ISO 3166-1 alpha-2)"
    summary = "ISO 3166-1 alpha-2 code, upper-case on both sides."
    invoiced_value = staticmethod(values.country_code)
    customcrm_value = staticmethod(values.country_code)


class PaymentTerms(Converter):
    name = "payment_terms"
    invoiced_type = 'String ("NET 30")'
    summary = (
        "payment_terms_days 30 ⇄ \"NET 30\"; \"Due on receipt\" reads as 0; terms with an early-payment discount "
        "(\"2% 10 NET 30\") keep their net days; terms without net days are refused."
    )
    customcrm_schema: ClassVar[dict[str, Any]] = {"type": ["integer", "null"]}
    invoiced_value = staticmethod(values.payment_terms_to_invoiced)

    def to_customcrm(self, value: Any, zone: ZoneInfo) -> int:
        return values.payment_terms_to_customcrm(value, self.args.get("customcrm_max_days"))

    def describe(self) -> str:
        limit = self.args.get("customcrm_max_days")
        return self.summary + (f" Refused beyond {limit} days, the most Customcrm keeps." if limit else "")


class OrderStatus(Converter):
    """Reads and writes several invoice fields at once: the row's `invoiced` is a list and values are dicts."""

    name = "order_status"
    invoiced_type = "Boolean (draft, voided) / String (status, read only)"
    summary = "See the order status table."
    invoiced_schema: ClassVar[dict[str, Any]] = {"type": ["boolean", "null"]}
    customcrm_schema: ClassVar[dict[str, Any]] = {
        "type": ["string", "null"],
        "enum": ["draft", "confirmed", "invoiced", "paid", "cancelled", None],
    }
    invoiced_value = staticmethod(values.order_status_to_invoice)
    customcrm_value = staticmethod(values.invoice_state_to_order_status)

    def target_schemas(self, direction: Direction, targets: tuple[str, ...]) -> dict[str, dict[str, Any]]:
        if direction == "to_customcrm":
            return super().target_schemas(direction, targets)
        written = {name for fields in values.ORDER_STATUS_TO_INVOICE.values() for name in fields}
        return {path: self.invoiced_schema for path in targets if path in written}


class InvoicedId(Converter):
    name = "invoiced_id"
    invoiced_type = "Integer"
    summary = "Invoiced's integer id ⇄ its decimal text in Customcrm's external_ids."
    invoiced_schema: ClassVar[dict[str, Any]] = {"type": ["integer", "null"]}
    invoiced_value = staticmethod(values.invoiced_id_to_int)
    customcrm_value = staticmethod(values.invoiced_id_to_text)


class ItemId(Converter):
    name = "item_id"
    invoiced_type = "String (item id)"
    summary = "The item id as is, checked against Invoiced's id rule ``^[a-z0-9_\\-:]{2,}$`` (any case)."
    invoiced_value = staticmethod(values.item_id)
    customcrm_value = staticmethod(values.item_id)


class ItemIdFromSku(Converter):
    name = "item_id_from_sku"
    invoiced_type = "String (item id)"
    summary = (
        "A SKU that is already a valid lower-case item id (at most 60 characters, not ending in '-' and 10 hex "
        "digits) is the id; any other SKU is folded to ASCII lower case with other characters as '-', cut to 60 "
        "characters, plus '-' and 10 hex digits of the SHA-256 of the exact SKU, so SKUs that fold alike, and a SKU "
        "copied from a derived id, still get different ids."
    )
    directions = frozenset({"to_invoiced"})
    invoiced_value = staticmethod(values.item_id_from_sku)


class Reference(Converter):
    """A link to another record, named by the key the other system's target can look it up by."""

    name = "reference"
    invoiced_type = "Integer"
    summary = (
        'Reference: {"customcrm_id": "<Customcrm id>"} toward Invoiced, {"invoiced_id": "<Invoiced id>"} toward '
        "Customcrm; the target resolves it through its links (metadata.customcrm_id / external_ids.invoiced)."
    )
    invoiced_schema: ClassVar[dict[str, Any]] = _reference_schema("customcrm_id")
    customcrm_schema: ClassVar[dict[str, Any]] = _reference_schema("invoiced_id")

    def to_invoiced(self, value: Any, zone: ZoneInfo) -> dict[str, str]:
        return {"customcrm_id": self._id(value)}

    def to_customcrm(self, value: Any, zone: ZoneInfo) -> dict[str, str]:
        return {"invoiced_id": self._id(value)}

    @staticmethod
    def _id(value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
            raise Unmappable(f"{value!r} is not a record id")
        return str(value)


class ReferenceByEmail(Converter):
    name = "reference_by_email"
    invoiced_type = "String (e-mail)"
    summary = 'Reference {"email": "<address>"}: target-customcrm finds the Customcrm user with that e-mail.'
    customcrm_schema: ClassVar[dict[str, Any]] = _reference_schema("email")
    directions = frozenset({"to_customcrm"})

    def to_customcrm(self, value: Any, zone: ZoneInfo) -> dict[str, str]:
        if not isinstance(value, str) or "@" not in value:
            raise Unmappable(f"{value!r} is not an e-mail address", "set the sales rep's e-mail on the invoice")
        return {"email": value}


class Constant(Converter):
    """A fixed value written to one side; the row has no source field."""

    name = "constant"
    invoiced_type = "String"
    summary = "Always the same value."

    def to_invoiced(self, value: Any, zone: ZoneInfo) -> Any:
        return self.args["value"]

    def to_customcrm(self, value: Any, zone: ZoneInfo) -> Any:
        return self.args["value"]

    def describe(self) -> str:
        return f"Always {self.args['value']!r}."


CONVERTERS: dict[str, type[Converter]] = {
    c.name: c
    for c in (
        Text, Boolean, NegatedBoolean, CustomerStatus, DecimalNumber, CalendarDate, Currency, Country, PaymentTerms,
        OrderStatus, InvoicedId, ItemId, ItemIdFromSku, Reference, ReferenceByEmail, Constant,
    )
}


def build_converter(name: str, args: dict[str, Any], where: str) -> Converter:
    factory: Callable[..., Converter] | None = CONVERTERS.get(name)
    if factory is None:
        raise ValueError(f"{where}: unknown converter {name!r}; known: {', '.join(sorted(CONVERTERS))}")
    return factory(args=args)
