"""Customcrm reference service: the HTTP contract a CRM exposes to the sync, on SQLite."""
