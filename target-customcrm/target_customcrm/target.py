"""target-customcrm: settings, the streams it takes, and the Customcrm destination of each."""

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
from sync_core.http import customcrm
from sync_core.http.customcrm import CustomcrmApi
from sync_core.http.settings import user_agent
from sync_core.settings import OPERATOR_SETTINGS
from sync_core.target import SyncSink, SyncTarget

from target_customcrm.destinations import DESTINATIONS, CustomcrmDestination, Options, Users

FLOW_OF_STREAM = {"customers": "customer", "products": "product", "orders": "order"}


class TargetCustomcrm(SyncTarget):
    """Invoiced customers, items and invoices into Customcrm: linked, merged, never duplicated."""

    name = "target-customcrm"
    system_words = ("CUSTOMCRM", "LINK")
    source_system = "invoiced"
    pipeline_hint = "meltano run tap-invoiced to-customcrm target-customcrm"
    stream_order = ("customers", "products", "orders")
    parents: ClassVar = {"orders": ("customers", "products")}
    capabilities: ClassVar[list[CapabilitiesEnum]] = [
        PluginCapabilities.ABOUT,
        PluginCapabilities.STRUCTURED_LOGGING,
        TargetCapabilities.VALIDATE_RECORDS,
    ]

    config_jsonschema = th.PropertiesList(
        *customcrm.CONNECTION_SETTINGS,
        th.Property(
            "create_from_invoiced",
            th.BooleanType,
            default=True,
            title="Create customers from Invoiced",
            description="Create a Customcrm customer for each company customer made in Invoiced. Off: such "
            "customers are skipped (and counted); linked ones still sync.",
        ),
        th.Property(
            "create_orders_from_invoiced",
            th.BooleanType,
            default=False,
            title="Create orders from Invoiced",
            description="Create a Customcrm order for an invoice typed straight into Invoiced. Off by default: an "
            "invoice is not a CRM order; such invoices are skipped and listed in the summary.",
        ),
        th.Property(
            "business_timezone",
            th.StringType,
            default="UTC",
            title="Business time zone",
            description="The same IANA time zone as the mapper's business_timezone; used to keep the merge base "
            "in Invoiced's shape (Invoiced dates are timestamps).",
        ),
        user_agent("target-customcrm"),
        *OPERATOR_SETTINGS,
    ).to_dict()

    def get_sink_class(self, stream_name: str) -> type[Sink]:
        if stream_name not in FLOW_OF_STREAM:
            msg = (f"target-customcrm takes the streams {', '.join(FLOW_OF_STREAM)} of the to-customcrm "
                   f"mapping, not {stream_name!r}: put the mapper between tap-invoiced and this target")
            raise SystemExit(msg)
        return SyncSink

    @cached_property
    def api(self) -> CustomcrmApi:
        return CustomcrmApi.connect(self.config, plugin=self.name, logger=self.logger, crashes=self.crashes)

    @cached_property
    def _destinations(self) -> dict[str, CustomcrmDestination]:
        flows = {flow.name: flow for flow in load_flows()}
        zone = ZoneInfo(self.config.get("business_timezone") or "UTC")  # an empty value reads as unset
        users = Users(self.api)
        options = Options(
            create_from_invoiced=self.config["create_from_invoiced"] is not False,
            create_orders_from_invoiced=self.config["create_orders_from_invoiced"] is True,
        )
        return {d.stream: d(self.api, self.store, partial(_to_invoiced, flows[FLOW_OF_STREAM[d.stream]], zone),
                            users=users, options=options)
                for d in DESTINATIONS}

    def destination(self, stream: str) -> Destination | None:
        return self._destinations.get(stream)

    def endpoint(self) -> str:
        return customcrm.where(self.config)

    def check_access(self) -> None:
        self.api.client.request("GET", "/v1/customers", params={"limit": 1})

    def _report(self) -> None:
        if "api" in self.__dict__:
            client = self.api.client
            self.logger.info("Customcrm requests: %d (%d writes); 429s met: %d", client.requests_sent,
                             client.writes_sent, client.in_flight.rate_limited)
        super()._report()


def _to_invoiced(flow: Flow, zone: ZoneInfo, record: Mapping[str, Any]) -> dict[str, Any]:
    """The reverse mapping a merge base needs (see SystemDestination.peer_base)."""
    return map_record(flow, "to_invoiced", dict(record), zone)


if __name__ == "__main__":
    TargetCustomcrm.cli()
