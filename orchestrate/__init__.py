"""`meltano run sync` for many tenants under Dagster: one asset, job and 15-minute schedule per tenant (sync.py),
read from a tenants file (tenants.py), and one alert for any failed run (alerts.py). definitions.py puts them
together for `dagster dev -m orchestrate.definitions`."""
