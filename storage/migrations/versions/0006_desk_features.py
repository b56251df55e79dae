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


# article_topics.first_indexed_at and review_decisions.article_indexed_at copy the
# article's first_indexed_at (as article_topics copies heat and published_at), so a
# period's topics and times to decision are read from those tables' indexes alone.
# The indexer writes the links' copy; these triggers fill a copy an insert leaves out
# (a decision, the indexer's re-links of a changed article, anything else) and follow
# a change of the article's (which newsbot never makes).
_SQLITE_TRIGGERS = (
    """CREATE TRIGGER article_topics_first_indexed_at AFTER INSERT ON article_topics
    WHEN NEW.first_indexed_at IS NULL
    BEGIN
        UPDATE article_topics
        SET first_indexed_at = (SELECT first_indexed_at FROM articles WHERE id = NEW.article_id)
        WHERE article_id = NEW.article_id AND topic_id = NEW.topic_id;
    END""",
    """CREATE TRIGGER review_decisions_article_indexed_at AFTER INSERT ON review_decisions
    WHEN NEW.article_indexed_at IS NULL
    BEGIN
        UPDATE review_decisions
        SET article_indexed_at = (SELECT first_indexed_at FROM articles WHERE id = NEW.article_id)
        WHERE id = NEW.id;
    END""",
    """CREATE TRIGGER articles_first_indexed_at AFTER UPDATE OF first_indexed_at ON articles
    BEGIN
        UPDATE article_topics SET first_indexed_at = NEW.first_indexed_at
        WHERE article_id = NEW.id;
        UPDATE review_decisions SET article_indexed_at = NEW.first_indexed_at
        WHERE article_id = NEW.id;
    END""",
)
_POSTGRES_TRIGGERS = (
    """CREATE FUNCTION newsbot_copy_first_indexed_at() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_TABLE_NAME = 'article_topics' THEN
            NEW.first_indexed_at :=
                (SELECT first_indexed_at FROM articles WHERE id = NEW.article_id);
        ELSE
            NEW.article_indexed_at :=
                (SELECT first_indexed_at FROM articles WHERE id = NEW.article_id);
        END IF;
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER article_topics_first_indexed_at BEFORE INSERT ON article_topics
    FOR EACH ROW WHEN (NEW.first_indexed_at IS NULL)
    EXECUTE FUNCTION newsbot_copy_first_indexed_at()""",
    """CREATE TRIGGER review_decisions_article_indexed_at BEFORE INSERT ON review_decisions
    FOR EACH ROW WHEN (NEW.article_indexed_at IS NULL)
    EXECUTE FUNCTION newsbot_copy_first_indexed_at()""",
    """CREATE FUNCTION newsbot_follow_first_indexed_at() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE article_topics SET first_indexed_at = NEW.first_indexed_at
        WHERE article_id = NEW.id;
        UPDATE review_decisions SET article_indexed_at = NEW.first_indexed_at
        WHERE article_id = NEW.id;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER articles_first_indexed_at AFTER UPDATE OF first_indexed_at ON articles
    FOR EACH ROW WHEN (OLD.first_indexed_at IS DISTINCT FROM NEW.first_indexed_at)
    EXECUTE FUNCTION newsbot_follow_first_indexed_at()""",
)
# A decision's place among its article's decisions that took effect: when the next one
# was made, and whether it is the first publish or reject. Decisions are few and rare,
# so every change to one orders all of its article's again.
_ORDER = """
    next_decided_at = (
        SELECT min(later.decided_at) FROM review_decisions AS later
        WHERE later.article_id = review_decisions.article_id AND later.status = 'done'
        AND (later.decided_at > review_decisions.decided_at
             OR (later.decided_at = review_decisions.decided_at
                 AND later.id > review_decisions.id))),
    first_decision = (
        review_decisions.status = 'done'
        AND review_decisions.action IN ('publish', 'reject')
        AND NOT EXISTS (
            SELECT 1 FROM review_decisions AS earlier
            WHERE earlier.article_id = review_decisions.article_id
            AND earlier.status = 'done' AND earlier.action IN ('publish', 'reject')
            AND (earlier.decided_at < review_decisions.decided_at
                 OR (earlier.decided_at = review_decisions.decided_at
                     AND earlier.id < review_decisions.id))))
"""
_ORDERED_BY = "status, decided_at, action, article_id"
_ORDER_QUOTED = _ORDER.replace("'", "''")  # inside a PL/pgSQL string
_SQLITE_ORDER_TRIGGERS = (
    f"""CREATE TRIGGER review_decisions_order_insert AFTER INSERT ON review_decisions
    BEGIN
        UPDATE review_decisions SET {_ORDER} WHERE article_id = NEW.article_id;
    END""",
    f"""CREATE TRIGGER review_decisions_order_update
    AFTER UPDATE OF {_ORDERED_BY} ON review_decisions
    BEGIN
        UPDATE review_decisions SET {_ORDER}
        WHERE article_id IN (NEW.article_id, OLD.article_id);
    END""",
    f"""CREATE TRIGGER review_decisions_order_delete AFTER DELETE ON review_decisions
    BEGIN
        UPDATE review_decisions SET {_ORDER} WHERE article_id = OLD.article_id;
    END""",
)
_POSTGRES_ORDER_TRIGGERS = (
    f"""CREATE FUNCTION newsbot_order_decisions() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        articles integer[];
    BEGIN
        IF TG_OP = 'INSERT' THEN
            articles := ARRAY[NEW.article_id];
        ELSIF TG_OP = 'DELETE' THEN
            articles := ARRAY[OLD.article_id];
        ELSE
            articles := ARRAY[NEW.article_id, OLD.article_id];
        END IF;
        -- Planned afresh each time: a plan cached while the table was small would
        -- scan all of it once it has grown.
        EXECUTE 'UPDATE review_decisions SET {_ORDER_QUOTED}
            WHERE article_id = ANY($1)' USING articles;
        RETURN NULL;
    END $$""",
    f"""CREATE TRIGGER review_decisions_order
    AFTER INSERT OR DELETE OR UPDATE OF {_ORDERED_BY} ON review_decisions
    FOR EACH ROW EXECUTE FUNCTION newsbot_order_decisions()""",
)
_COPIES = (
    ("article_topics", "first_indexed_at", "article_topics.article_id"),
    ("review_decisions", "article_indexed_at", "review_decisions.article_id"),
)


