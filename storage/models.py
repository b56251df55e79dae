"""The database schema, as SQLAlchemy 2.0 typed models.

The migrations in `storage/migrations` create exactly these tables (plus the
full-text index, which lives outside the ORM: FTS5 on SQLite, a generated
`tsvector` column on PostgreSQL).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, hands back aware UTC, whatever the backend keeps."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
        str: Text,
    }


class Article(Base):
    """One article, identified by its `webUrl`; survives renames, moves and bad edits.

    Insert articles through `storage.sync` only: on SQLite it writes their
    full-text rows in the same batch, as no trigger does since migration 0003.
    """

    __tablename__ = "articles"
    __table_args__ = (
        Index("ix_articles_review_queue", "published", "rejected", "missing", "heat"),
        Index("ix_articles_published_at", "published_at"),
        Index("ix_articles_rank", "heat", "published_at"),
        Index("ix_articles_provider_domain", "provider_domain"),
        Index("ix_articles_amp_web_url", "amp_web_url"),
        # Covers the indexer's size-and-mtime comparison of every file (migration 0003).
        Index("ix_articles_file_state", "source_path", "size", "mtime_ns", "missing"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    web_url: Mapped[str] = mapped_column(String(2048), unique=True)
    amp_web_url: Mapped[str | None] = mapped_column(String(2048))
    cdn_amp_web_url: Mapped[str | None]
    title: Mapped[str]
    excerpt: Mapped[str] = mapped_column(default="")
    category: Mapped[str | None]
    type: Mapped[str | None]
    quality: Mapped[int] = mapped_column(Integer, default=0)
    heat: Mapped[int] = mapped_column(Integer, default=0)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    published_at: Mapped[datetime | None]
    provider_name: Mapped[str | None]
    provider_domain: Mapped[str | None] = mapped_column(String(255))
    # The article's own lists, as the file gives them; article_topics indexes topics.
    topics: Mapped[list[Any]] = mapped_column(default=list)
    images: Mapped[list[Any]] = mapped_column(default=list)
    related: Mapped[list[Any]] = mapped_column(default=list)
    secured: Mapped[str | None]
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)

    source_path: Mapped[str]
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    content_hash: Mapped[str] = mapped_column(String(64))
    missing: Mapped[bool] = mapped_column(Boolean, default=False)
    rejected: Mapped[bool] = mapped_column(Boolean, default=False)
    # Bumped by every write that is not the indexer's (a review decision), so an
    # index run that read the file before that write leaves the row alone.
    version: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    first_indexed_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Topic(Base):
    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)  # str.casefold() of the name
    name: Mapped[str] = mapped_column(String(255))


class ArticleTopic(Base):
    """Article-topic link, with heat and date copied in so topic search is one index scan."""

    __tablename__ = "article_topics"
    __table_args__ = (
        Index(
            "ix_article_topics_rank",
            "topic_id",
            "heat",
            "published_at",
            "article_id",
        ),
    )

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    topic_id: Mapped[int] = mapped_column(
        ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True
    )
    heat: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[datetime | None]
    # The article's, copied in so the topics of a period are one index range per topic
    # (migration 0006, insights). The indexer writes it; a trigger fills it when an
    # insert leaves it out and follows any change of the article's.
    first_indexed_at: Mapped[datetime | None]


class IndexFailure(Base):
    """A file that could not be indexed, remembered so an unchanged bad file is not re-read."""

    __tablename__ = "index_failures"

    path: Mapped[str] = mapped_column(String(1024), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str]
    duplicate_of: Mapped[str | None] = mapped_column(String(2048))
    failed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewDecision(Base):
    """The audit record: who decided what about which article, when and where.

    A decision that rewrites the article file is written "pending" (with the
    article's new state) and committed before the file is replaced, then marked
    "done"; one whose writer died is finished from the file at the next start:
    "done" when the file has the new value, else "abandoned" and the row undone.
    """

    __tablename__ = "review_decisions"
    __table_args__ = (
        Index("ix_review_decisions_decided_at", "decided_at"),
        Index("ix_review_decisions_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))  # publish, reject, unpublish
    reviewer_id: Mapped[str] = mapped_column(String(32))
    reviewer_name: Mapped[str] = mapped_column(String(255))
    old_value: Mapped[str | None] = mapped_column(String(64))
    new_value: Mapped[str | None] = mapped_column(String(64))
    channel_id: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="done", server_default="done")
    # "host:pid" of the process writing the file while the decision is pending.
    owner: Mapped[str | None] = mapped_column(String(255))
    # Kept by triggers (migration 0006, insights), so a period's figures are read from this
    # table's index alone: the article's first_indexed_at; when the article's next decision
    # that took effect was made (None: this is its latest); whether this is the article's
    # first publish or reject that took effect.
    article_indexed_at: Mapped[datetime | None]
    next_decided_at: Mapped[datetime | None]
    first_decision: Mapped[bool | None] = mapped_column(Boolean)


class DigestRun(Base):
    """One digest per channel and local date: the row is claimed before posting."""

    __tablename__ = "digest_runs"
    __table_args__ = (
        UniqueConstraint("channel", "local_date", name="uq_digest_runs_channel_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    local_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))  # claimed, posted, empty
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    posted_at: Mapped[datetime | None]
    message_ts: Mapped[str | None] = mapped_column(String(32))
    late: Mapped[bool] = mapped_column(Boolean, default=False)


class DigestItem(Base):
    __tablename__ = "digest_items"
    __table_args__ = (
        UniqueConstraint("channel", "article_id", name="uq_digest_items_channel_article"),
    )

    digest_run_id: Mapped[int] = mapped_column(
        ForeignKey("digest_runs.id", ondelete="CASCADE"), primary_key=True
    )
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))


class PostedMessage(Base):
    """A channel message the app posted (a share, a digest part), with the blocks it has now.

    Kept so that a review decision can update every card of the article in place.
    """

    __tablename__ = "posted_messages"
    __table_args__ = (UniqueConstraint("channel", "message_ts", name="uq_posted_messages_ts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    message_ts: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # share, digest
    text: Mapped[str]
    blocks: Mapped[list[Any]]
    posted_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A lease, not a lock: whoever holds it edits the message in Slack, one at
    # a time, without a database transaction open across the call.
    updating_by: Mapped[str | None] = mapped_column(String(255))
    updating_until: Mapped[datetime | None]


class PostedCard(Base):
    """An article's card inside a posted message, and the article version it shows."""

    __tablename__ = "posted_cards"

    posted_message_id: Mapped[int] = mapped_column(
        ForeignKey("posted_messages.id", ondelete="CASCADE"), primary_key=True
    )
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), primary_key=True, index=True)
    shown_version: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class PendingPost(Base):
    """A message about to be posted (a share): written before the Slack call, removed after.

    One left behind means the process stopped during the call: Slack may or
    may not have the message, and no ts is known to update it by.
    """

    __tablename__ = "pending_posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str]
    blocks: Mapped[list[Any]]
    # {article id: article version} of the cards in the message, as rendered.
    cards: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class HandledRequest(Base):
    """Keys of Slack requests already acted on, so a retry does nothing twice."""

    __tablename__ = "handled_requests"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    handled_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- follows (issue 11) ---------------------------------------------------------------


