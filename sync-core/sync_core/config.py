"""Settings checked before the first request, beyond what the settings' JSON schema can say."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from singer_sdk.exceptions import ConfigValidationError

from sync_core.environment import unread_variables


class CheckedSettings:
    """For a singer-sdk plugin class, listed before the SDK's base: the settings are checked when the plugin starts,
    each problem naming its setting and how to write it.

    - A number that arrives as text is read as a number. Meltano hands a setting set from the environment
      (`TARGET_INVOICED_REQUEST_TIMEOUT=2.5`) over as text when meltano.yml declares no kind for it, and meltano.yml
      declares none for numbers: Meltano 4.4 stops with a bare `invalid literal for int()` on a fraction given to an
      `integer` setting, and cannot pass on a `decimal` one set from the environment at all. So the check is here.
    - Every `format: date-time` setting must be an ISO 8601 date and time with its zone, or a date (midnight UTC);
      every `format: uri` one an http(s) URL, and every time zone setting an IANA name. The SDK checks only the
      type, so `start_date: yesterday`, `api_url: crm` or `business_timezone: CET+1` would otherwise fail at the
      first request or record with a traceback, or (a date Python reads loosely) start from another day.
    """

    config_jsonschema: dict[str, Any]
    _config: dict[str, Any]
    name: str
    logger: Any
    time_zone_settings: ClassVar[frozenset[str]] = frozenset({"business_timezone"})
    # The words of meltano.yml's variables about this plugin's system (PROD_INVOICED_API_KEY): see
    # sync_core.environment.
    system_words: ClassVar[tuple[str, ...]] = ()

    def endpoint(self) -> str | None:
        """The base URL the plugin talks to, and what it is (no secret), once its settings are read."""
        return None

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        # Private SDK hook: the only point where every setting is checked before the plugin starts, with no public
        # way to add checks of one's own (the schema validator checks types alone).
        problems = {name: problem for name, spec in self.config_jsonschema["properties"].items()
                    if (problem := self._check(name, spec)) is not None}
        try:
            errors: list[str] = super()._validate_config(raise_errors=raise_errors)  # type: ignore[misc]
        except ConfigValidationError as exc:
            if not problems:
                raise
            errors = exc.errors
        # The schema's own word on a setting already named here would only repeat it less clearly.
        errors = [error for error in errors if not any(error.endswith(f" in config[{name!r}]") for name in problems)]
        if problems and raise_errors:
            raise ConfigValidationError("Config validation failed", errors=[*problems.values(), *errors],
                                        schema=self.config_jsonschema)
        if not problems and not errors:
            self._announce()
        return [*problems.values(), *errors]

    def _announce(self) -> None:
        """One line on where the plugin is pointed, and a warning for variables meant for it that nothing reads."""
        where = self.endpoint()
        if where:
            self.logger.info("%s talks to %s", self.name, where)
        unread = unread_variables(self.name, self.config_jsonschema["properties"], self.system_words)
        if unread:
            self.logger.warning(
                "%s: no setting reads %s, though the name looks meant for it (a typo?). The settings it reads: "
                "`meltano config list %s`, and the variables each environment reads: meltano.yml and .env.example",
                self.name, ", ".join(unread), self.name)

    def _check(self, name: str, spec: dict[str, Any]) -> str | None:
        """The problem with one setting's value, if any; a number given as text is replaced by the number (in the
        SDK's private `_config`: `config` is a read-only copy, and every later read goes to `_config`)."""
        value = self._config.get(name)
        if not isinstance(value, str) or value == "":
            return None
        types = [spec["type"]] if isinstance(spec.get("type"), str) else spec.get("type", [])
        if "integer" in types or "number" in types:
            number = _number(value, whole="number" not in types)
            if number is None:
                kind = "a number" if "number" in types else "a whole number"
                return f"config[{name!r}] is {value!r}, not {kind}: write it as {kind}, e.g. {spec.get('default', 1)}"
            self._config[name] = number
        elif name in self.time_zone_settings:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                return f"config[{name!r}] is {value!r}, not an IANA time zone: write it as one, e.g. UTC or Europe/Oslo"
        elif spec.get("format") == "uri":
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname or " " in value:
                return (f"config[{name!r}] is {value!r}, not an http(s) URL: write the service's root, e.g. "
                        f"{(spec.get('examples') or ['https://api.example.com'])[0]}")
        elif spec.get("format") == "date-time":
            instant = _instant(value)
            if instant is None:
                return (f"config[{name!r}] is {value!r}, not an ISO 8601 date and time: write it as "
                        "2026-01-31T00:00:00Z (or +01:00 for a zone), or as a date, 2026-01-31, meaning midnight UTC")
            self._config[name] = instant
        return None


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
ISO_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})")


def _instant(text: str) -> str | None:
    """An ISO 8601 date and time with its zone, or a bare date (midnight UTC), in one form; None for anything else.
    Strict on purpose: Python and Meltano accept far more (`2026-01-31 10`, week dates, `20260131`), and a start
    date read differently than meant silently skips or repeats data."""
    text = text.strip()
    if ISO_DATE.fullmatch(text):
        candidate = f"{text}T00:00:00+00:00"
    elif ISO_DATE_TIME.fullmatch(text):
        candidate = text.replace("Z", "+00:00")
    else:
        return None
    try:
        return datetime.fromisoformat(candidate).isoformat()
    except ValueError:  # the right shape, but no such day or time (2026-13-01)
        return None


def _number(text: str, *, whole: bool) -> int | float | None:
    """`'8'` -> 8, `'2.5'` -> 2.5 (None for a whole number); None for anything that is not a finite number."""
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    if number == number.to_integral_value():
        return int(number)
    return None if whole else float(number)
