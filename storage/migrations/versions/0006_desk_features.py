"""Desk features: channels that follow topics, the editorial workflow, pushed decisions, insights

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

One revision for the four features that land together; each has its own pair
of functions below, applied in this order and undone in reverse.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _follows_up()
    _editorial_up()
    _git_up()
    _insights_up()


def downgrade() -> None:
    _insights_down()
    _git_down()
    _editorial_down()
    _follows_down()


# --- follows (issue 11) ---------------------------------------------------------------


def _follows_up() -> None:
    pass


def _follows_down() -> None:
    pass


# --- editorial workflow (issue 12) ----------------------------------------------------


def _editorial_up() -> None:
    pass


def _editorial_down() -> None:
    pass


# --- several machines (issue 13) ------------------------------------------------------


def _git_up() -> None:
    # A table of its own beside review_decisions: no column added to a table that
    # others reference, and only decisions that were committed have a row.
    op.create_table(
        "decision_commits",
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("commit_sha", sa.String(length=64), nullable=False),
        sa.Column("push_state", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["decision_id"], ["review_decisions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("decision_id"),
    )
    op.create_index("ix_decision_commits_push_state", "decision_commits", ["push_state"])


def _git_down() -> None:
    op.drop_index("ix_decision_commits_push_state", table_name="decision_commits")
    op.drop_table("decision_commits")


# --- insights (issue 14) --------------------------------------------------------------


def _insights_up() -> None:
    pass


def _insights_down() -> None:
    pass
