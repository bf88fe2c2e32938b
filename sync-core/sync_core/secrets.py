"""Secrets stay out of what a plugin prints: config validation errors, and any text passed through `redact`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from singer_sdk.exceptions import ConfigValidationError

HIDDEN = "***"


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with each non-empty secret in it replaced by `***`."""
    # The longest first, so a secret that contains another is not left half shown.
    for secret in sorted({secret for secret in secrets if secret}, key=len, reverse=True):
        text = text.replace(secret, HIDDEN)
    return text


class SecretSafeConfig:
    """For any singer-sdk plugin class, listed before the SDK's base (`class TapX(SecretSafeConfig, Tap)`):
    config validation errors never show the value of a `secret: true` setting.

    The SDK quotes the offending value ("123 is not of type 'string' in config['api_key']"), which would print a
    mistyped key to the log; there is no public hook for this, so `_validate_config` is wrapped.
    """

    config_jsonschema: dict[str, Any]

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        try:
            errors: list[str] = super()._validate_config(raise_errors=raise_errors)  # type: ignore[misc]
        except ConfigValidationError as exc:
            raise ConfigValidationError(str(exc), errors=self._without_secrets(exc.errors), schema=exc.schema) from None
        return self._without_secrets(errors)

    def _without_secrets(self, errors: list[str]) -> list[str]:
        secrets = {name: spec for name, spec in self.config_jsonschema["properties"].items() if spec.get("secret")}
        hidden = []
        for error in errors:
            secret = next((name for name in secrets if error.endswith(f" in config[{name!r}]")), None)
            if secret is None:
                hidden.append(error)
            else:
                hidden.append(f"config[{secret!r}] must be {_expected(secrets[secret])}; the value is secret, so it "
                              "is not shown")
        return hidden


def _expected(spec: Mapping[str, Any]) -> str:
    """`a non-empty string`, from a setting's JSON schema."""
    types = [spec["type"]] if isinstance(spec.get("type"), str) else spec.get("type", [])
    kind = " or ".join(kind for kind in types if kind != "null") or "value"
    if spec.get("minLength"):
        return f"a non-empty {kind}"
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"
