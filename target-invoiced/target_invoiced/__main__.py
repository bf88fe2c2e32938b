"""`python -m target_invoiced` runs the target."""

from target_invoiced.target import TargetInvoiced

TargetInvoiced.cli()
