"""The review queue, review decisions and the audit trail.

Functions take a Session and never commit; the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from storage.models import Article, ReviewDecision, utcnow
from storage.search import to_view, views_of
from storage.types import ArticleView, Decision
from storage.writeback import StaleFileError, WriteBackError, set_published

_WAITING = (
    Article.published.is_(False),
    Article.rejected.is_(False),
    Article.missing.is_(False),
)


def review_queue(
    session: Session, *, offset: int = 0, limit: int = 10
) -> tuple[list[ArticleView], bool]:
    """Drafts waiting for a decision, hottest first; and whether more follow."""
    rows = list(
        session.scalars(
            select(Article)
            .where(*_WAITING)
            .order_by(Article.heat.desc(), Article.published_at.desc(), Article.id.desc())
            .offset(offset)
            .limit(limit + 1)
        )
    )
    return views_of(session, rows[:limit]), len(rows) > limit


def pending_count(session: Session) -> int:
    """How many drafts wait for a decision."""
    return session.scalar(select(func.count()).select_from(Article).where(*_WAITING)) or 0


@dataclass(frozen=True, slots=True)
class AuditEntry:
    decided_at: datetime
    reviewer_id: str
    reviewer_name: str
    action: str
    title: str
    web_url: str
    old_value: str | None
    new_value: str | None
    channel_id: str | None
    message_ts: str | None


def decisions_since(session: Session, since: datetime) -> list[AuditEntry]:
    """Review decisions made since that moment, oldest first, with their article."""
    rows = session.execute(
        select(ReviewDecision, Article.title, Article.web_url)
        .join(Article, Article.id == ReviewDecision.article_id)
        .where(ReviewDecision.decided_at >= since)
        .order_by(ReviewDecision.decided_at, ReviewDecision.id)
    )
    return [
        AuditEntry(
            d.decided_at,
            d.reviewer_id,
            d.reviewer_name,
            d.action,
            title,
            url,
            d.old_value,
            d.new_value,
            d.channel_id,
            d.message_ts,
        )
        for d, title, url in rows
    ]


ACTIONS = {
    # action: (column to flip, value it must have, value it gets, whether the file changes)
    "publish": ("published", False, True, True),
    "unpublish": ("published", True, False, True),
    "reject": ("rejected", False, True, False),
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a review click did.

    status: "done" (this click decided), "already" (someone else's decision
    stands: `previous`), "stale" (the file changed since the card was shown),
    "missing" (no such article, or its file is gone), "failed" (the file
    could not be written: `problem` says why).
    """

    status: str
    article: ArticleView | None
    previous: Decision | None = None
    problem: str | None = None
    path: Path | None = None  # the article file, when this decision rewrote it


def decide(
    session: Session,
    *,
    article_id: int,
    action: str,
    fingerprint: str | None,
    reviewer_id: str,
    reviewer_name: str,
    root: Path,
    channel_id: str | None = None,
    message_ts: str | None = None,
) -> Outcome:
    """Apply one review decision exactly once, in the database and in the article file.

    A conditional UPDATE decides who wins: of any number of concurrent clicks
    (threads, processes, replicas sharing PostgreSQL) one changes the row and
    the rest find it already changed. The winner writes the file while its
    transaction still holds the row, then records the audit entry. The caller
    commits; if the file cannot be written, the caller must roll back.
    """
    column, before, after, touches_file = ACTIONS[action]
    conditions = [Article.id == article_id, getattr(Article, column).is_(before)]
    conditions.append(Article.missing.is_(False))
    if action != "reject":
        conditions.append(Article.rejected.is_(False))
    if touches_file and fingerprint is not None:
        conditions.append(Article.content_hash == fingerprint)
    won = session.execute(
        update(Article)
        .where(*conditions)
        .values({column: after, "version": Article.version + 1})
        .returning(Article.id)
    ).first()
    article = session.get(Article, article_id, populate_existing=True)
    if article is None:
        return Outcome("missing", None)
    if won is None:
        return _why_not(session, article, column, after, fingerprint)
    path = root / article.source_path if touches_file else None
    if path is not None:
        try:
            written = set_published(path, after, expected_fingerprint=article.content_hash)
        except StaleFileError:
            return Outcome("stale", to_view(article))
        except WriteBackError as exc:
            return Outcome("failed", to_view(article), problem=str(exc))
        article.content_hash = written.new_fingerprint
        article.size, article.mtime_ns = written.size, written.mtime_ns
    article.updated_at = utcnow()
    decision = ReviewDecision(
        article_id=article.id,
        action=action,
        reviewer_id=reviewer_id,
        reviewer_name=reviewer_name,
        old_value=_shown(before),
        new_value=_shown(after),
        channel_id=channel_id,
        message_ts=message_ts,
        decided_at=utcnow(),
    )
    session.add(decision)
    session.flush()
    return Outcome("done", views_of(session, [article])[0], path=path)


def _why_not(
    session: Session, article: Article, column: str, after: bool, fingerprint: str | None
) -> Outcome:
    view = views_of(session, [article])[0]
    if article.missing:
        return Outcome("missing", view)
    if getattr(article, column) is after or article.rejected:
        return Outcome("already", view, previous=view.decision)
    if fingerprint is not None and article.content_hash != fingerprint:
        return Outcome("stale", view)
    return Outcome("already", view, previous=view.decision)


def _shown(value: bool) -> str:
    return "true" if value else "false"
