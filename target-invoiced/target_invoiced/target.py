"""target-invoiced: settings, the streams it takes, and the Invoiced destination of each."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from customcrm_invoiced_mapper.engine import map_record
from customcrm_invoiced_mapper.spec import Flow, load_flows
from singer_sdk import typing as th
from sync_core.executor import Destination
from sync_core.http import invoiced
from sync_core.http.settings import distribution, user_agent
from sync_core.settings import OPERATOR_SETTINGS, business_timezone
from sync_core.target import SyncTarget

from target_invoiced.destinations import DESTINATIONS, SalesRepsDestination

FLOW_OF_STREAM = {"customers": "customer", "items": "product", "invoices": "order"}


class TargetInvoiced(SyncTarget):
    """Customcrm customers, products, orders and users into Invoiced: linked, merged, never duplicated."""

    name = "target-invoiced"
    package_name = distribution(name)  # its version, for --about
    system_words = ("INVOICED", "LINK")
    side, source_system = "invoiced", "customcrm"
    tap, mapper_name = "tap-customcrm", "to-invoiced"
    api_class = invoiced.InvoicedApi
    stream_order = ("customers", "items", "sales_reps", "invoices")
    parents: ClassVar = {"invoices": ("customers", "items", "sales_reps")}

    config_jsonschema = th.PropertiesList(
        *invoiced.CONNECTION_SETTINGS,
        business_timezone("Customcrm's shape (Customcrm dates are calendar dates)"),
        user_agent("target-invoiced"),
        *OPERATOR_SETTINGS,
    ).to_dict()

    def build_destinations(self) -> dict[str, Destination]:
        flows = {flow.name: flow for flow in load_flows()}
        zone = ZoneInfo(self.config.get("business_timezone") or "UTC")  # an empty value reads as unset
        destinations: dict[str, Destination] = {
            d.stream: d(self.api, self.store, partial(_to_customcrm, flows[FLOW_OF_STREAM[d.stream]], zone))
            for d in DESTINATIONS}
        destinations["sales_reps"] = SalesRepsDestination(destinations["invoices"])
        return destinations


def _to_customcrm(flow: Flow, zone: ZoneInfo, record: Mapping[str, Any]) -> dict[str, Any]:
    """The reverse mapping a merge base needs (see SystemDestination.peer_base)."""
    return map_record(flow, "to_customcrm", dict(record), zone)


if __name__ == "__main__":
    TargetInvoiced.cli()
