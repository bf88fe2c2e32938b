"""One alert per failed run (after its retries): a JSON POST to ORCHESTRATE_ALERT_WEBHOOK_URL, or an error in the
sensor's log when no webhook is set. The payload's `text` is what Slack-style webhooks show."""

# No `from __future__ import annotations`: Dagster reads the context parameters' annotations at definition time.
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import dagster as dg
import requests

from orchestrate.sync import TENANT_TAG

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition
    from dagster._utils.error import SerializableErrorInfo

WEBHOOK_VARIABLE = "ORCHESTRATE_ALERT_WEBHOOK_URL"


class AlertNotSent(RuntimeError):
    """The webhook did not take the alert. The URL is never in the message: webhook URLs often carry a token."""


def alert_payload(context: dg.RunFailureSensorContext) -> dict[str, Any]:
    run = context.dagster_run
    tenant = run.tags.get(TENANT_TAG, "?")
    steps = [_causes(event.event_specific_data.error) for event in context.get_step_failure_events()
             if event.event_specific_data and event.event_specific_data.error]
    error = steps[0] if steps else context.failure_event.message or "the run failed"
    return {
        "text": f"Sync of tenant {tenant} failed (Dagster run {run.run_id}, job {run.job_name}): {error}. "
                f"Meltano's log is in the run's stdout/stderr.",
        "tenant": tenant,
        "job": run.job_name,
        "run_id": run.run_id,
        "error": error,
    }


def _causes(error: "SerializableErrorInfo | None") -> str:
    # Dagster wraps the asset's exception ("Exceeded max_retries of 3: ...") around the cause that matters.
    messages = []
    while error is not None:
        messages.append((error.message.strip().splitlines() or [error.cls_name or "error"])[0])
        error = error.cause
    return ": ".join(messages)


def post(url: str, payload: dict[str, Any]) -> None:
    try:
        response = requests.post(url, json=payload, timeout=10)
    except requests.RequestException as failed:
        msg = f"alert webhook ({WEBHOOK_VARIABLE}) unreachable: {type(failed).__name__}"
        raise AlertNotSent(msg) from None
    if not response.ok:
        msg = f"alert webhook ({WEBHOOK_VARIABLE}) answered {response.status_code}"
        raise AlertNotSent(msg)


def failure_alert(jobs: Sequence["UnresolvedAssetJobDefinition"]) -> dg.SensorDefinition:
    # Running by default: it only reads run events and posts, and an alert nobody switched on is no alert.
    @dg.run_failure_sensor(name="sync_failure_alert", monitored_jobs=list(jobs),
                           default_status=dg.DefaultSensorStatus.RUNNING)
    def sync_failure_alert(context: dg.RunFailureSensorContext) -> None:
        payload = alert_payload(context)
        url = os.environ.get(WEBHOOK_VARIABLE)
        if not url:
            context.log.error("%s (set %s to post alerts)", payload["text"], WEBHOOK_VARIABLE)
            return
        post(url, payload)
        context.log.info("alert sent for run %s", payload["run_id"])

    return sync_failure_alert
