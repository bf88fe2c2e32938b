"""target-customcrm: settings, the streams it takes, and the Customcrm destination of each."""

from __future__ import annotations

from functools import cached_property
from importlib import metadata
from typing import ClassVar
from zoneinfo import ZoneInfo

from customcrm_invoiced_mapper.spec import load_flows
from singer_sdk import typing as th
from singer_sdk.helpers.capabilities import CapabilitiesEnum, PluginCapabilities, TargetCapabilities
from singer_sdk.sinks import Sink
from sync_core.client import ApiClient
from sync_core.executor import Destination
from sync_core.http import customcrm
from sync_core.http.settings import user_agent
from sync_core.settings import OPERATOR_SETTINGS
from sync_core.target import SyncSink, SyncTarget

from target_customcrm.api import CustomcrmApi
from target_customcrm.auth import BearerToken
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
        th.Property(
            "api_url",
            th.URIType(pattern="^https?://"),
            required=True,
            title="API URL",
            description="Root URL of the Customcrm service, without the /v1 suffix.",
            examples=["https://crm.example.com", "http://127.0.0.1:8801"],
        ),
        th.Property(
            "api_token",
            th.StringType(min_length=1),
            required=True,
            secret=True,
            title="API token",
            description="Bearer token of a Customcrm user allowed to read users and to read and write customers, "
            "products and orders.",
        ),
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
        client = ApiClient(
            customcrm.RULES,
            str(self.config["api_url"]).rstrip("/"),
            BearerToken(self.config["api_token"]),
            max_in_flight=int(self.config.get("max_in_flight", 8)),
            timeout=float(self.config.get("request_timeout", 60)),
            max_retries=int(self.config.get("max_retries", 5)),
            retry_wait_seconds=float(self.config.get("retry_wait_seconds", 1.0)),
            user_agent=self.config.get("user_agent") or f"target-customcrm/{metadata.version('target-customcrm')}",
            logger=self.logger,
            ca_bundle=self.config.get("ca_bundle"),
            crashes=self.crashes,
        )
        return CustomcrmApi(client)

    @cached_property
    def _destinations(self) -> dict[str, CustomcrmDestination]:
        flows = {flow.name: flow for flow in load_flows()}
        zone = ZoneInfo(self.config.get("business_timezone") or "UTC")
        users = Users(self.api)
        options = Options(
            create_from_invoiced=self.config.get("create_from_invoiced", True) is not False,
            create_orders_from_invoiced=self.config.get("create_orders_from_invoiced") is True,
        )
        return {d.stream: d(self.api, self.store, flows[FLOW_OF_STREAM[d.stream]], zone, users=users, options=options)
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


if __name__ == "__main__":
    TargetCustomcrm.cli()