class Follow(Base):
    """A channel's follow of a `/news` query. Removed follows are kept, for `newsbot audit`.

    `number` is the N of `/news unfollow N`: per channel, never reused. `source`
    is "user" (a `/news follow`) or "config" (set from configuration, which
    users cannot unfollow). `cards` counts the cards it has posted.
    """

    __tablename__ = "follows"
    __table_args__ = (
        UniqueConstraint("channel", "number", name="uq_follows_channel_number"),
        Index("ix_follows_active", "removed_at", "channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    number: Mapped[int] = mapped_column(Integer)
    query: Mapped[str]
    source: Mapped[str] = mapped_column(String(16), default="user")
    created_by: Mapped[str] = mapped_column(String(32))
    created_by_name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_by: Mapped[str | None] = mapped_column(String(32))
    removed_by_name: Mapped[str | None] = mapped_column(String(255))
    removed_at: Mapped[datetime | None]
    cards: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class FollowClaim(Base):
    """One card per channel and article, ever: the row is claimed before the card is posted.

    status: "pending" (found, waiting to be posted), "claimed" (a poster took it
    and is calling Slack; one left so with no `message_ts` may be in the
    channel, and is never posted again), "posted", "summarized" (listed or
    counted in the summary message `message_ts` instead), "released" (Slack
    refused or could not be reached, at `claimed_at`: the next index run makes
    it pending again), "dropped" (no follow of the channel matched the article
    when its turn came: follows removed, the article cooled, rejected...),
    "missing" (its article was missing then), "expired" (released for more
    than a day). Dropped, missing and expired claims never reached the
    channel: the article matching again (a missing one: its file coming back
    and matching) makes them pending again.
    """

    __tablename__ = "follow_claims"
    __table_args__ = (
        UniqueConstraint("channel", "article_id", name="uq_follow_claims_channel_article"),
        Index("ix_follow_claims_status", "status", "channel"),
        Index("ix_follow_claims_recent", "channel", "claimed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    # The ids of the channel's follows that matched, for the line naming their queries.
    follow_ids: Mapped[list[Any]]
    status: Mapped[str] = mapped_column(String(16))
    run: Mapped[str] = mapped_column(String(64))  # the index run (or decision) that found it
    found_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    claimed_at: Mapped[datetime | None]
    posted_at: Mapped[datetime | None]
    message_ts: Mapped[str | None] = mapped_column(String(32))


class FollowExtra(Base):
    """Articles one index run found for a channel beyond those it kept as claims: a count.

    The run keeps the hottest few per channel (more than a burst and a summary
    can show); the rest are only counted in the summary ("and 240 more").
    """

    __tablename__ = "follow_extras"
    __table_args__ = (Index("ix_follow_extras_status", "status", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    run: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer)
    follow_ids: Mapped[list[Any]]
    status: Mapped[str] = mapped_column(String(16))  # as FollowClaim: pending, summarized, ...
    found_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The summary message that counts them (migration 0008).
    message_ts: Mapped[str | None] = mapped_column(String(32))


class FollowChannel(Base):
    """A channel with follows: who posts its cards right now (a lease), and its last summary."""

    __tablename__ = "follow_channels"

    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    posting_by: Mapped[str | None] = mapped_column(String(255))
    posting_until: Mapped[datetime | None]
    summary_at: Mapped[datetime | None]
    summary_ts: Mapped[str | None] = mapped_column(String(32))


# --- editorial workflow (issue 12) ----------------------------------------------------

#: The states of a scheduled publication that still wait for their moment (or a reviewer).
SCHEDULE_ACTIVE = ("pending", "waiting", "running")
_ACTIVE_SQL = text("status IN ('pending', 'waiting', 'running')")


class ScheduledPublication(Base):
    """A "Publish at…": who asked for which article, at what moment, for which file content.

    status: pending (until its time), waiting (its time came, a second reviewer
    has not approved), running (claimed by the job that publishes it), then
    published, cancelled or failed (`reason` says why). An article has at most
    one active (pending, waiting or running) schedule.
    """

    __tablename__ = "scheduled_publications"
    __table_args__ = (
        Index("ix_scheduled_publications_due", "status", "due_at"),
        Index(
            "uq_scheduled_publications_active",
            "article_id",
            unique=True,
            sqlite_where=_ACTIVE_SQL,
            postgresql_where=_ACTIVE_SQL,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime]
    scheduled_by_id: Mapped[str] = mapped_column(String(32))
    scheduled_by_name: Mapped[str] = mapped_column(String(255))
    scheduled_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The card "Publish at…" was clicked on; None on App Home.
    channel_id: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    claimed_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("review_decisions.id"))
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None]
    closed_by_id: Mapped[str | None] = mapped_column(String(32))
    closed_by_name: Mapped[str | None] = mapped_column(String(255))
    # Telling the scheduler that it failed: None (nothing to tell), due, sending, sent.
    notice: Mapped[str | None] = mapped_column(String(16))


class Approval(Base):
    """A reviewer's Publish on an article that needs two, for one version of its file.

    Open until a decision ends it: the Publish it led to (`decision_id`), or a
    Reject or Unpublish (`voided_at`). Only open approvals of the file as it is
    now count.
    """

    __tablename__ = "approvals"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    reviewer_id: Mapped[str] = mapped_column(String(32))
    reviewer_name: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    approved_at: Mapped[datetime] = mapped_column(default=utcnow)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("review_decisions.id"))
    voided_at: Mapped[datetime | None]
    # The "Publish at…" that counted as this approval; cancelling it withdraws the approval.
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("scheduled_publications.id"))


class ReminderRun(Base):
    """One reminder per review channel and slot: the row is claimed before posting."""

    __tablename__ = "reminder_runs"
    __table_args__ = (UniqueConstraint("channel", "slot", name="uq_reminder_runs_channel_slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    slot: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))  # claimed, posted
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    posted_at: Mapped[datetime | None]
    message_ts: Mapped[str | None] = mapped_column(String(32))
    # The top-level reminder this one was threaded under; None for a top-level one.
    thread_ts: Mapped[str | None] = mapped_column(String(32))


class ReminderItem(Base):
    """A draft a reminder named: it is not named again within NEWSBOT_REMIND_HOURS."""

    __tablename__ = "reminder_items"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("reminder_runs.id", ondelete="CASCADE"), primary_key=True
    )
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), primary_key=True, index=True)


# --- several machines (issue 13) ------------------------------------------------------


class DecisionCommit(Base):
    """The git commit of a review decision that rewrote its article file, and where it is.

    `push_state`: "uncommitted" (the file is written, its commit is owed: the
    commit failed or was never made, and is retried before every pull),
    "local" (committed; newsbot does not push), "pending" (to be pushed: the
    remote could not be reached, or has not been tried yet), "pushed", or
    "dropped" (the article changed upstream before the push: the commit was
    dropped and the decision reverted). `commit_sha` follows the commit when
    it is replayed on top of the upstream before its push; while the commit
    is owed it holds the fingerprint of the file the reviewer saw (empty in
    rows owed before that was kept), and `owed_in` names the clone whose work
    tree holds the change (`storage.gitcommit.clone_id`).
    """

    __tablename__ = "decision_commits"
    __table_args__ = (Index("ix_decision_commits_push_state", "push_state"),)

    decision_id: Mapped[int] = mapped_column(
        ForeignKey("review_decisions.id", ondelete="CASCADE"), primary_key=True
    )
    commit_sha: Mapped[str] = mapped_column(String(64))
    push_state: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    owed_in: Mapped[str | None] = mapped_column(String(64))


# --- insights (issue 14) --------------------------------------------------------------


Index("ix_articles_first_indexed_at", Article.first_indexed_at)
# A period's decisions, with all the figures need from them, read from the index alone.
Index(
    "ix_review_decisions_period",
    ReviewDecision.status,
    ReviewDecision.decided_at,
    ReviewDecision.action,
    ReviewDecision.reviewer_id,
    ReviewDecision.first_decision,
    ReviewDecision.next_decided_at,
    ReviewDecision.article_indexed_at,
    ReviewDecision.id,
)
Index(
    "ix_article_topics_indexed",
    ArticleTopic.topic_id,
    ArticleTopic.first_indexed_at,
    ArticleTopic.heat,
)


class SearchLog(Base):
    """One `/news` search: its normalised text and how many articles it found, never who asked.

    Kept 90 days, for the weekly report's searches that found little.
    """

    __tablename__ = "search_log"
    __table_args__ = (Index("ix_search_log_searched_at", "searched_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    searched_at: Mapped[datetime] = mapped_column(default=utcnow)
    query: Mapped[str] = mapped_column(String(200))
    # Counted up to storage.searches.RESULTS_CAP: that value means "that many or more".
    results: Mapped[int] = mapped_column(Integer)


class ReportRun(Base):
    """One weekly report per channel and ISO week: the row is claimed before posting.

    status: "claimed" (the message is being posted, or a crash left it unknown),
    "message" (the message is out, the chart still to upload), "uploading" (the
    chart's first two steps, which share nothing: taken over after a lease), "sharing"
    (files.completeUploadExternal was called: maybe shared, never again), "posted",
    "given-back" (the message was refused or never reached Slack: owed, free to claim again).
    """

    __tablename__ = "report_runs"
    __table_args__ = (UniqueConstraint("channel", "week", name="uq_report_runs_channel_week"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    week: Mapped[date] = mapped_column(Date)  # the Monday of the report date's ISO week
    report_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    message_ts: Mapped[str | None] = mapped_column(String(32))
    file_id: Mapped[str | None] = mapped_column(String(32))
    posted_at: Mapped[datetime | None]
    late: Mapped[bool] = mapped_column(Boolean, default=False)
