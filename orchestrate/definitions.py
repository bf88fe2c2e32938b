"""The Dagster code location: `dagster dev -m orchestrate.definitions` (from the repository root).

Loaded lazily (`@dg.definitions`): importing this module reads nothing; Dagster reads the tenants file when it
loads the location."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from orchestrate.alerts import failure_alert
from orchestrate.sync import SYNC_RETRY, sync_asset, sync_job, sync_schedule
from orchestrate.tenants import Tenant, load_tenants, tenants_file


def build_definitions(tenants: Sequence[Tenant], retry_policy: dg.RetryPolicy = SYNC_RETRY) -> dg.Definitions:
    assets = [sync_asset(tenant, retry_policy, tenants) for tenant in tenants]
    jobs = [sync_job(tenant, asset) for tenant, asset in zip(tenants, assets, strict=True)]
    return dg.Definitions(
        assets=assets,
        jobs=jobs,
        schedules=[sync_schedule(tenant, job) for tenant, job in zip(tenants, jobs, strict=True)],
        sensors=[failure_alert(jobs)],
        resources={"pipes_subprocess_client": dg.PipesSubprocessClient()},
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(load_tenants(tenants_file()))
