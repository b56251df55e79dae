"""Owed decision commits: the clone whose work tree holds a decision's change until its
commit is made

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

A decision whose git commit failed (a killed process, a stale index.lock) is
recorded in decision_commits as "uncommitted", with the clone it is owed in,
and committed before the next pull of that clone. One nullable column: nothing
existing is rebuilt.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("decision_commits", sa.Column("owed_in", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("decision_commits") as batch:
        batch.drop_column("owed_in")
