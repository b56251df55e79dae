from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, text

from storage.db import HEAD, create_db_engine, open_database, upgrade
from storage.search import parse_query, search

HEAD_TABLES = {
    "articles",
    "topics",
    "article_topics",
    "index_failures",
    "review_decisions",
    "digest_runs",
    "digest_items",
    "posted_cards",
    "handled_requests",
}


def test_empty_database_upgrades_to_head(database_url):
    db = open_database(database_url)
    assert set(inspect(db.engine).get_table_names()) >= HEAD_TABLES
    with db.engine.connect() as conn:
        assert conn.scalar(text("SELECT version_num FROM alembic_version")) == HEAD
    db.dispose()


@pytest.mark.parametrize("revision", ["0001", "0002"])
def test_database_from_an_earlier_revision_upgrades_in_place(database_url, revision):
    engine = create_db_engine(database_url)
    upgrade(engine, revision)
    if revision == "0001":
        assert "review_decisions" not in inspect(engine).get_table_names()
    now = datetime(2026, 11, 1, tzinfo=UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO articles (web_url, title, excerpt, quality, heat, published, topics,"
                " images, related, extra, source_path, size, mtime_ns, content_hash, missing,"
                " rejected, first_indexed_at, updated_at) VALUES ('https://x.example/1',"
                " 'Old row', 'kept', 1, 70, false, '[]', '[]', '[]', '{}', 'a.md', 1, 1, 'h',"
                " false, false, :now, :now)"
            ),
            {"now": now},
        )
    engine.dispose()

    db = open_database(database_url)  # what every command does on start
    assert set(inspect(db.engine).get_table_names()) >= HEAD_TABLES
    with db.Session() as session:
        assert session.execute(text("SELECT title, heat FROM articles")).one() == ("Old row", 70)
        # Full-text search still finds what the earlier revision indexed.
        found = search(session, parse_query("kept"))
        assert [a.title for a in found.articles] == ["Old row"]
    db.dispose()


def test_opening_twice_is_harmless(database_url):
    open_database(database_url).dispose()
    open_database(database_url).dispose()


def test_head_constant_is_alembics_head():
    from alembic.script import ScriptDirectory

    from storage.db import HEAD, alembic_config

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD


def test_0003_downgrades_and_upgrades_again(database_url, articles_dir):
    from alembic import command

    from storage.db import alembic_config
    from storage.sync import sync

    db = open_database(database_url)
    sync(db.WriteSession, articles_dir)  # FTS rows written by the indexer, no trigger
    count_links = text("SELECT count(*) FROM article_topics")
    with db.engine.connect() as conn:
        links = conn.scalar(count_links)
        command.downgrade(alembic_config(conn), "0002")
        conn.commit()
        assert conn.scalar(count_links) == links > 0  # no table rebuild cascaded into them
    # Back on the trigger, nothing lost. Raw SQL: the models describe the head schema.
    if db.dialect == "sqlite":
        matches = "SELECT articles.title FROM articles JOIN articles_fts"
        matches += " ON articles_fts.rowid = articles.id WHERE articles_fts MATCH 'voter'"
    else:
        matches = "SELECT title FROM articles"
        matches += " WHERE search_vector @@ plainto_tsquery('simple', 'voter')"
    with db.engine.connect() as conn:
        assert conn.scalars(text(matches)).all() == [
            "State Auditor Finds Voter Roll Exports Shared Birth Dates With Vendors"
        ]
    db.dispose()
    db = open_database(database_url)
    with db.engine.connect() as conn:
        assert conn.scalar(text("SELECT version_num FROM alembic_version")) == HEAD
    db.dispose()


def test_0005_clears_the_rejection_of_published_rows_and_keeps_posted_cards(database_url):
    """Up from 0004 and back: the data a Reject on a stale card left is repaired, nothing lost."""
    from alembic import command

    from storage.db import alembic_config

    engine = create_db_engine(database_url)
    upgrade(engine, "0004")
    now = datetime(2026, 11, 1, tzinfo=UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        for n, (published, rejected) in enumerate([(True, True), (False, True), (True, False)]):
            conn.execute(
                text(
                    "INSERT INTO articles (id, web_url, title, excerpt, quality, heat, published,"
                    " topics, images, related, extra, source_path, size, mtime_ns, content_hash,"
                    " missing, rejected, version, first_indexed_at, updated_at) VALUES (:id,"
                    " :url, 't', '', 0, 0, :published, '[]', '[]', '[]', '{}', :path, 1, 1, 'h',"
                    " false, :rejected, 3, :now, :now)"
                ),
                {
                    "id": n + 1,
                    "url": f"https://x.example/{n}",
                    "published": published,
                    "rejected": rejected,
                    "path": f"{n}.md",
                    "now": now,
                },
            )
        conn.execute(
            text(
                "INSERT INTO posted_messages (id, channel, message_ts, kind, text, blocks,"
                " posted_at) VALUES (1, 'C1', '1.2', 'share', 't', '[]', :now)"
            ),
            {"now": now},
        )
        conn.execute(text("INSERT INTO posted_cards (posted_message_id, article_id) VALUES (1, 1)"))
    engine.dispose()

    db = open_database(database_url)
    with db.engine.connect() as conn:
        states = conn.execute(text("SELECT id, published, rejected FROM articles ORDER BY id"))
        assert [(i, bool(p), bool(r)) for i, p, r in states] == [
            (1, True, False),
            (2, False, True),
            (3, True, False),
        ]
        assert conn.execute(text("SELECT shown_version FROM posted_cards")).scalar() == 3
        command.downgrade(alembic_config(conn), "0004")
        conn.commit()
        assert conn.execute(text("SELECT count(*) FROM posted_cards")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM review_decisions")).scalar() == 0
    db.dispose()
    db = open_database(database_url)  # and up again
    with db.engine.connect() as conn:
        assert conn.scalar(text("SELECT version_num FROM alembic_version")) == HEAD
    db.dispose()
