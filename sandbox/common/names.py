"""Deterministic, realistic-looking seed data shared by both sandboxes.

`SeedNames(seed)` always yields the same sequence for the same seed, so seeded sandboxes are
reproducible across runs and machines.
"""

from __future__ import annotations

import random
from decimal import Decimal

_COMPANY_FIRST = (
    "Nordic", "Fjord", "Granite", "Harbor", "Summit", "Aurora", "Birch", "Cobalt", "Delta", "Evergreen",
    "Falcon", "Glacier", "Horizon", "Iron", "Juniper", "Kestrel", "Lumen", "Meridian", "Northwind", "Orbit",
    "Pioneer", "Quarry", "Redwood", "Silver", "Tundra", "Union", "Vantage", "Willow", "Yarrow", "Zenith",
)
_COMPANY_SECOND = (
    "Logistics", "Foods", "Analytics", "Builders", "Energy", "Health", "Media", "Outfitters", "Robotics",
    "Shipping", "Software", "Textiles", "Timber", "Travel", "Water", "Consulting", "Dental", "Marine",
)
_COMPANY_SUFFIX = ("AS", "AB", "Ltd", "GmbH", "Inc.", "LLC", "Oy", "ApS", "BV", "SA")
_FIRST_NAMES = (
    "Ada", "Bjørn", "Chloé", "Dmitri", "Elif", "Fatima", "Gustav", "Hana", "Ingrid", "Jonas", "Kari",
    "Liam", "Maja", "Nils", "Olga", "Pål", "Quentin", "Rania", "Sven", "Tomás", "Ulla", "Viktor", "Wen", "Zoë",
)
_LAST_NAMES = (
    "Andersen", "Berg", "Costa", "Dahl", "Eriksson", "Fischer", "García", "Hansen", "Ivanova", "Johansen",
    "Kowalski", "Larsen", "Müller", "Nakamura", "Olsen", "Pereira", "Quinn", "Rossi", "Svensson", "Tanaka",
)
_TITLES = ("Account Executive", "Sales Manager", "Key Account Manager", "Sales Director", "Inside Sales Rep")
# (city, region, postal code pattern, country, currency)
_PLACES = (
    ("Oslo", "Oslo", "0{:03d}", "NO", "NOK"),
    ("Bergen", "Vestland", "5{:03d}", "NO", "NOK"),
    ("Stockholm", "Stockholm", "11{:03d}", "SE", "SEK"),
    ("Copenhagen", "Hovedstaden", "1{:03d}", "DK", "DKK"),
    ("Berlin", "Berlin", "10{:03d}", "DE", "EUR"),
    ("Amsterdam", "Noord-Holland", "10{:02d} AB", "NL", "EUR"),
    ("Austin", "TX", "787{:02d}", "US", "USD"),
    ("Boston", "MA", "021{:02d}", "US", "USD"),
    ("London", "England", "EC{:d}A 1BB", "GB", "GBP"),
)
_STREETS = ("Storgata", "Main Street", "Kungsgatan", "Hauptstraße", "Market Street", "Rue du Lac", "Elm Road")
_PRODUCT_ADJECTIVES = ("Standard", "Premium", "Compact", "Industrial", "Eco", "Pro", "Mini", "Heavy-duty")
_PRODUCT_NOUNS = (
    "Widget", "Sensor", "Bracket", "Pump", "Valve", "License", "Support Plan", "Installation", "Cable",
    "Filter", "Controller", "Training Day", "Consulting Hour", "Adapter", "Mount",
)


class SeedNames:
    """A seeded source of plausible business data."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)

    def pick(self, options: tuple[str, ...]) -> str:
        return self.rng.choice(options)

    def company(self, n: int) -> str:
        # The running number keeps names unique at any scale without looking synthetic up front.
        base = f"{self.pick(_COMPANY_FIRST)} {self.pick(_COMPANY_SECOND)} {self.pick(_COMPANY_SUFFIX)}"
        return base if n < 1 else f"{base} {n}"

    def person(self) -> tuple[str, str]:
        return self.pick(_FIRST_NAMES), self.pick(_LAST_NAMES)

    def title(self) -> str:
        return self.pick(_TITLES)

    def place(self) -> dict[str, str]:
        city, region, postal, country, currency = self.rng.choice(_PLACES)
        return {
            "line1": f"{self.pick(_STREETS)} {self.rng.randint(1, 200)}",
            "city": city,
            "region": region,
            "postal_code": postal.format(self.rng.randint(1, 99)),
            "country": country,
            "currency": currency,
        }

    def phone(self) -> str:
        return f"+47 {self.rng.randint(200, 999)} {self.rng.randint(10, 99)} {self.rng.randint(100, 999)}"

    def product(self) -> str:
        return f"{self.pick(_PRODUCT_ADJECTIVES)} {self.pick(_PRODUCT_NOUNS)}"

    def price(self) -> Decimal:
        """A unit price with two decimals, weighted towards everyday amounts."""
        cents = self.rng.choice((self.rng.randint(100, 10_000), self.rng.randint(10_000, 500_000)))
        return Decimal(cents).scaleb(-2)

    def quantity(self) -> Decimal:
        return Decimal(self.rng.choice((1, 1, 1, 2, 3, 5, 10, 12, 25)))

    def slug(self, text: str) -> str:
        return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")
