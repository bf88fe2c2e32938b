"""target-invoiced: settings, the streams it takes, and the Invoiced destination of each."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property, partial
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from customcrm_invoiced_mapper.engine import map_record
from customcrm_invoiced_mapper.spec import Flow, load_flows
from singer_sdk import typing as th
from singer_sdk.helpers.capabilities import CapabilitiesEnum, PluginCapabilities, TargetCapabilities
from singer_sdk.sinks import Sink
from sync_core.executor import Destination
from sync_core.http import invoiced
from sync_core.http.invoiced import InvoicedApi
from sync_core.http.settings import user_agent
from sync_core.settings import OPERATOR_SETTINGS
from sync_core.target import SyncSink, SyncTarget

from target_invoiced.destinations import DESTINATIONS, InvoicedDestination
from target_invoiced.reps import SalesReps
from target_invoiced.sinks import SalesRepsSink

FLOW_OF_STREAM = {"customers": "customer", "items": "product", "invoices": "order", "sales_reps": "user"}


class TargetInvoiced(SyncTarget):
    """Customcrm customers, products, orders and users into Invoiced: linked, merged, never duplicated."""

    name = "target-invoiced"
    system_words = ("INVOICED", "LINK")
    source_system = "customcrm"
    pipeline_hint = "meltano run tap-customcrm to-invoiced target-invoiced"
    stream_order = ("customers", "items", "sales_reps", "invoices")
    parents: ClassVar = {"invoices": ("customers", "items", "sales_reps")}
    capabilities: ClassVar[list[CapabilitiesEnum]] = [
        PluginCapabilities.ABOUT,
        PluginCapabilities.STRUCTURED_LOGGING,
        TargetCapabilities.VALIDATE_RECORDS,
    ]

    config_jsonschema = th.PropertiesList(
        *invoiced.CONNECTION_SETTINGS,
        th.Property(
            "business_timezone",
            th.StringType,
            default="UTC",
            title="Business time zone",
            description="The same IANA time zone as the mapper's business_timezone; used to keep the merge base "
            "in Customcrm's shape (Customcrm dates are calendar dates).",
        ),
        user_agent("target-invoiced"),
        *OPERATOR_SETTINGS,
    ).to_dict()

    def get_sink_class(self, stream_name: str) -> type[Sink]:
        if stream_name not in FLOW_OF_STREAM:
            msg = (f"target-invoiced takes the streams {', '.join(FLOW_OF_STREAM)} of the to-invoiced "
                   f"mapping, not {stream_name!r}: put the mapper between tap-customcrm and this target")
            raise SystemExit(msg)
        return SalesRepsSink if stream_name == "sales_reps" else SyncSink

    @cached_property
    def api(self) -> InvoicedApi:
        return InvoicedApi.connect(self.config, plugin=self.name, logger=self.logger, crashes=self.crashes)

    @cached_property
    def _destinations(self) -> dict[str, InvoicedDestination]:
        flows = {flow.name: flow for flow in load_flows()}
        zone = ZoneInfo(self.config.get("business_timezone") or "UTC")  # an empty value reads as unset
        return {d.stream: d(self.api, self.store, partial(_to_customcrm, flows[FLOW_OF_STREAM[d.stream]], zone))
                for d in DESTINATIONS}

    def destination(self, stream: str) -> Destination | None:
        return self._destinations.get(stream)

    @cached_property
    def reps(self) -> SalesReps:
        self.ensure_access()
        return SalesReps(self.api, self.store, self.outcomes, dry_run=self.dry_run, logger=self.logger,
                         max_in_flight=int(self.config.get("max_in_flight", 8)))

    def retry_outside_destinations(self) -> None:
        self.reps.retry_earlier()

    def endpoint(self) -> str:
        return invoiced.where(self.config)

    def check_access(self) -> None:
        self.api.client.request("GET", "/customers", params={"per_page": 1})

    def _report(self) -> None:
        if "api" in self.__dict__:
            client = self.api.client
            self.logger.info("Invoiced requests: %d (%d writes); 429s met: %d", client.requests_sent,
                             client.writes_sent, client.in_flight.rate_limited)
        super()._report()


def _to_customcrm(flow: Flow, zone: ZoneInfo, record: Mapping[str, Any]) -> dict[str, Any]:
    """The reverse mapping a merge base needs (see SystemDestination.peer_base)."""
    return map_record(flow, "to_customcrm", dict(record), zone)


if __name__ == "__main__":
    TargetInvoiced.cli()
