"""Pure value conversions between Customcrm and Invoiced, each exact in both directions.

Every function either returns the converted value or raises `Unmappable` with a reason a person can act on.
The engine maps `None` and `""` to `None` itself, so these never see them.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import date, datetime, time, timezone
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from sync_core import times

from customcrm_invoiced_mapper.codes import COUNTRIES, CURRENCIES

# Noon is at least eleven hours from either midnight, so the timestamp reads as the same calendar date for any viewer
# within ±11 h of the business zone, and no DST change (they all happen at night) can push it into another day.
BUSINESS_TIME_OF_DAY = time(12, 0)

ITEM_ID_PATTERN = re.compile(r"^[a-z0-9_\-:]{2,}$")  # what we derive: lower case, as Invoiced compares ids
_ANY_ITEM_ID = re.compile(r"^[a-z0-9_\-:]{2,}$", re.IGNORECASE)  # what Invoiced accepts, e.g. typed in its UI
ITEM_ID_SLUG_MAX = 60
ITEM_ID_DIGEST_LENGTH = 10
_DERIVED_SUFFIX = re.compile(rf"-[0-9a-f]{{{ITEM_ID_DIGEST_LENGTH}}}$")  # reserved for ids derived from other SKUs

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$", re.ASCII)
_CURRENCY = re.compile(r"^[A-Za-z]{3}$")
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
_NET_TERMS = re.compile(r"(?:^|\s)NET\s*(\d{1,4})$", re.IGNORECASE | re.ASCII)
_DUE_ON_RECEIPT = re.compile(r"^due\s+(on|upon)\s+receipt$", re.IGNORECASE)


class Unmappable(ValueError):
    """A value that cannot be carried to the other system: why (`reason`) and, when the value alone tells, what to do
    (`fix`); the engine names the field and supplies a general fix otherwise."""

    def __init__(self, reason: str, fix: str = "") -> None:
        super().__init__(f"{reason}: {fix}" if fix else reason)
        self.reason = reason
        self.fix = fix


# --- calendar dates ⇄ Unix seconds -------------------------------------------------------------------------------


def date_to_unix(value: str, zone: ZoneInfo) -> int:
    """'2024-03-31' → Unix seconds of local noon of that date in the business time zone."""
    if not isinstance(value, str) or not _DATE.match(value):
        raise Unmappable(f"{value!r} is not a calendar date written YYYY-MM-DD")
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise Unmappable(f"{value!r} is not a real calendar date") from exc
    stamp = int(datetime.combine(day, BUSINESS_TIME_OF_DAY, tzinfo=zone).timestamp())
    if unix_to_date(stamp, zone) != value:
        # Zones that jumped across the date line skipped a whole day (Pacific/Apia 2011-12-30): its noon reads back
        # as the next day, so carrying it would silently move the date.
        raise Unmappable(
            f"{value} does not exist in the business time zone {zone.key}", "that day was skipped there: use another"
        )
    return stamp


def unix_to_date(value: int | str, zone: ZoneInfo) -> str:
    """Unix seconds (or the RFC 3339 string tap-invoiced turns them into) → the calendar date in the business zone."""
    try:
        return parse_instant(value).astimezone(zone).date().isoformat()
    except OverflowError as exc:  # a moment in year 9999 can fall into year 10000 in the business zone
        raise Unmappable(f"{value!r} is outside the years 1 to 9999") from exc


def parse_instant(value: int | str) -> datetime:
    """An Invoiced timestamp as Unix seconds or as an RFC 3339 string, as an aware datetime."""
    if isinstance(value, bool):
        raise Unmappable(f"{value!r} is not a timestamp")
    if isinstance(value, int | Decimal):
        try:
            return datetime.fromtimestamp(int(value), tz=timezone.utc)
        except (OverflowError, OSError, ValueError) as exc:
            raise Unmappable(f"{value!r} is not a timestamp between the years 1 and 9999") from exc
    if isinstance(value, str):
        text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
        try:
            moment = datetime.fromisoformat(text)
        except ValueError as exc:
            raise Unmappable(f"{value!r} is not an RFC 3339 timestamp") from exc
        if moment.tzinfo is None:
            raise Unmappable(f"{value!r} has no UTC offset, so its calendar date is ambiguous")
        return moment
    raise Unmappable(f"{value!r} is not a timestamp")


def rfc3339(value: int | str) -> str:
    """A timestamp in either form as RFC 3339 UTC text, in the one form the plugins write (`sync_core.times`)."""
    moment = parse_instant(value)
    try:
        return times.rfc3339(moment)
    except ValueError as exc:  # in UTC, an instant at either end of the calendar can leave it
        raise Unmappable(f"{value!r} is outside the years 1 to 9999") from exc


# --- Invoiced metadata --------------------------------------------------------------------------------------------

METADATA_PREFIX = "metadata."
# Invoiced refuses a whole write whose metadata value is longer; it counts UTF-8 bytes, so 200 accented or CJK
# characters can already be too long. (Its other limits, 10 keys of 40 characters, are the mapping files' to keep.)
METADATA_MAX_VALUE_BYTES = 255


def metadata_value(value: object, source: str) -> object:
    """A value bound for Invoiced metadata, refused when Invoiced would refuse it."""
    if isinstance(value, str) and len(value.encode("utf-8")) > METADATA_MAX_VALUE_BYTES:
        raise Unmappable(
            f"the text is {len(value.encode('utf-8'))} bytes in UTF-8 ({len(value)} characters) and an Invoiced "
            f"metadata value keeps at most {METADATA_MAX_VALUE_BYTES} bytes",
            f"shorten it in {source}",
        )
    return value


# --- money and quantities -----------------------------------------------------------------------------------------


def decimal_string_to_number(value: str | int | Decimal) -> Decimal:
    """Customcrm's '12.50' → Decimal('12.50'), which Singer writes as the JSON number 12.50 (never a float)."""
    if isinstance(value, bool):
        raise Unmappable(f"{value!r} is not a decimal number")
    if isinstance(value, int | Decimal) or (isinstance(value, str) and _DECIMAL.match(value)):
        number = Decimal(value)
    else:
        raise Unmappable(f"{value!r} is not a decimal string like '12.50'")
    if not number.is_finite():
        raise Unmappable(f"{value!r} is not a finite number")
    return number


