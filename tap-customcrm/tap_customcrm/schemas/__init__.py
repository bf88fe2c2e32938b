"""JSON schemas of the Customcrm records, one file per stream (derived from the contract)."""
