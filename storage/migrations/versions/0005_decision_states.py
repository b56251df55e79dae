"""Pending review decisions, posted-card versions and leases, pending posts

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

A decision that rewrites a file is committed as "pending" before the file is
replaced and marked "done" after, so a crash in between is finished from the
file at the next start. Posted cards remember the article version they show,
and a message is edited in Slack under a lease rather than inside a database
transaction. A share is written down before it is posted.

Rows that an old Reject on a stale card left both published and rejected are
published (the file says so and the site shows them): their rejection is
cleared, and the audit record of it is kept.

Only columns are added (SQLite's ADD COLUMN, no table rebuilt): rebuilding
posted_messages would cascade-delete its posted_cards.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "review_decisions",
        sa.Column("status", sa.String(length=16), nullable=False, server_default="done"),
    )
    op.add_column("review_decisions", sa.Column("owner", sa.String(length=255), nullable=True))
    op.create_index("ix_review_decisions_status", "review_decisions", ["status"])

    op.add_column("posted_messages", sa.Column("updating_by", sa.String(length=255), nullable=True))
    op.add_column("posted_messages", sa.Column("updating_until", sa.DateTime(), nullable=True))
    op.add_column(
        "posted_cards",
        sa.Column("shown_version", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    # Cards posted before this revision are taken to show their article as it is now.
    op.execute(
        "UPDATE posted_cards SET shown_version = "
        "(SELECT articles.version FROM articles WHERE articles.id = posted_cards.article_id)"
    )

    op.create_table(
        "pending_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("blocks", sa.JSON(), nullable=False),
        sa.Column("cards", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )

    articles = sa.table("articles", sa.column("published", sa.Boolean), sa.column("rejected"))
    op.execute(
        articles.update()
        .where(articles.c.published.is_(sa.true()), articles.c.rejected.is_(sa.true()))
        .values(rejected=sa.false())
    )


def downgrade() -> None:
    op.drop_table("pending_posts")
    # Plain DROP COLUMN (SQLite 3.35+): a batch rebuild of posted_messages would
    # cascade-delete posted_cards.
    op.drop_column("posted_cards", "shown_version")
    op.drop_column("posted_messages", "updating_until")
    op.drop_column("posted_messages", "updating_by")
    op.drop_index("ix_review_decisions_status", table_name="review_decisions")
    op.drop_column("review_decisions", "owner")
    op.drop_column("review_decisions", "status")
