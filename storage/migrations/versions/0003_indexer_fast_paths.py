"""Indexer fast paths: the file-state index, and FTS rows written by the indexer

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

Every run compares each file's size and mtime with what is stored. Read from
the table that is a scan of every article (about 2 KB a row); from a covering
index it is a tenth of that.

SQLite: the AFTER INSERT trigger tokenised one row at a time inside every batch
insert; one executemany into articles_fts per batch costs a tenth as much
(BENCHMARKS.md). Articles are only ever inserted by `storage.sync`, which now
writes their FTS rows in the same transaction. Updates and deletes keep their
triggers: they touch few rows. PostgreSQL's generated column needs nothing.

PostgreSQL: an article row is about 2.5 KB, past the 2 KB at which PostgreSQL
tries to compress its longest values (the base64 `secured`, excerpts, JSON),
which hardly shrink. Compressing only rows past 8 KB took a fifth off every
insert (measured: 231-251 against 188-217 us a row).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # `missing` is a column, not a partial-index condition: SQLite 3.40 does not
    # treat a partial index as covering for a query on the same condition.
    op.create_index(
        "ix_articles_file_state", "articles", ["source_path", "size", "mtime_ns", "missing"]
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER articles_fts_insert")
    else:
        op.execute("ALTER TABLE articles SET (toast_tuple_target = 8160)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            """CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
            INSERT INTO articles_fts(rowid, title, excerpt) VALUES (new.id, new.title, new.excerpt);
            END"""
        )
        # Articles inserted while there was no trigger.
        op.execute("INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')")
    else:
        op.execute("ALTER TABLE articles RESET (toast_tuple_target)")
    op.drop_index("ix_articles_file_state", table_name="articles")
