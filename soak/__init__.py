"""Soak runs of the two-way sync against the sandboxes: faults, crashes and mass changes (`make soak`)."""
