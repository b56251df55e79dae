"""A row version on articles, bumped by every review decision

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29

An index run reads a file, then writes its row seconds later. A decision made
in between (Publish flips the row, then the file) must not be undone by that
write: the indexer updates a row only while its version is the one it read.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "articles",
        sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )


def downgrade() -> None:
    # Not a batch rebuild on SQLite: recreating `articles` cascades into article_topics.
    op.drop_column("articles", "version")
