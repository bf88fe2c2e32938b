"""Customcrm ⇄ Invoiced mapping layer: declarative mapping files, exact converters, and a Singer inline mapper."""
