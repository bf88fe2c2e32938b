"""The Customcrm streams: one short declaration per collection; all behaviour lives in client.py."""

from __future__ import annotations

from singer_sdk import SchemaDirectory, StreamSchema

from tap_customcrm import schemas
from tap_customcrm.client import CustomcrmStream

SCHEMAS = SchemaDirectory(schemas)


class CustomersStream(CustomcrmStream):
    """Companies that buy from us (billing address nested)."""

    name = "customers"
    path = "/customers"
    schema = StreamSchema(SCHEMAS)


class ProductsStream(CustomcrmStream):
    """Goods and services with a list price."""

    name = "products"
    path = "/products"
    schema = StreamSchema(SCHEMAS)


class OrdersStream(CustomcrmStream):
    """Sales orders with their lines nested."""

    name = "orders"
    path = "/orders"
    schema = StreamSchema(SCHEMAS)


class UsersStream(CustomcrmStream):
    """The sales team; a user owns orders."""

    name = "users"
    path = "/users"
    schema = StreamSchema(SCHEMAS)


# Parents before their children, the order they are synced in (see TapCustomcrm.load_streams): an order's owner,
# products and customer reach a target before the order does, so the order never waits for them.
STREAMS: tuple[type[CustomcrmStream], ...] = (UsersStream, ProductsStream, CustomersStream, OrdersStream)
