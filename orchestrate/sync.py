"""One tenant's sync as Dagster sees it: an asset whose materialization is one `meltano run sync` (through Dagster
Pipes, with run_sync.py as the external side), a job that runs it, and a schedule every 15 minutes that skips
while the tenant's previous run is going. The summaries the two targets write become the materialization's
metadata, so each run's counts are in Dagster."""

# No `from __future__ import annotations`: Dagster reads the context parameters' annotations at definition time.
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from orchestrate.run_sync import TARGETS, UNSET_VARIABLE, target_variable
from orchestrate.tenants import MissingVariableError, Tenant, environment_prefixes

if TYPE_CHECKING:  # what define_asset_job returns; Dagster does not export the name
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

REPO_ROOT = Path(__file__).resolve().parents[1]  # the Meltano project
DATA_DIR_VARIABLE = "ORCHESTRATE_DATA_DIR"
TENANT_TAG = "orchestrate/tenant"  # on every run; dagster.yaml allows one run in progress per value
CRON = "*/15 * * * *"
# Request-level retries live in the plugins (max_retries per request). These retry a run that failed as a whole,
# e.g. a system down longer than the plugins' backoff; the sync is idempotent, so rerunning it is safe. 30, 60 and
# 120 s (give or take jitter) keep all four attempts well inside the 15 minutes before the next scheduled run.
SYNC_RETRY = dg.RetryPolicy(max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)
IN_PROGRESS = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
               dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


def job_name(tenant: Tenant) -> str:
    return f"sync_{tenant.name}"


def data_dir(tenant: Tenant) -> Path:
    """Where the tenant's summaries, rejects and audit trail are kept: ORCHESTRATE_DATA_DIR/<tenant>."""
    root = os.environ.get(DATA_DIR_VARIABLE) or REPO_ROOT / ".meltano" / "orchestrate"
    return Path(root) / tenant.name


def meltano_command(tenant: Tenant) -> list[str]:
    """`meltano run sync` for the tenant. The project's `.env` is not read (an empty env file instead): it is one
    file for every tenant, so a value in it would reach them all; a tenant's values come from its `variables`."""
    beside = Path(sys.executable).with_name("meltano")  # the worker's virtual environment, when it has Meltano
    meltano = str(beside) if beside.exists() else shutil.which("meltano") or "meltano"
    return [meltano, "--env-file", os.devnull, f"--environment={tenant.environment}", "run", "--state-id-suffix",
            tenant.name, "sync"]


def run_environment(tenant: Tenant, tenants: Sequence[Tenant] = ()) -> dict[str, str]:
    """What `meltano run` gets on top of the worker's environment: the tenant's connections, its namespace in both
    targets, its own operator files, and in UNSET_VARIABLE the worker's variables it must not see: every other
    tenant's (what any tenant maps from) and those the environments read (PROD_*), unless this tenant maps them."""
    files = data_dir(tenant)
    env = tenant.run_variables(os.environ)
    prefixes = environment_prefixes()
    hidden = {source for other in tenants for source in other.variables.values()}
    hidden |= {name for name in os.environ if name.startswith(prefixes)}
    env[UNSET_VARIABLE] = ",".join(sorted(hidden - set(env) - set(tenant.variables.values())))
    for target in TARGETS:
        env[target_variable(target, "namespace")] = tenant.link_namespace  # overrides the environment's namespace
        for setting, file in (("summary_path", "summary.json"), ("rejects_path", "rejects.jsonl"),
                              ("audit_path", "audit.jsonl")):
            env[target_variable(target, setting)] = str(files / f"{target}-{file}")
    return env


def sync_asset(tenant: Tenant, retry_policy: dg.RetryPolicy,
               tenants: Sequence[Tenant] = ()) -> dg.AssetsDefinition:
    @dg.asset(
        key=[tenant.name, "sync"],
        group_name=tenant.name,
        kinds={"meltano"},
        retry_policy=retry_policy,
        description=f"Customcrm and Invoiced of tenant {tenant.name} in sync: `meltano run sync` in the "
                    f"{tenant.environment} environment.",
    )
    def sync(context: dg.AssetExecutionContext, pipes_subprocess_client: dg.PipesSubprocessClient
             ) -> dg.MaterializeResult:
        tagged = context.run.tags.get(TENANT_TAG)
        if tagged != tenant.name:
            # The one-run-per-tenant limit (dagster.yaml) counts runs by this tag: a run launched without it (a
            # GraphQL launchRun, a materialization from the asset graph) would slip past the limit.
            raise dg.Failure(f"run {context.run_id} of tenant {tenant.name} has tag {TENANT_TAG}={tagged!r}, not "
                             f"{tenant.name!r}: launch the job {job_name(tenant)} (its runs carry the tag), or add "
                             "the tag to the launch", allow_retries=False)
        try:
            env = run_environment(tenant, tenants)
        except MissingVariableError as missing:
            raise dg.Failure(str(missing), allow_retries=False) from None  # a retry would find it missing again
        command = meltano_command(tenant)
        context.log.info("running %s", " ".join(command[1:]))
        # run_sync opens the Pipes session on Meltano's behalf and reports the targets' summaries as metadata.
        invocation = pipes_subprocess_client.run(
            context=context, command=[sys.executable, "-m", "orchestrate.run_sync", *command], env=env,
            cwd=str(REPO_ROOT))
        return invocation.get_materialize_result()

    return sync


def sync_job(tenant: Tenant, asset: dg.AssetsDefinition) -> "UnresolvedAssetJobDefinition":
    return dg.define_asset_job(job_name(tenant), selection=[asset], run_tags={TENANT_TAG: tenant.name},
                               description=f"`meltano run sync` for tenant {tenant.name}")


def sync_schedule(tenant: Tenant, job: "UnresolvedAssetJobDefinition") -> dg.ScheduleDefinition:
    # Stopped until an operator starts it: a new tenant's first sync can take minutes and writes to its live
    # accounts, so it starts when someone means it to (and schedule states persist in the Dagster instance).
    @dg.schedule(name=f"{job_name(tenant)}_every_15_minutes", job=job, cron_schedule=CRON,
                 execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.STOPPED)
    def every_15_minutes(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        # A first sync or a run in its retries can outlast 15 minutes; queueing another behind it would only
        # pile up runs that the run queue's one-per-tenant limit holds back anyway.
        going = context.instance.get_run_records(dg.RunsFilter(job_name=job.name, statuses=IN_PROGRESS), limit=1)
        if going:
            return dg.SkipReason(f"tenant {tenant.name}: run {going[0].dagster_run.run_id} is still in progress")
        return dg.RunRequest()

    return every_15_minutes
