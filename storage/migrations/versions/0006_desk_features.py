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
    # New tables only: nothing existing is rebuilt.
    op.create_table(
        "follows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_by_name", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("removed_by", sa.String(length=32), nullable=True),
        sa.Column("removed_by_name", sa.String(length=255), nullable=True),
        sa.Column("removed_at", sa.DateTime(), nullable=True),
        sa.Column("cards", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "number", name="uq_follows_channel_number"),
    )
    op.create_index("ix_follows_active", "follows", ["removed_at", "channel"])
    op.create_table(
        "follow_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("follow_ids", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("run", sa.String(length=64), nullable=False),
        sa.Column("found_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(length=255), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("posted_at", sa.DateTime(), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "article_id", name="uq_follow_claims_channel_article"),
    )
    op.create_index("ix_follow_claims_status", "follow_claims", ["status", "channel"])
    op.create_index("ix_follow_claims_recent", "follow_claims", ["channel", "claimed_at"])
    op.create_index("ix_follow_claims_article_id", "follow_claims", ["article_id"])
    op.create_table(
        "follow_extras",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("run", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("follow_ids", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("found_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_follow_extras_status", "follow_extras", ["status", "channel"])
    op.create_table(
        "follow_channels",
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("posting_by", sa.String(length=255), nullable=True),
        sa.Column("posting_until", sa.DateTime(), nullable=True),
        sa.Column("summary_at", sa.DateTime(), nullable=True),
        sa.Column("summary_ts", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("channel"),
    )


def _follows_down() -> None:
    op.drop_table("follow_channels")
    op.drop_index("ix_follow_extras_status", table_name="follow_extras")
    op.drop_table("follow_extras")
    op.drop_index("ix_follow_claims_article_id", table_name="follow_claims")
    op.drop_index("ix_follow_claims_recent", table_name="follow_claims")
    op.drop_index("ix_follow_claims_status", table_name="follow_claims")
    op.drop_table("follow_claims")
    op.drop_index("ix_follows_active", table_name="follows")
    op.drop_table("follows")


# --- editorial workflow (issue 12) ----------------------------------------------------


# New tables only: nothing existing is rebuilt. The partial unique index (one
# active schedule per article) is written the same way on SQLite and PostgreSQL.
_ACTIVE = "status IN ('pending', 'waiting', 'running')"


def _editorial_up() -> None:
    op.create_table(
        "scheduled_publications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("scheduled_by_id", sa.String(length=32), nullable=False),
        sa.Column("scheduled_by_name", sa.String(length=255), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claimed_by", sa.String(length=255), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("closed_by_id", sa.String(length=32), nullable=True),
        sa.Column("closed_by_name", sa.String(length=255), nullable=True),
        sa.Column("notice", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"]),
        sa.ForeignKeyConstraint(["decision_id"], ["review_decisions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_scheduled_publications_article_id", "scheduled_publications", ["article_id"]
    )
    op.create_index("ix_scheduled_publications_due", "scheduled_publications", ["status", "due_at"])
    op.create_index(
        "uq_scheduled_publications_active",
        "scheduled_publications",
        ["article_id"],
        unique=True,
        sqlite_where=sa.text(_ACTIVE),
        postgresql_where=sa.text(_ACTIVE),
    )
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.String(length=32), nullable=False),
        sa.Column("reviewer_name", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("approved_at", sa.DateTime(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("voided_at", sa.DateTime(), nullable=True),
        sa.Column("schedule_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"]),
        sa.ForeignKeyConstraint(["decision_id"], ["review_decisions.id"]),
        sa.ForeignKeyConstraint(["schedule_id"], ["scheduled_publications.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_approvals_article_id", "approvals", ["article_id"])
    op.create_table(
        "reminder_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("slot", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claimed_by", sa.String(length=255), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=False),
        sa.Column("posted_at", sa.DateTime(), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("thread_ts", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "slot", name="uq_reminder_runs_channel_slot"),
    )
    op.create_table(
        "reminder_items",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["reminder_runs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"]),
        sa.PrimaryKeyConstraint("run_id", "article_id"),
    )
    op.create_index("ix_reminder_items_article_id", "reminder_items", ["article_id"])


def _editorial_down() -> None:
    op.drop_table("reminder_items")
    op.drop_table("reminder_runs")
    op.drop_table("approvals")
    op.drop_table("scheduled_publications")


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
