"""Singer tap for Customcrm: customers, products, orders and users, read incrementally."""
