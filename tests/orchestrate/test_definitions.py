"""The code location as Dagster loads it from the example tenants file, the tenants file's errors, the worker's
dagster.yaml, and the schedule that skips while a tenant's run is in progress. No sandbox needed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import dagster as dg
import pytest

from orchestrate.definitions import build_definitions, defs
from orchestrate.run_sync import UNSET_VARIABLE, meltano_environment
from orchestrate.sync import SYNC_RETRY, TENANT_TAG, meltano_command, run_environment
from orchestrate.tenants import PACKAGE_DIR, Tenant, TenantsFileError, load_tenants

EXAMPLE = PACKAGE_DIR / "tenants.example.yml"


@pytest.fixture
def example_defs(monkeypatch: pytest.MonkeyPatch) -> dg.Definitions:
    monkeypatch.setenv("ORCHESTRATE_TENANTS_FILE", str(EXAMPLE))
    return defs()


def test_each_tenant_has_a_job_a_schedule_every_15_minutes_and_retries(example_defs: dg.Definitions) -> None:
    for tenant in ("acme", "globex"):
        job = example_defs.resolve_job_def(f"sync_{tenant}")
        assert job.run_tags[TENANT_TAG] == tenant
        (node,) = job.nodes
        assert node.definition.retry_policy == SYNC_RETRY
        assert SYNC_RETRY.max_retries == 3
        assert SYNC_RETRY.backoff == dg.Backoff.EXPONENTIAL

        schedule = example_defs.resolve_schedule_def(f"sync_{tenant}_every_15_minutes")
        assert schedule.cron_schedule == "*/15 * * * *"
        assert schedule.job_name == f"sync_{tenant}"
        assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
        asset = example_defs.resolve_assets_def(dg.AssetKey([tenant, "sync"]))
        assert "prod environment" in asset.descriptions_by_key[asset.key]

    sensor = example_defs.resolve_sensor_def("sync_failure_alert")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert {job.name for job in example_defs.resolve_all_job_defs()} >= {"sync_acme", "sync_globex"}


def test_the_code_location_loads_as_dagster_loads_it(example_defs: dg.Definitions) -> None:
    assert example_defs.resolve_job_def("sync_acme").name == "sync_acme"
    repository = example_defs.get_repository_def()
    assert {schedule.name for schedule in repository.schedule_defs} == {
        "sync_acme_every_15_minutes", "sync_globex_every_15_minutes"}


@pytest.mark.parametrize(("text", "complaint"), [
    ("tenants: {}\n", "expected a `tenants:` mapping"),
    ("tenants:\n  Acme-Corp: {environment: prod}\n", "a name is lower-case letters"),
    ("tenants:\n  acme: {variables: {}}\n", "`environment`"),
    ("tenants:\n  acme: {environment: prod, namespase: x}\n", "unknown key(s) namespase"),
    # A secret pasted where a variable name belongs is refused rather than used.
    ("tenants:\n  acme: {environment: prod, variables: {PROD_INVOICED_API_KEY: 'sk-live/abc=='}}\n", "names only"),
])
def test_a_tenants_file_that_cannot_be_used_says_where_and_what(tmp_path: Path, text: str, complaint: str) -> None:
    path = tmp_path / "tenants.yml"
    path.write_text(text)
    with pytest.raises(TenantsFileError, match=r"tenants\.yml") as raised:
        load_tenants(path)
    assert complaint in str(raised.value)


def test_no_tenants_file_says_to_copy_the_example(tmp_path: Path) -> None:
    with pytest.raises(TenantsFileError, match=r"copy .*tenants\.example\.yml"):
        load_tenants(tmp_path / "tenants.yml")


def test_the_worker_dagster_yaml_allows_one_run_per_tenant_and_two_in_all(tmp_path: Path) -> None:
    # As the README says: copied into DAGSTER_HOME (an instance keeps its storage beside its dagster.yaml).
    shutil.copy(PACKAGE_DIR / "dagster.yaml", tmp_path)
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    try:
        queue = instance.get_concurrency_config().run_queue_config
        assert queue is not None
        assert queue.max_concurrent_runs == 1
        assert queue.tag_concurrency_limits == [
            {"key": TENANT_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": 1}]
    finally:
        instance.dispose()


def test_a_schedule_tick_skips_while_its_tenants_run_is_in_progress() -> None:
    definitions = build_definitions([Tenant("acme", "prod"), Tenant("globex", "prod")])
    acme = definitions.resolve_schedule_def("sync_acme_every_15_minutes")
    globex = definitions.resolve_schedule_def("sync_globex_every_15_minutes")
    with dg.instance_for_test() as instance:
        assert isinstance(acme(dg.build_schedule_context(instance=instance)), dg.RunRequest)

        run = instance.create_run_for_job(definitions.resolve_job_def("sync_acme"))
        instance.handle_run_event(run.run_id, dg.DagsterEvent(  # the run has started
            event_type_value=dg.DagsterEventType.RUN_START.value, job_name=run.job_name))
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED

        skipped = acme(dg.build_schedule_context(instance=instance))
        assert isinstance(skipped, dg.SkipReason)
        assert run.run_id in (skipped.skip_message or "")
        assert isinstance(globex(dg.build_schedule_context(instance=instance)), dg.RunRequest)

        instance.report_run_failed(run)
        assert isinstance(acme(dg.build_schedule_context(instance=instance)), dg.RunRequest)


def test_a_tenant_whose_variable_is_unset_fails_at_once_and_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE_INVOICED_API_KEY", raising=False)
    definitions = build_definitions([Tenant("nope", "dev", {"DEV_INVOICED_API_KEY": "NOPE_INVOICED_API_KEY"})])
    with dg.instance_for_test() as instance:
        result = definitions.resolve_job_def("sync_nope").execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    assert not [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    failure = result.failure_data_for_node("nope__sync")
    assert failure is not None
    assert failure.error is not None
    assert "tenant nope: NOPE_INVOICED_API_KEY not set on this worker" in failure.error.message


def test_a_run_without_its_tenants_tag_is_refused_before_meltano_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A launch that does not go through the job (a GraphQL launchRun without tags, a materialization from the asset
    graph) carries no tenant tag, so the one-run-per-tenant limit would not count it."""
    monkeypatch.setenv("NOTAG_INVOICED_API_KEY", "not-used")
    definitions = build_definitions([Tenant("notag", "dev", {"DEV_INVOICED_API_KEY": "NOTAG_INVOICED_API_KEY"})])
    asset = definitions.resolve_assets_def(dg.AssetKey(["notag", "sync"]))
    with dg.instance_for_test() as instance:
        result = dg.materialize([asset], instance=instance, raise_on_error=False)  # its resources come with it
    assert not result.success
    assert not [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    failure = result.failure_data_for_node("notag__sync")
    assert failure is not None
    assert failure.error is not None
    assert "has tag orchestrate/tenant=None, not 'notag': launch the job sync_notag" in failure.error.message


def test_a_tenants_run_sees_neither_other_tenants_variables_nor_the_project_env_file(
        monkeypatch: pytest.MonkeyPatch) -> None:
    acme = Tenant("acme", "prod", {"PROD_INVOICED_API_KEY": "ACME_INVOICED_API_KEY"})
    globex = Tenant("globex", "prod", {"PROD_INVOICED_API_KEY": "GLOBEX_INVOICED_API_KEY"})
    monkeypatch.setenv("ACME_INVOICED_API_KEY", "acme-key")
    monkeypatch.setenv("GLOBEX_INVOICED_API_KEY", "globex-key")
    monkeypatch.setenv("PROD_CUSTOMCRM_API_URL", "https://left.on.the.worker.example")  # mapped by no tenant here
    monkeypatch.setenv("TARGET_INVOICED_MAX_IN_FLIGHT", "4")  # a worker-wide plugin setting

    env = run_environment(acme, [acme, globex])
    # What Pipes hands run_sync is the worker's whole environment with the run's on top; run_sync passes on the rest.
    meltano = meltano_environment({**os.environ, **env})
    assert meltano["PROD_INVOICED_API_KEY"] == "acme-key"
    assert meltano["TARGET_INVOICED_MAX_IN_FLIGHT"] == "4"
    assert "GLOBEX_INVOICED_API_KEY" not in meltano
    assert "PROD_CUSTOMCRM_API_URL" not in meltano
    assert UNSET_VARIABLE not in meltano
    command = meltano_command(acme)
    assert command[1:3] == ["--env-file", os.devnull]
