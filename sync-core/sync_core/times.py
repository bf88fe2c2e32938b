"""The one text form of an instant that the plugins write, and the reading of any instant they are handed.

Form: RFC 3339 in UTC with a `+00:00` offset, fractional digits only when the instant has them
(`2024-04-02T06:00:00+00:00`), as `datetime.isoformat` writes a UTC time and as the SDK writes `time_extracted`.
Customcrm's own wire text (`...06:00:00.000000Z`) is that system's, in `sync_core.http.customcrm`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from functools import lru_cache


@lru_cache(maxsize=8192, typed=True)  # many records share a second, and formatting is the expensive part
def rfc3339(value: datetime | int | float) -> str:
    """`1712037600` (Unix seconds) or an aware datetime -> `2024-04-02T06:00:00+00:00`."""
    return parse_instant(value).isoformat()


def parse_instant(value: str | int | float | Decimal | datetime) -> datetime:
    """An instant as an aware UTC datetime: RFC 3339 text with an offset (or Z), Unix seconds, or an aware datetime.

    Raises ValueError saying what is wrong with the value (no offset, not a timestamp, outside the years 1-9999).
    """
    if isinstance(value, bool):  # an int to Python, never a timestamp to a user
        msg = f"{value!r} is not a timestamp"
        raise ValueError(msg)
    if isinstance(value, int | float | Decimal):
        try:
            return datetime.fromtimestamp(value if isinstance(value, int) else float(value), tz=timezone.utc)
        except (OverflowError, OSError, ValueError) as exc:
            msg = f"{value!r} is not a timestamp between the years 1 and 9999"
            raise ValueError(msg) from exc
    if isinstance(value, str):
        text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
        try:
            moment = datetime.fromisoformat(text)
        except ValueError as exc:
            msg = f"{value!r} is not an RFC 3339 timestamp"
            raise ValueError(msg) from exc
    elif isinstance(value, datetime):
        moment = value
    else:
        msg = f"{value!r} is not a timestamp"
        raise ValueError(msg)
    if moment.tzinfo is None:
        msg = f"{value!r} has no UTC offset, so the instant it means is ambiguous"
        raise ValueError(msg)
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError as exc:  # 0001-01-01T00:00:00+01:00 is before the year 1 in UTC
        msg = f"{value!r} is outside the years 1 to 9999 in UTC"
        raise ValueError(msg) from exc
