"""`python -m target_customcrm` runs the target."""

from target_customcrm.target import TargetCustomcrm

TargetCustomcrm.cli()
