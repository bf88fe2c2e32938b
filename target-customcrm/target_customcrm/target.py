"""target-customcrm: settings, the streams it takes, and the Customcrm destination of each."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from customcrm_invoiced_mapper.engine import map_record
from customcrm_invoiced_mapper.spec import Flow, load_flows
from singer_sdk import typing as th
from sync_core.executor import Destination
from sync_core.http import customcrm
from sync_core.http.settings import distribution, user_agent
from sync_core.settings import OPERATOR_SETTINGS, business_timezone
from sync_core.target import SyncTarget

from target_customcrm.destinations import DESTINATIONS, Options, Users

FLOW_OF_STREAM = {"customers": "customer", "products": "product", "orders": "order"}


class TargetCustomcrm(SyncTarget):
    """Invoiced customers, items and invoices into Customcrm: linked, merged, never duplicated."""

    name = "target-customcrm"
    package_name = distribution(name)  # its version, for --about
    system_words = ("CUSTOMCRM", "LINK")
    side, source_system = "customcrm", "invoiced"
    tap, mapper_name = "tap-invoiced", "to-customcrm"
    api_class = customcrm.CustomcrmApi
    stream_order = ("customers", "products", "orders")
    parents: ClassVar = {"orders": ("customers", "products")}

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
        business_timezone("Invoiced's shape (Invoiced dates are timestamps)"),
        user_agent("target-customcrm"),
        *OPERATOR_SETTINGS,
    ).to_dict()

    def build_destinations(self) -> dict[str, Destination]:
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


def _to_invoiced(flow: Flow, zone: ZoneInfo, record: Mapping[str, Any]) -> dict[str, Any]:
    """The reverse mapping a merge base needs (see SystemDestination.peer_base)."""
    return map_record(flow, "to_invoiced", dict(record), zone)


if __name__ == "__main__":
    TargetCustomcrm.cli()