def _insights_up() -> None:
    op.create_index("ix_articles_first_indexed_at", "articles", ["first_indexed_at"])
    # ADD COLUMN, not a batch rebuild: nothing is copied, no foreign key disturbed.
    for table, column, article_id in _COPIES:
        op.add_column(table, sa.Column(column, sa.DateTime(), nullable=True))
        op.execute(
            f"UPDATE {table} SET {column} = "
            f"(SELECT articles.first_indexed_at FROM articles WHERE articles.id = {article_id})"
        )
    op.create_index(
        "ix_article_topics_indexed", "article_topics", ["topic_id", "first_indexed_at", "heat"]
    )
    op.add_column("review_decisions", sa.Column("next_decided_at", sa.DateTime(), nullable=True))
    op.add_column("review_decisions", sa.Column("first_decision", sa.Boolean(), nullable=True))
    op.execute(f"UPDATE review_decisions SET {_ORDER}")
    op.create_index(
        "ix_review_decisions_period",
        "review_decisions",
        [
            "status",
            "decided_at",
            "action",
            "reviewer_id",
            "first_decision",
            "next_decided_at",
            "article_indexed_at",
            "id",
        ],
    )
    dialect = op.get_bind().dialect.name
    triggers = {
        "sqlite": (*_SQLITE_TRIGGERS, *_SQLITE_ORDER_TRIGGERS),
        "postgresql": (*_POSTGRES_TRIGGERS, *_POSTGRES_ORDER_TRIGGERS),
    }
    for statement in triggers[dialect]:
        op.execute(statement)

    op.create_table(
        "search_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("searched_at", sa.DateTime(), nullable=False),
        sa.Column("query", sa.String(length=200), nullable=False),
        sa.Column("results", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_search_log_searched_at", "search_log", ["searched_at"])

    op.create_table(
        "report_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("report_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claimed_by", sa.String(length=255), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=False),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("file_id", sa.String(length=32), nullable=True),
        sa.Column("posted_at", sa.DateTime(), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "week", name="uq_report_runs_channel_week"),
    )


def _insights_down() -> None:
    op.drop_table("report_runs")
    op.drop_index("ix_search_log_searched_at", table_name="search_log")
    op.drop_table("search_log")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER review_decisions_order ON review_decisions")
        op.execute("DROP FUNCTION newsbot_order_decisions()")
        op.execute("DROP TRIGGER articles_first_indexed_at ON articles")
        op.execute("DROP TRIGGER review_decisions_article_indexed_at ON review_decisions")
        op.execute("DROP TRIGGER article_topics_first_indexed_at ON article_topics")
        op.execute("DROP FUNCTION newsbot_follow_first_indexed_at()")
        op.execute("DROP FUNCTION newsbot_copy_first_indexed_at()")
    else:
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER review_decisions_order_{name}")
        op.execute("DROP TRIGGER articles_first_indexed_at")
        op.execute("DROP TRIGGER review_decisions_article_indexed_at")
        op.execute("DROP TRIGGER article_topics_first_indexed_at")
    op.drop_index("ix_review_decisions_period", table_name="review_decisions")
    op.drop_column("review_decisions", "first_decision")
    op.drop_column("review_decisions", "next_decided_at")
    op.drop_index("ix_article_topics_indexed", table_name="article_topics")
    # Plain DROP COLUMN (SQLite 3.35+): a batch rebuild would cascade into other tables.
    for table, column, _article_id in reversed(_COPIES):
        op.drop_column(table, column)
    op.drop_index("ix_articles_first_indexed_at", table_name="articles")
