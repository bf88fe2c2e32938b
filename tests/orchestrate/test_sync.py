"""A tenant's job executed once in process against the sandboxes: `meltano run sync` through Pipes syncs both ways
under the tenant's own namespace and state, and the targets' counts land in Dagster. A tenant whose token is
wrong fails, is retried, and its failure reaches the alert webhook; no secret reaches a log or the alert."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from orchestrate.alerts import AlertNotSent
from orchestrate.definitions import build_definitions
from orchestrate.tenants import load_tenants
from tests.orchestrate.conftest import Webhook, Worker, write_tenants
from tests.target_invoiced.conftest import CUSTOMCRM_TOKEN, INVOICED_KEY

WRONG_TOKEN = "orchestrate-test-wrong-token-41ac"
SECRETS = (CUSTOMCRM_TOKEN, INVOICED_KEY, WRONG_TOKEN)


def _rows(url: str, query: str) -> list[tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(query))]
    finally:
        engine.dispose()


def _event_log(instance: dg.DagsterInstance, run_id: str) -> str:
    return "\n".join(repr(entry) for entry in instance.all_logs(run_id))


def test_a_tenants_job_syncs_both_ways_in_its_own_namespace_and_state_and_reports_the_counts(
        worker: Worker, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    systems = worker.systems
    crm_ids = {c["id"] for c in systems.crm_customers()}
    own_companies = {str(c["id"]) for c in systems.companies()}
    worker.add_tenant("acme")
    defs = build_definitions(load_tenants(write_tenants(tmp_path / "tenants.yml", "acme")))

    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("sync_acme").execute_in_process(instance=instance)
        event_log = _event_log(instance, result.run_id)

    assert result.success
    assert result.dagster_run.tags["orchestrate/tenant"] == "acme"
    # Customcrm's customers are in Invoiced, and Invoiced's own companies in Customcrm, in one run.
    linked = {(c.get("metadata") or {}).get("customcrm_id") for c in systems.companies()}
    assert crm_ids <= linked
    assert own_companies <= {(c.get("external_ids") or {}).get("invoiced") for c in systems.crm_customers()}
    # Under the tenant's namespace (not the environment's `dev`) and the tenant's state ids.
    assert _rows(f"sqlite:///{systems.links_path}", "SELECT DISTINCT namespace FROM sync_links") == [("acme",)]
    state_ids = {row[0] for row in _rows(systems.env["MELTANO_DATABASE_URI"], "SELECT state_id FROM state")}
    assert state_ids == {"dev:tap-customcrm-to-target-invoiced:acme", "dev:tap-invoiced-to-target-customcrm:acme"}

    (materialization,) = result.asset_materializations_for_node("acme__sync")
    metadata = materialization.metadata
    assert metadata["target-invoiced streams"].data["customers"]["created"] == len(crm_ids)
    assert metadata["target-customcrm streams"].data["customers"]["created"] == len(own_companies)
    invoiced_created = sum(stream["created"] for stream in metadata["target-invoiced streams"].data.values())
    assert metadata["target-invoiced created"].value == invoiced_created > len(crm_ids)  # items and invoices too
    assert metadata["target-invoiced rejected"].value == 0
    # What is still set aside is counted too, earlier runs' included: as many as the link store holds.
    held = _rows(f"sqlite:///{systems.links_path}", "SELECT count(*) FROM sync_retries WHERE namespace = 'acme' AND "
                 "stream LIKE '%@invoiced'")
    assert metadata["target-invoiced still set aside"].value == held[0][0]
    assert Path(metadata["target-customcrm summary"].path).parent == worker.data_dir("acme")

    assert "[pipes] did not receive" not in event_log  # run_sync spoke Pipes for Meltano
    output = capfd.readouterr()
    for secret in SECRETS:
        assert secret not in event_log + output.out + output.err


def test_a_failing_tenant_is_retried_then_alerts_the_webhook_without_its_secrets(
        worker: Worker, tmp_path: Path, webhook: Webhook, capfd: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    worker.add_tenant("broken", DEV_CUSTOMCRM_API_TOKEN=WRONG_TOKEN)
    defs = build_definitions(load_tenants(write_tenants(tmp_path / "tenants.yml", "broken")),
                             retry_policy=dg.RetryPolicy(max_retries=1))
    sensor = defs.resolve_sensor_def("sync_failure_alert")

    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("sync_broken").execute_in_process(instance=instance, raise_on_error=False)
        event_log = _event_log(instance, result.run_id)
        assert not result.success
        retries = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
        assert len(retries) == 1  # meltano ran twice: once, and once more on the retry policy
        assert result.asset_materializations_for_node("broken__sync") == []
        assert event_log.count("meltano exited with 1") == 2

        context = dg.build_run_status_sensor_context(
            sensor_name=sensor.name, dagster_event=result.get_run_failure_event(), dagster_instance=instance,
            dagster_run=result.dagster_run).for_run_failure()
        monkeypatch.setenv("ORCHESTRATE_ALERT_WEBHOOK_URL", f"{webhook.url}/alerts")
        sensor(context)
        # A webhook that fails the alert fails the sensor's tick, without the webhook's URL in the error.
        monkeypatch.setenv("ORCHESTRATE_ALERT_WEBHOOK_URL", f"{webhook.url}/down")
        with pytest.raises(AlertNotSent, match="answered 500") as refused:
            sensor(context)
        assert webhook.url.split("//")[1] not in str(refused.value)

    (path, alert), _ = webhook.received
    assert path == "/alerts"
    assert alert["tenant"] == "broken"
    assert alert["run_id"] == result.run_id
    assert alert["job"] == "sync_broken"
    assert "External execution process failed with code" in alert["error"]
    assert alert["text"].startswith("Sync of tenant broken failed")
    output = capfd.readouterr()
    assert "401" in output.err + output.out  # Meltano's log says why, in the run's output
    for secret in SECRETS:
        assert secret not in event_log + output.out + output.err + repr(alert)
