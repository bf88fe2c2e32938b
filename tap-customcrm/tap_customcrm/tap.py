"""The tap: its settings and its streams."""

from __future__ import annotations

from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from sync_core.config import CheckedSettings
from sync_core.http import customcrm
from sync_core.http.settings import (
    CA_BUNDLE,
    MAX_RETRIES,
    REQUEST_TIMEOUT,
    RETRY_WAIT_SECONDS,
    distribution,
    user_agent,
)
from sync_core.http.stream import OneLineFailures
from sync_core.secrets import SecretSafeConfig
from sync_core.singer_output import RecordWriter

from tap_customcrm import streams


class TapCustomcrm(SecretSafeConfig, CheckedSettings, OneLineFailures, Tap):
    """Reads Customcrm customers, products, orders and users incrementally, deletes included as tombstones."""

    name = "tap-customcrm"
    package_name = distribution(name)  # its version, for --about
    message_writer_class = RecordWriter
    system_words = ("CUSTOMCRM",)

    def endpoint(self) -> str:
        return customcrm.where(self.config)

    config_jsonschema = th.PropertiesList(
        *customcrm.CONNECTION_SETTINGS,
        th.Property(
            "start_date",
            th.DateTimeType,
            title="Start date",
            description="Read only records updated at or after this instant on the first run; later runs resume "
            "from the bookmark. ISO 8601 with a zone (2026-01-31T00:00:00Z) or a date (2026-01-31, midnight UTC); "
            "anything else is refused. Leave empty to read everything.",
        ),
        th.Property(
            "page_size",
            th.IntegerType(minimum=1, maximum=1000),
            default=1000,
            title="Page size",
            description="Records per request (the contract's `limit`, 1..1000).",
        ),
        REQUEST_TIMEOUT,
        MAX_RETRIES,
        RETRY_WAIT_SECONDS,
        CA_BUNDLE,
        user_agent("tap-customcrm"),
    ).to_dict()

    def discover_streams(self) -> list[Stream]:
        return [stream_class(tap=self) for stream_class in streams.STREAMS]

    def load_streams(self) -> list[Stream]:
        """In the order of STREAMS, parents first (the SDK's own sorts them by name, which puts orders before
        products and users)."""
        return self.discover_streams()


if __name__ == "__main__":
    TapCustomcrm.cli()
