"""The Singer inline mapper: routes each input stream to its flow and maps one message at a time."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from singer_sdk import singerlib as singer
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import CapabilitiesEnum, PluginCapabilities
from singer_sdk.mapper_base import InlineMapper

from customcrm_invoiced_mapper.converters import Direction
from customcrm_invoiced_mapper.engine import map_record
from customcrm_invoiced_mapper.envelope import REJECT
from customcrm_invoiced_mapper.schema import output_schema
from customcrm_invoiced_mapper.spec import Flow, load_flows
from customcrm_invoiced_mapper.values import Unmappable, parse_instant

DIRECTION_SETTINGS: dict[str, Direction] = {
    "customcrm_to_invoiced": "to_invoiced",
    "invoiced_to_customcrm": "to_customcrm",
}
# How a stream gives its system away: every Invoiced object names its type in `object`, every Customcrm record
# carries its optimistic-concurrency `version`. A property of the other system's kind means a mis-wired pipeline.
OTHER_SYSTEM = {
    "to_invoiced": ("object", "Invoiced", "meltano run tap-customcrm to-invoiced target-invoiced"),
    "to_customcrm": ("version", "Customcrm", "meltano run tap-invoiced to-customcrm target-customcrm"),
}


class MiswiredPipeline(SystemExit):
    """Input from the system this direction writes to: mapping it would copy that system into itself."""


class CustomcrmInvoicedMapper(InlineMapper):
    """Maps tap-customcrm output to target-invoiced input, or tap-invoiced output to target-customcrm input."""

    name = "customcrm-invoiced-mapper"
    # Stream maps and flattening would rename the fields the targets rely on, so they are not offered.
    capabilities: ClassVar[list[CapabilitiesEnum]] = [
        PluginCapabilities.ABOUT,
        PluginCapabilities.STRUCTURED_LOGGING,
    ]

    config_jsonschema = th.PropertiesList(
        th.Property(
            "direction",
            th.StringType,
            required=True,
            allowed_values=list(DIRECTION_SETTINGS),
            title="Direction",
            description="customcrm_to_invoiced (after tap-customcrm) or invoiced_to_customcrm (after tap-invoiced).",
        ),
        th.Property(
            "business_timezone",
            th.StringType,
            default="UTC",
            title="Business time zone",
            description="IANA time zone (e.g. Europe/Oslo) in which Customcrm calendar dates become Invoiced "
            "timestamps and back; use the Invoiced account's time zone.",
        ),
    ).to_dict()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.direction: Direction = DIRECTION_SETTINGS[self.config["direction"]]
        self.zone = _zone(self.config.get("business_timezone") or "UTC")
        flows = load_flows()
        self.routes: dict[str, Flow] = {f.source_stream(self.direction): f for f in flows if f.flows(self.direction)}
        self.tally: Counter[str] = Counter()
        self.unrouted: set[str] = set()

    def map_schema_message(self, message_dict: dict) -> Iterable[singer.Message]:
        flow = self._route(message_dict["stream"])
        if flow is None:
            return
        self._refuse_other_system(message_dict["stream"], (message_dict.get("schema") or {}).get("properties") or {})
        self._warn_about_missing_fields(flow, message_dict.get("schema") or {})
        yield singer.SchemaMessage(
            stream=flow.target_stream(self.direction),
            schema=output_schema(flow, self.direction),
            key_properties=[],  # the target keys on _source.id (the source's identity) and the links it keeps
        )

    def map_record_message(self, message_dict: dict) -> Iterable[singer.Message]:
        stream = message_dict["stream"]
        flow = self._route(stream)
        if flow is None:
            return
        record = message_dict["record"]
        self._refuse_other_system(stream, record)
        if not flow.in_scope(self.direction, record):
            self.tally[f"{stream} out of scope"] += 1
            return
        mapped = map_record(flow, self.direction, record, self.zone)
        if REJECT in mapped:
            self.tally[f"{stream} rejected"] += 1
            reject = mapped[REJECT]
            self.logger.warning(
                "Rejected %s record %s: %s %s; fix: %s", stream, record.get("id"), reject["field"], reject["reason"],
                reject["fix"],
            )
        else:
            self.tally[f"{stream} mapped"] += 1
        yield singer.RecordMessage(
            stream=flow.target_stream(self.direction),
            record=mapped,
            version=message_dict.get("version"),
            time_extracted=_time_extracted(message_dict.get("time_extracted")),
        )

    def map_state_message(self, message_dict: dict) -> Iterable[singer.Message]:
        yield singer.StateMessage(value=message_dict["value"])

    def map_activate_version_message(self, message_dict: dict) -> Iterable[singer.Message]:
        flow = self._route(message_dict["stream"])
        if flow is not None:
            yield singer.ActivateVersionMessage(
                stream=flow.target_stream(self.direction), version=message_dict["version"]
            )

    def process_endofpipe(self) -> None:
        for what, count in sorted(self.tally.items()):
            self.logger.info("%s: %d", what, count)

    def _route(self, stream: str) -> Flow | None:
        flow = self.routes.get(stream)
        if flow is None and stream not in self.unrouted:
            self.unrouted.add(stream)
            self.logger.info(
                "Stream %r has no flow %s; its messages are not passed on (mapped streams: %s)",
                stream, self.config["direction"], ", ".join(sorted(self.routes)),
            )
        return flow

    def _refuse_other_system(self, stream: str, fields: Mapping[str, Any]) -> None:
        tell, system, pipeline = OTHER_SYSTEM[self.direction]
        if tell not in fields:
            return
        message = (
            f"Stream {stream!r} comes from {system} (its records have {tell!r}), but direction "
            f"{self.config['direction']} maps records from the other system: the pipeline is wired the wrong way "
            f"round, and nothing was passed on. Run: {pipeline}"
        )
        self.logger.error(message)
        raise MiswiredPipeline(message)

    def _warn_about_missing_fields(self, flow: Flow, schema: dict[str, Any]) -> None:
        """A tap schema without a mapped field means the two sides drifted apart: say so once, up front."""
        declared = set((schema.get("properties") or {}).keys())
        if not declared:
            return
        wanted = {p.split(".")[0] for r in flow.rows if r.applies(self.direction) for p in r.source(self.direction)}
        wanted |= {spec.source(self.direction) for spec in flow.lists if spec.applies(self.direction)}
        missing = sorted(wanted - declared)
        if missing:
            self.logger.warning(
                "Stream %r does not declare %s, which the %s mapping reads", flow.source_stream(self.direction),
                ", ".join(missing), flow.name,
            )


def _time_extracted(value: Any) -> datetime | None:
    """Only informative for the target, so a tap's odd value is dropped rather than allowed to stop the stream."""
    try:
        return parse_instant(value) if value else None
    except Unmappable:
        return None


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        message = f"business_timezone {name!r} is not an IANA time zone name such as UTC or Europe/Oslo"
        raise ConfigValidationError(message, errors=[message]) from exc
