"""A local stand-in for the Invoiced REST API (customers, contacts, invoices, items, events).

Run it with `python -m sandbox.invoiced --api-key KEY`; see `__main__.py` for the flags.
"""
