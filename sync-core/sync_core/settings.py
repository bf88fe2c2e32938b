"""The operator settings every sync target has, declared once (both targets add their system's connection)."""

from __future__ import annotations

from singer_sdk import typing as th

from sync_core.http.settings import CA_BUNDLE, MAX_RETRIES, REQUEST_TIMEOUT, RETRY_WAIT_SECONDS

MAX_IN_FLIGHT_CEILING = 20  # Invoiced allows 20 requests in flight per API key

OPERATOR_SETTINGS = th.PropertiesList(
    th.Property(
        "link_store_url",
        th.StringType,
        title="Link store URL",
        description="SQLAlchemy URL of the link store that both targets share: sqlite:///path/links.db, or "
        "postgresql+psycopg://user:password@host/db for shared deployments. Default: a SQLite file "
        ".meltano/sync-links.db in the Meltano project.",
        secret=True,  # a PostgreSQL URL carries its password
    ),
    th.Property(
        "namespace",
        th.StringType(min_length=1, max_length=200),
        default="default",
        title="Namespace",
        description="Name of this pair of connected accounts in the link store; set the same value in both "
        "targets, and one value per pair when a store serves several.",
    ),
    th.Property(
        "max_in_flight",
        th.IntegerType(minimum=1, maximum=MAX_IN_FLIGHT_CEILING),
        default=8,
        title="Max requests in flight",
        description="Requests sent at once to the destination, 1 to 20 (Invoiced's limit per API key). A 429 "
        "halves the pace for a while; it never fails a record by itself.",
    ),
    th.Property(
        "max_deletes",
        th.IntegerType(minimum=0),
        default=50,
        title="Max deletes per run",
        description="Deletes, voids, archives and deactivations one run may carry out. A run that would do more "
        "holds the rest back (retried next run), finishes everything else, and says why.",
    ),
    th.Property(
        "dry_run",
        th.BooleanType,
        default=False,
        title="Dry run",
        description="Read what a plan needs and write nothing, neither to the system nor to the link store; "
        "print the plan as JSON lines on stderr, then the summary. No STATE is emitted.",
    ),
    th.Property(
        "rejects_path",
        th.StringType,
        title="Rejects file",
        description="JSON Lines file that every record set aside is appended to (stream, source id, record, "
        "reason, the system's answer, when); the records also stay in the link store until they are retried. "
        "Default: .meltano/sync/<namespace>/<plugin>-rejects.jsonl in the Meltano project.",
    ),
    th.Property(
        "summary_path",
        th.StringType,
        title="Summary file",
        description="JSON file the run's summary is written to (per stream: created, updated, unchanged, "
        "conflicts, waiting, rejected, deleted, skipped; the records skipped on purpose with why, the first 100 per "
        "stream; and what the link store still holds set aside, this run's and earlier runs', per kind with the "
        "oldest). Default: .meltano/sync/<namespace>/<plugin>-summary.json in the Meltano project.",
    ),
    th.Property(
        "audit_path",
        th.StringType,
        title="Audit file",
        description="JSON Lines file every write and conflict is appended to (run id, stream, both ids, action, "
        "each field's old and new value; for a conflict both values and which won). Also kept in the link store. "
        "Default: .meltano/sync/<namespace>/<plugin>-audit.jsonl in the Meltano project.",
    ),
    th.Property(
        "fail_on_rejects",
        th.BooleanType,
        default=False,
        title="Fail on rejects",
        description="Exit non-zero when any record was rejected or quarantined (for schedulers that alert on exit "
        "codes). By default a run with rejects exits 0 and logs them as a warning.",
    ),
    REQUEST_TIMEOUT,
    MAX_RETRIES,
    RETRY_WAIT_SECONDS,
    CA_BUNDLE,
)


def business_timezone(shape: str) -> th.Property:
    """The mapper's business time zone, which a target needs to keep the merge base in the other system's shape."""
    return th.Property(
        "business_timezone",
        th.StringType,
        default="UTC",
        title="Business time zone",
        description="The same IANA time zone as the mapper's business_timezone; used to keep the merge base in "
        f"{shape}.",
    )
