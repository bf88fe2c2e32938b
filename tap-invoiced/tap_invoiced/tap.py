"""tap-invoiced: settings and the stream list."""

from __future__ import annotations

from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from sync_core.config import CheckedSettings
from sync_core.http import invoiced
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

from tap_invoiced import streams


class TapInvoiced(SecretSafeConfig, CheckedSettings, OneLineFailures, Tap):
    """Invoiced customers, contacts, invoices and items, incremental, with deletes as tombstones."""

    # One line: the SDK's `--about --format=markdown` template cannot indent a multi-line docstring.
    name = "tap-invoiced"
    package_name = distribution(name)  # its version, for --about
    message_writer_class = RecordWriter
    system_words = ("INVOICED",)

    def endpoint(self) -> str:
        return invoiced.where(self.config)

    config_jsonschema = th.PropertiesList(
        *invoiced.CONNECTION_SETTINGS,
        th.Property(
            "start_date",
            th.DateTimeType,
            title="Start date",
            description="On the first run, read only changes and deletes at or after this time, give or take "
            "`overlap_seconds` before it (contacts, which Invoiced cannot filter by time, are read in full on "
            "the first run). ISO 8601 with a zone (2026-01-31T00:00:00Z) or a date (2026-01-31, midnight UTC); "
            "anything else is refused.",
        ),
        th.Property(
            "per_page",
            th.IntegerType(minimum=1, maximum=100),
            default=100,
            title="Page size",
            description="Records per request, 1 to 100 (Invoiced's maximum). Items have no change filter in "
            "the Invoiced API: every run lists all items, live and archived, and emits only the changed ones, "
            "so items cost one request per `per_page` items on every run.",
        ),
        th.Property(
            "overlap_seconds",
            th.IntegerType(minimum=1),
            default=2,
            title="Overlap (seconds)",
            description="Each run re-reads this many seconds below the bookmark and drops what it already "
            "sent. At least 1, because Invoiced times are whole seconds and `updated_after` is strict; the "
            "default 2 also covers a change stamped just before a second ends but saved just after it.",
        ),
        REQUEST_TIMEOUT,
        MAX_RETRIES,
        RETRY_WAIT_SECONDS,
        CA_BUNDLE,
        user_agent("tap-invoiced"),
    ).to_dict()

    def discover_streams(self) -> list[Stream]:
        # Parents before their children, the order they are synced in: an invoice's customer and items reach a
        # target before the invoice does, so it never waits for them.
        return [
            streams.CustomersStream(self),
            streams.ContactsStream(self),
            streams.ItemsStream(self),
            streams.InvoicesStream(self),
        ]

    def load_streams(self) -> list[Stream]:
        """In the order of discover_streams (the SDK's own sorts them by name, invoices before items)."""
        return self.discover_streams()


if __name__ == "__main__":
    TapInvoiced.cli()
