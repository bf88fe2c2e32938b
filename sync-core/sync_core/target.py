"""The base of both sync targets: a singer-sdk Target whose sinks hand their batches to the executor.

What it adds to the SDK's Target:
- parents are written before their children whatever order the streams arrive in: a sink drains the sinks of
  its parent streams before its own batch, and a record whose parent comes later waits and is retried at the
  end of the input;
- at the end of the input: this run's waiting records, then earlier runs' set-aside records, then the SDK's
  final drain and STATE, then the summary;
- STATE only after every record before it is written or set aside durably (the SDK emits it after a full drain,
  and every batch here finishes its writes before it returns); none at all in a dry run;
- a record from the wrong system stops the run before any write.
"""

from __future__ import annotations

import json
import re
import sys
import uuid
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import IO, Any, ClassVar

import jsonschema_rs
from singer_sdk import Target
from singer_sdk.contrib.msgspec import MsgSpecReader
from singer_sdk.exceptions import InvalidJSONSchema, InvalidRecord
from singer_sdk.helpers.capabilities import CapabilitiesEnum, PluginCapabilities, TargetCapabilities
from singer_sdk.sinks import BatchSink
from singer_sdk.sinks.core import BaseJSONSchemaValidator

from sync_core.client import RunStopped
from sync_core.config import CheckedSettings
from sync_core.crashpoints import CrashPoints
from sync_core.destination import SYSTEM_NAMES, TargetApi
from sync_core.executor import SOURCE, DeleteBudget, Destination, Executor
from sync_core.lease import Lease, LeaseHeld, LeaseLost
from sync_core.outcomes import Outcomes
from sync_core.secrets import SecretSafeConfig
from sync_core.store import LinkStore, meltano_folder, retries_key

# The operator's files, and their names in the namespace's folder when no setting gives a path.
OPERATOR_FILES = {"summary_path": "summary.json", "rejects_path": "rejects.jsonl", "audit_path": "audit.jsonl"}
WHAT_BRINGS_BACK = ("transient, waiting and quarantined ones are retried every run, blocked ones once their parent "
                    "is written, held deletes by a run whose max_deletes has room for all, rejected ones when their "
                    "source record changes")


class MiswiredPipeline(SystemExit):
    """Records from the wrong system: writing them would copy a system into itself."""


class RecordValidator(BaseJSONSchemaValidator):
    """Each record against its stream's schema, as the SDK's validator checks it, through jsonschema-rs (the SDK's
    documented hook: Sink.get_validator)."""

    def __init__(self, schema: dict[str, Any], *, validate_formats: bool) -> None:
        super().__init__(schema)
        try:
            self.validator = jsonschema_rs.validator_for(schema, validate_formats=validate_formats)
        except (jsonschema_rs.ValidationError, ValueError) as bad:
            msg = f"Schema Validation Error: {bad}"
            raise InvalidJSONSchema(msg) from bad

    def validate(self, record: dict[str, Any]) -> None:
        try:
            self.validator.validate(record)
        except jsonschema_rs.ValidationError as invalid:
            raise InvalidRecord(invalid.message, record) from invalid


class SyncSink(BatchSink):
    """A thin adapter from one stream to the executor; the target says which Destination it is."""

    # Records per batch: bounds memory; a drain writes them with max_in_flight workers. Large enough that an
    # ordinary run's children rarely drain before parents the tap sends later (tap-customcrm sends users last).
    MAX_SIZE_DEFAULT = 2000

    def __init__(self, target: SyncTarget, *args: Any, **kwargs: Any) -> None:
        super().__init__(target, *args, **kwargs)
        self.sync_target = target  # the SDK's Sink keeps no reference to its target

    def _parse_timestamps_in_record(self, record: dict, schema: dict, treatment: Any) -> None:
        """Records stay as the mapper wrote them: each system's dates and times are text (or Unix seconds) that
        its API takes back as they are, and the core parses `_source` times itself. (The SDK would turn `date`
        and `date-time` fields into Python objects that no JSON body can carry; MeltanoLabs' target-hubspot
        overrides this hook for the same reason.)"""

    def get_validator(self) -> BaseJSONSchemaValidator | None:
        if not self.validate_schema:
            return None
        return RecordValidator(self.schema, validate_formats=self.validate_field_string_format)

    def process_record(self, record: dict, context: dict) -> None:
        self.sync_target.check_source(self.stream_name, record)
        super().process_record(record, context)

    def process_batch(self, context: dict) -> None:
        records = context.get("records") or []
        if not records:
            return
        target = self.sync_target
        try:
            target.drain_parents_of(self.stream_name)
            target.check_lease()
            self.write(records)
        except (RunStopped, LeaseLost) as stopped:
            target.logger.error("%s", stopped)
            raise SystemExit(str(stopped)) from None

    def write(self, records: list[dict]) -> None:
        """Hand the batch to the executor, through this stream's Destination."""
        self.sync_target.executor.run(self.sync_target.destination(self.stream_name), records)


