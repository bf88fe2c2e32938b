"""tap-invoiced: a Singer tap for Invoiced (customers, contacts, invoices, items, deletes)."""
