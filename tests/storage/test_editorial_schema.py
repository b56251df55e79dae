"""Migration 0006's editorial tables match the models, on both databases, both ways."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from storage.db import alembic_config, open_database
from storage.models import Article, Base, ScheduledPublication
from storage.sync import sync

TABLES = {"scheduled_publications", "approvals", "reminder_runs", "reminder_items"}


def test_the_migration_creates_what_the_models_declare(database_url):
    db = open_database(database_url)
    with db.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    mine = [d for d in diffs if _table_of(d) in TABLES]
    assert mine == []
    db.dispose()


def _table_of(diff) -> str | None:
    """The table an autogenerate diff is about: ("add_table", Table), ("add_index", Index),
    or [("modify_nullable", schema, "table", "column", ...)]."""
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        if isinstance(part, str) and part in TABLES:
            return part
        table = getattr(part, "table", None)
        name = table.name if table is not None else getattr(part, "name", None)
        if name is not None:
            return name
    return None


def test_down_to_0005_and_up_again(database_url):
    db = open_database(database_url)
    with db.engine.connect() as conn:
        command.downgrade(alembic_config(conn), "0005")
        conn.commit()
        assert TABLES.isdisjoint(inspect(conn).get_table_names())
        command.upgrade(alembic_config(conn), "head")
        conn.commit()
        assert set(inspect(conn).get_table_names()) >= TABLES
    db.dispose()


def test_an_article_has_at_most_one_active_schedule(database_url, articles_dir):
    db = open_database(database_url)
    sync(db.WriteSession, articles_dir)
    with db.Session() as session:
        article_id = session.scalars(select(Article.id)).first()
    due = datetime.now(UTC) + timedelta(days=1)

    def add(status: str) -> None:
        with db.WriteSession.begin() as session:
            session.add(
                ScheduledPublication(
                    article_id=article_id,
                    fingerprint="f",
                    due_at=due,
                    scheduled_by_id="U1",
                    scheduled_by_name="u",
                    status=status,
                    late=False,
                )
            )

    add("cancelled")
    add("pending")
    with pytest.raises(IntegrityError):
        add("waiting")
    add("failed")
    db.dispose()