class SyncTarget(SecretSafeConfig, CheckedSettings, Target):
    """Subclasses name the two systems, the pipeline, the streams in order and build each stream's Destination."""

    side: ClassVar[str]  # the system this target writes, e.g. "invoiced"
    source_system: ClassVar[str]  # whose records it takes, e.g. "customcrm"
    tap: ClassVar[str]  # the pipeline it ends, e.g. tap-customcrm
    mapper_name: ClassVar[str]  # and e.g. to-invoiced
    api_class: ClassVar[type[TargetApi]]
    stream_order: ClassVar[tuple[str, ...]]  # every stream it takes, parents before children
    parents: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    capabilities: ClassVar[list[CapabilitiesEnum]] = [
        PluginCapabilities.ABOUT,
        PluginCapabilities.STRUCTURED_LOGGING,
        TargetCapabilities.VALIDATE_RECORDS,
    ]
    default_sink_class = SyncSink
    message_reader_class = MsgSpecReader  # the SDK's own, about a third of the stdlib reader's cost per line

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Built on first use (see their properties), so `--about` and `--help` touch neither store nor network.
        self._api: TargetApi | None = None
        self._store: LinkStore | None = None
        self._lease: Lease | None = None
        self._executor: Executor | None = None
        self._access_checked = False
        super().__init__(*args, **kwargs)
        self.max_parallelism = 1  # the executor brings its own bounded concurrency
        self.run_id = uuid.uuid4().hex[:12]
        self.crashes = CrashPoints.armed_for(self.name)  # inert unless a crash test arms one

    @property
    def pipeline_hint(self) -> str:
        return f"meltano run {self.tap} {self.mapper_name} {self.name}"

    def get_sink_class(self, stream_name: str) -> type[BatchSink]:
        if stream_name not in self.stream_order:
            msg = (f"{self.name} takes the streams {', '.join(self.stream_order)} of the {self.mapper_name} mapping, "
                   f"not {stream_name!r}: put the mapper between {self.tap} and this target")
            raise SystemExit(msg)
        return SyncSink

    @property
    def api(self) -> TargetApi:
        if self._api is None:
            self._api = self.api_class.connect(self.config, plugin=self.name, logger=self.logger, crashes=self.crashes)
        return self._api

    @cached_property
    def destinations(self) -> dict[str, Destination]:
        """Each stream's Destination, by stream."""
        return self.build_destinations()

    def build_destinations(self) -> dict[str, Destination]:
        raise NotImplementedError

    def destination(self, stream: str) -> Destination:
        return self.destinations[stream]

    def endpoint(self) -> str:
        return self.api_class.where(self.config)

    def check_access(self) -> None:
        """One cheap read before any write, so wrong credentials stop the run naming the setting to fix."""
        self.api.check()

    @property
    def store(self) -> LinkStore:
        if self._store is None:
            self._store = LinkStore(self.config.get("link_store_url"), self.config["namespace"])
        return self._store

    @property
    def lease(self) -> Lease:
        if self._lease is None:
            self._lease = Lease(self.store, self.name, self.logger)
        return self._lease

    def listen(self, file_input: IO[str] | None = None) -> None:
        """The namespace's lease first, before any request: a second run of one namespace stops here, naming the run
        that holds it (see sync_core.lease). A dry run writes nothing and takes no lease."""
        if not self.dry_run:
            try:
                self.lease.acquire()
            except LeaseHeld as held:
                self.logger.error("%s", held)
                raise SystemExit(str(held)) from None
        try:
            super().listen(file_input)
        finally:
            self._release()

    def check_lease(self) -> None:
        """Still this run's (LeaseLost if another run took it over); nothing to check for a run without one."""
        if self._lease is not None:
            self._lease.check()

    def _release(self) -> None:
        if self._lease is not None:
            self._lease.release()

    @cached_property
    def outcomes(self) -> Outcomes:
        return Outcomes(
            run_id=self.run_id,
            logger=self.logger,
            rejects_path=self.operator_file("rejects_path"),
            audit_path=None if self.dry_run else self.operator_file("audit_path"),
        )

    def operator_file(self, setting: str) -> Path:
        """The setting's path, or by default `.meltano/sync/<namespace>/<plugin>-<file>` in the Meltano project, so
        that no run leaves the operator without its summary, rejects and audit trail."""
        value = self.config.get(setting)
        if value:
            return Path(value)
        namespace = re.sub(r"[^A-Za-z0-9._-]", "_", str(self.config.get("namespace") or "default"))
        return meltano_folder() / "sync" / namespace / f"{self.name}-{OPERATOR_FILES[setting]}"

    def set_aside_streams(self) -> dict[str, str]:
        """The names this target's records set aside are kept under in the link store -> their stream."""
        return {retries_key(stream, self.side): stream for stream in self.stream_order}

    @property
    def executor(self) -> Executor:
        if self._executor is None:
            self.ensure_access()
            self._executor = Executor(
                self.store,
                self.outcomes,
                DeleteBudget(int(self.config["max_deletes"]), self.logger),
                max_in_flight=int(self.config["max_in_flight"]),
                dry_run=self.dry_run,
                logger=self.logger,
                crashes=self.crashes,
            )
        return self._executor

    @property
    def dry_run(self) -> bool:
        return self.config.get("dry_run") is True

    def ensure_access(self) -> None:
        if not self._access_checked:
            self.check_access()
            self._access_checked = True

    # Wiring.

    def check_source(self, stream: str, record: Mapping[str, Any]) -> None:
        system = (record.get(SOURCE) or {}).get("system")
        if system == self.source_system:
            return
        came_from = SYSTEM_NAMES.get(str(system), repr(system))
        message = (
            f"{self.name} writes records that came from {SYSTEM_NAMES[self.source_system]}, but stream {stream!r} "
            f"carries records from {came_from}: the pipeline is wired the wrong way round, and nothing was written. "
            f"Run: {self.pipeline_hint}"
        )
        self.logger.error(message)
        raise MiswiredPipeline(message)

    def drain_parents_of(self, stream: str) -> None:
        # `_sinks_active` (private): the SDK's active sinks have no public accessor that does not also create one.
        for parent in self.parents.get(stream, ()):
            sink = self._sinks_active.get(parent)
            if sink is not None and sink.current_size:
                self.drain_one(sink)

    # The end of the input.

    def process_endofpipe(self) -> None:
        try:
            self._finish()
        finally:
            self._release()
            if self._store is not None:
                # Close the pool's connections: left to the interpreter's exit, psycopg warns of each one and
                # PostgreSQL logs it as an unexpected EOF.
                self._store.close()

    def _finish(self) -> None:
        try:
            for stream in self._ordered(self._sinks_active):
                self.drain_one(self._sinks_active[stream])
            self.crashes.reach("parent-written")
            if self._sinks_active:
                destinations = [self.destination(stream) for stream in self.stream_order]
                for destination in destinations:
                    self.executor.retry_waiting(destination)
                for destination in destinations:
                    self.executor.retry_earlier(destination)
        except RunStopped as stopped:
            self.logger.error("%s", stopped)
            raise SystemExit(str(stopped)) from None
        super().process_endofpipe()
        self._report()

    def _ordered(self, streams: Mapping[str, Any]) -> list[str]:
        rank = {name: i for i, name in enumerate(self.stream_order)}
        return sorted(streams, key=lambda name: rank.get(name, len(rank)))

    def _write_state_message(self, state: dict) -> None:
        # Private SDK hook: the one place a target's STATE is written, and no public hook decides whether it is.
        if self.dry_run:  # a dry run wrote nothing, so no bookmark may move
            return
        if self.crashes.armed("state-half-written"):
            line = json.dumps({"type": "STATE", "value": state})
            self.crashes.reach("state-half-written", lambda: _write_half(line))
        super()._write_state_message(state)

    def _report(self) -> None:
        if self._api is not None:
            client = self._api.client
            self.logger.info("%s requests: %d (%d writes); 429s met: %d", SYSTEM_NAMES[self.side],
                             client.requests_sent, client.writes_sent, client.in_flight.rate_limited)
        outcomes = self.outcomes
        streams = self.set_aside_streams()
        for kept, kind, count, since in self.store.still_set_aside(streams):
            outcomes.hold(streams[kept], kind.value, count, since)
        self.logger.info("Sync summary (run %s)%s:\n%s", self.run_id, " — dry run, nothing written" if self.dry_run
                         else "", outcomes.table())
        summary_path = self.operator_file("summary_path")
        outcomes.write_summary(summary_path)
        held = self._executor.budget.verdict(SYSTEM_NAMES[self.source_system]) if self._executor is not None else None
        if held:
            self.logger.warning("%s", held)
        still = outcomes.still_set_aside_total()
        if still:
            kinds = ", ".join(f"{kind} {entry['count']}" for kind, entry in still.items())
            oldest = min((entry["oldest"] for entry in still.values() if entry["oldest"]), default=None)
            self.logger.warning(
                "%d record(s) are set aside in the link store (%s; the oldest since %s): each one's reason is in %s, "
                "the counts in %s. They are not lost: %s.", sum(entry["count"] for entry in still.values()), kinds,
                oldest or "?", self.operator_file("rejects_path"), summary_path, WHAT_BRINGS_BACK)
        if self.config.get("fail_on_rejects") and outcomes.set_aside:
            sys.stdout.flush()
            raise SystemExit(f"{outcomes.set_aside} record(s) were set aside, and fail_on_rejects is on")


def _write_half(line: str) -> None:
    sys.stdout.write(line[: len(line) // 2])
    sys.stdout.flush()


