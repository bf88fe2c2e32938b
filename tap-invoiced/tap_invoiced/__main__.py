"""`python -m tap_invoiced` runs the tap."""

from __future__ import annotations

from tap_invoiced.tap import TapInvoiced

TapInvoiced.cli()