def number_to_decimal_string(value: object, scale: int, *, signed: bool = True, int_digits: int | None = None) -> str:
    """Invoiced's 12.5 → '12.50' at Customcrm's fixed scale; a value that would lose digits is refused, not rounded."""
    number = _as_decimal(value)
    if int_digits is not None and abs(number) >= Decimal(10) ** int_digits:
        raise Unmappable(f"{value} has more than {int_digits} digits before the decimal point, which Customcrm keeps")
    exponent = Decimal(1).scaleb(-scale)
    try:
        quantized = number.quantize(exponent)
    except InvalidOperation as exc:
        raise Unmappable(f"{value} is too large for Customcrm") from exc
    if quantized != number:
        raise Unmappable(
            f"{value} has more than {scale} decimal places and Customcrm keeps exactly {scale}",
            f"round it to {scale} decimals in Invoiced, so both systems keep the same amount",
        )
    if quantized < 0 and not signed:
        raise Unmappable(f"{value} is negative and Customcrm accepts only zero or more here")
    if quantized.is_zero():
        quantized = abs(quantized)  # Decimal keeps the sign of -0.00; the CRM would show it as '-0.00'
    return f"{quantized:f}"


def _as_decimal(value: object) -> Decimal:
    if isinstance(value, bool):
        raise Unmappable(f"{value!r} is not a number")
    if isinstance(value, float):
        # Only reachable if a reader parsed JSON into floats; repr() is the shortest string that reads back the same.
        value = repr(value)
    if isinstance(value, int | Decimal) or (isinstance(value, str) and _DECIMAL.match(value)):
        number = Decimal(value)
        if number.is_finite():
            return number
    raise Unmappable(f"{value!r} is not a number")


# --- codes --------------------------------------------------------------------------------------------------------


def currency_to_invoiced(value: str) -> str:
    """ISO 4217 'NOK' → 'nok' (Invoiced stores currencies lower-case)."""
    return _code(value, _CURRENCY, CURRENCIES, "an ISO 4217 currency code such as NOK or USD").lower()


def currency_to_customcrm(value: str) -> str:
    """'nok' → 'NOK' (Customcrm validates upper-case ISO 4217)."""
    return _code(value, _CURRENCY, CURRENCIES, "an ISO 4217 currency code such as nok or usd").upper()


def country_code(value: str) -> str:
    """ISO 3166-1 alpha-2, upper-case in both systems; a lower-case code is repaired, anything else refused."""
    return _code(value, _COUNTRY, COUNTRIES, "an ISO 3166-1 alpha-2 country code such as NO or US").upper()


