"""HTTP settings that every plugin declares alike, written once (`max_retries` and `retry_wait_seconds` stay in
each plugin: their descriptions name what the system sends, e.g. Retry-After)."""

from __future__ import annotations

from singer_sdk import typing as th

REQUEST_TIMEOUT = th.Property(
    "request_timeout",
    th.NumberType(minimum=1),
    default=60,
    title="Request timeout (seconds)",
    description="How long to wait for one HTTP response before retrying it.",
)
