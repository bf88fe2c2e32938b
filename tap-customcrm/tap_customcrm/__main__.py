"""`python -m tap_customcrm` runs the tap's command line."""

from __future__ import annotations

from tap_customcrm.tap import TapCustomcrm

TapCustomcrm.cli()
