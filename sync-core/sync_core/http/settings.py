"""HTTP settings that every plugin declares alike, written once, worded so they hold for a tap and a target."""

from __future__ import annotations

from importlib import metadata

from singer_sdk import typing as th

from sync_core.http.policy import MAX_RETRY_WAIT_SECONDS

# Every package of this project is distributed under this prefix, as MeltanoLabs' are under `meltanolabs-`: a bare
# `tap-invoiced` on PyPI is someone else's. Executables and plugin names stay unprefixed.
DISTRIBUTION_PREFIX = "customcrm-invoiced-"


def distribution(plugin: str) -> str:
    """The distribution a plugin of this project installs as: `tap-invoiced` -> `customcrm-invoiced-tap-invoiced`."""
    return plugin if plugin.startswith(DISTRIBUTION_PREFIX) else DISTRIBUTION_PREFIX + plugin


def plugin_version(plugin: str) -> str:
    """The installed version, for the User-Agent; a checkout run without installing it has none to tell."""
    try:
        return metadata.version(distribution(plugin))
    except metadata.PackageNotFoundError:
        return "unknown"

REQUEST_TIMEOUT = th.Property(
    "request_timeout",
    th.NumberType(minimum=1),
    default=60,
    title="Request timeout (seconds)",
    description="How long to wait for one HTTP response before retrying it.",
)

MAX_RETRIES = th.Property(
    "max_retries",
    th.IntegerType(minimum=0),
    default=5,
    title="Max retries",
    description="Retries of one request after a 429, a 5xx, a timeout or a dropped connection, with exponential "
    "backoff and full jitter; other errors are not retried. When they run out, a tap stops with the error and a "
    "target sets the record aside for the next run.",
)

RETRY_WAIT_SECONDS = th.Property(
    "retry_wait_seconds",
    th.NumberType(minimum=0),
    default=1.0,
    title="First retry wait (seconds)",
    description=f"Upper bound of the first retry's random wait; the bound doubles with each retry, up to "
    f"{MAX_RETRY_WAIT_SECONDS:g} s. A Retry-After header, when sent, is waited at least.",
)


CA_BUNDLE = th.Property(
    "ca_bundle",
    th.StringType,
    title="CA bundle",
    description="Path to a PEM file of the certificate authorities to trust for HTTPS, e.g. a company proxy's "
    "or a private deployment's own CA. Default: the system's trusted authorities (through certifi). "
    "Certificates are always verified; there is no setting to turn that off.",
)


def user_agent(plugin_name: str) -> th.Property:
    """The `user_agent` setting; `plugin_name` names the default (the plugin sends `<name>/<version>`)."""
    return th.Property(
        "user_agent",
        th.StringType,
        title="User-Agent",
        description=f"User-Agent header sent with every request (default: {plugin_name}/<version>).",
    )
