"""The streams of tap-invoiced: one short declaration each; how they are read lives in replication.py."""

from __future__ import annotations

from importlib import resources

from singer_sdk import SchemaDirectory, StreamSchema

from tap_invoiced import schemas
from tap_invoiced.replication import CatalogStream, EventSourcedStream, UpdatedAfterStream

SCHEMAS = SchemaDirectory(resources.files(schemas))


class CustomersStream(UpdatedAfterStream):
    """Customers changed since the bookmark, and deleted ones as tombstones (`deleted_at` set)."""

    name = "customers"
    path = "/customers"
    schema = StreamSchema(SCHEMAS)
    deleted_event = "customer.deleted"


class ContactsStream(EventSourcedStream):
    """Contacts of every customer; after the first run, only those with contact events since the last one."""

    name = "contacts"
    path = "/customers/{customer_id}/contacts"
    schema = StreamSchema(SCHEMAS)
    event_object = "contact"


class InvoicesStream(UpdatedAfterStream):
    """Invoices with their line items, changed since the bookmark, and deleted ones as tombstones."""

    name = "invoices"
    path = "/invoices"
    schema = StreamSchema(SCHEMAS)
    deleted_event = "invoice.deleted"
    timestamps = ("created_at", "updated_at", "deleted_at", "date", "due_date", "next_payment_attempt")


class ItemsStream(CatalogStream):
    """Catalog items, live and archived (`archived: true`); Invoiced has no change filter for them."""

    name = "items"
    path = "/items"
    schema = StreamSchema(SCHEMAS)