def _code(value: object, pattern: re.Pattern[str], known: frozenset[str], expected: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise Unmappable(f"{value!r} is not {expected}")
    if value.upper() not in known:
        raise Unmappable(f"{value!r} has the shape but is not an assigned code: it is not {expected}")
    return value


# --- payment terms ------------------------------------------------------------------------------------------------


def payment_terms_to_invoiced(days: int) -> str:
    """30 → 'NET 30', Invoiced's own spelling of net terms."""
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise Unmappable(f"{days!r} is not a whole number of days (0 or more)")
    return f"NET {days}"


def payment_terms_to_customcrm(terms: str, max_days: int | None = None) -> int:
    """'NET 30' → 30; 'Due on receipt' → 0; early-payment terms like '2% 10 NET 30' keep their net days (30)."""
    text = terms.strip() if isinstance(terms, str) else ""
    if _DUE_ON_RECEIPT.match(text):
        return 0
    match = _NET_TERMS.search(text)
    if match is None:
        raise Unmappable(
            f"{terms!r} names no net days and Customcrm stores payment terms as days",
            "use terms like 'NET 30' in Invoiced",
        )
    days = int(match.group(1))
    if max_days is not None and days > max_days:
        raise Unmappable(f"{terms!r} is more than the {max_days} days Customcrm keeps", "use shorter terms in Invoiced")
    return days


# --- order status ⇄ invoice state ---------------------------------------------------------------------------------

# What an order status asks of the invoice. Invoiced derives `paid` from payments and the sync records no payments,
# so a paid order only asks for an issued invoice; a cancelled one asks for a void (the target deletes a draft
# instead, and leaves a paid invoice alone and reports it: see the order mapping's notes).
ORDER_STATUS_TO_INVOICE: dict[str, dict[str, bool]] = {
    "draft": {"draft": True, "voided": False},
    "confirmed": {"draft": False, "voided": False},
    "invoiced": {"draft": False, "voided": False},
    "paid": {"draft": False, "voided": False},
    "cancelled": {"voided": True},
}

# Invoiced's status, in its own precedence (voided → draft → paid → the rest), read back as an order status.
INVOICE_STATUS_TO_ORDER: dict[str, str] = {
    "voided": "cancelled",
    "draft": "draft",
    "paid": "paid",
    "bad_debt": "invoiced",
    "pending": "invoiced",
    "past_due": "invoiced",
    "disputed": "invoiced",
    "viewed": "invoiced",
    "sent": "invoiced",
    "not_sent": "invoiced",
}


def order_status_to_invoice(status: str) -> dict[str, bool]:
    try:
        return dict(ORDER_STATUS_TO_INVOICE[status])
    except (KeyError, TypeError) as exc:
        raise Unmappable(f"{status!r} is not an order status ({', '.join(ORDER_STATUS_TO_INVOICE)})") from exc


def invoice_state_to_order_status(state: dict[str, object]) -> str | None:
    """From the invoice's `status`, or from its `voided` / `draft` / `paid` flags when the status is missing."""
    status = state.get("status")
    if status is None:
        for flag in ("voided", "draft", "paid"):
            if state.get(flag) is True:
                status = flag
                break
        else:
            status = "not_sent" if state.get("draft") is False else None
    if status is None:
        return None
    try:
        return INVOICE_STATUS_TO_ORDER[status]  # type: ignore[index]
    except (KeyError, TypeError) as exc:
        known = ", ".join(INVOICE_STATUS_TO_ORDER)
        raise Unmappable(f"{status!r} is not an Invoiced invoice status ({known})") from exc


# --- item ids -----------------------------------------------------------------------------------------------------


def item_id_from_sku(sku: str) -> str:
    """A product SKU as an Invoiced item id (`^[a-z0-9_\\-:]{2,}$`), deterministic and collision-safe.

    A SKU that already is a valid id is used as it is, unless it ends the way derived ids end. Any other SKU is
    folded to ASCII lower case, with runs of other characters turned into '-', cut to 60 characters, and given a
    suffix of '-' and 10 hex digits of the SHA-256 of the exact SKU. So a derived id and an unchanged SKU never meet
    (only derived ids end in '-' + 10 hex digits, even when someone copies a derived id into a new SKU), and two
    derived ids meet only if their SKUs fold alike (case, accents, punctuation) and share 40 bits of digest.
    """
    if not isinstance(sku, str) or not sku.strip():
        raise Unmappable(f"{sku!r} is not a SKU", "give the product a SKU in Customcrm: an Invoiced item needs one")
    if ITEM_ID_PATTERN.match(sku) and len(sku) <= ITEM_ID_SLUG_MAX and not _DERIVED_SUFFIX.search(sku):
        return sku
    folded = unicodedata.normalize("NFKD", sku).encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9_\-:]+", "-", folded).strip("-")[:ITEM_ID_SLUG_MAX].rstrip("-")
    digest = hashlib.sha256(sku.encode("utf-8")).hexdigest()[:ITEM_ID_DIGEST_LENGTH]
    return f"{slug}-{digest}" if slug else f"sku-{digest}"


def item_id(value: str) -> str:
    """An item id already chosen (the link in Customcrm's external_ids.invoiced), checked against Invoiced's rule."""
    if not isinstance(value, str) or not _ANY_ITEM_ID.match(value):
        raise Unmappable(f"{value!r} is not an Invoiced item id (letters, digits, _ - :, at least 2)")
    return value


# --- Invoiced integer ids -----------------------------------------------------------------------------------------


def invoiced_id_to_int(value: str | int) -> int:
    """Customcrm keeps every external id as text; Invoiced customer and invoice ids are integers."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and int(value) > 0:
        return int(value)
    raise Unmappable(f"{value!r} is not an Invoiced id (a positive whole number)", "correct or clear it in Customcrm")


def invoiced_id_to_text(value: int | str) -> str:
    return str(invoiced_id_to_int(value))
