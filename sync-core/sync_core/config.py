"""Settings checked before the first request, beyond what the settings' JSON schema can say."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from singer_sdk.exceptions import ConfigValidationError


class CheckedInstants:
    """For a singer-sdk plugin class, listed before the SDK's base: every `format: date-time` setting must be a date
    and time when the plugin starts. The SDK checks only the type, so `start_date: yesterday` would otherwise fail
    at the first stream with a traceback."""

    config_jsonschema: dict[str, Any]
    config: Any

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        errors: list[str] = super()._validate_config(raise_errors=raise_errors)  # type: ignore[misc]
        problems = []
        for name, spec in self.config_jsonschema["properties"].items():
            value = self.config.get(name)
            if spec.get("format") != "date-time" or value in (None, "") or not isinstance(value, str):
                continue
            try:
                datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                problems.append(f"config[{name!r}] is {value!r}, not a date and time: write it as ISO 8601, e.g. "
                                "2026-01-31T00:00:00Z (or 2026-01-31)")
        if problems and raise_errors:
            raise ConfigValidationError("Config validation failed", errors=problems, schema=self.config_jsonschema)
        return errors + problems
