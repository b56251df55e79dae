"""Articles as the Slack surface and the CLI see them: plain `ArticleView`s, with their
latest review decision. Functions take a Session first and never commit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import (
    SCHEDULE_ACTIVE,
    Approval,
    Article,
    DecisionCommit,
    ReviewDecision,
    ScheduledPublication,
)
from storage.types import Approval as ApprovalView
from storage.types import ArticleView, Decision, Image, RelatedItem
from storage.types import Schedule as ScheduleView

#: The decisions that change an article's state; the audit trail holds others too
#: (approvals, schedules), which a card does not show as its decision.
STATE_ACTIONS = ("publish", "reject", "unpublish")


def views_of(session: Session, articles: Iterable[Article]) -> list[ArticleView]:
    """ArticleViews for ORM rows, with each one's latest review decision, open approvals
    and the scheduled publication a card shows."""
    articles = list(articles)
    ids = [a.id for a in articles]
    decisions = _latest_decision_rows(session, ids)
    drafts = [a for a in articles if not a.published]
    approvals = _open_approvals(session, drafts)
    schedules = _latest_schedules(session, ids)
    views = []
    for article in articles:
        row, pushing = decisions.get(article.id, (None, False))
        views.append(
            to_view(
                article,
                _decision(row, pushing) if row is not None else None,
                approvals=approvals.get(article.id, ()),
                schedule=_shown_schedule(article, schedules.get(article.id), row),
            )
        )
    return views


def latest_decisions(session: Session, article_ids: Sequence[int]) -> dict[int, Decision]:
    """The most recent review decision for each of these articles that has one.

    A decision abandoned by a crash never took effect, and one reverted was
    undone: neither is shown.
    """
    rows = _latest_decision_rows(session, article_ids)
    return {i: _decision(row, pushing) for i, (row, pushing) in rows.items()}


def _latest_decision_rows(
    session: Session, article_ids: Sequence[int]
) -> dict[int, tuple[ReviewDecision, bool]]:
    """Each article's latest decision that took effect, and whether its commit is being pushed."""
    if not article_ids:
        return {}
    rows = session.execute(
        select(ReviewDecision, DecisionCommit.push_state)
        .outerjoin(DecisionCommit, DecisionCommit.decision_id == ReviewDecision.id)
        .where(
            ReviewDecision.article_id.in_(article_ids),
            ReviewDecision.status.not_in(("abandoned", "reverted")),
            ReviewDecision.action.in_(STATE_ACTIONS),
        )
        .order_by(ReviewDecision.decided_at, ReviewDecision.id)
    )
    # "uncommitted": its commit is owed, then pushed (storage.decisions.UNCOMMITTED).
    return {r.article_id: (r, state in ("pending", "uncommitted")) for r, state in rows}


def _decision(row: ReviewDecision, pushing: bool = False) -> Decision:
    return Decision(row.action, row.reviewer_id, row.reviewer_name, row.decided_at, pushing)


def _open_approvals(
    session: Session, drafts: Sequence[Article]
) -> dict[int, tuple[ApprovalView, ...]]:
    """Open approvals of each draft's file as it is now, one per reviewer, oldest first."""
    if not drafts:
        return {}
    fingerprints = {a.id: a.content_hash for a in drafts}
    rows = session.scalars(
        select(Approval)
        .where(
            Approval.article_id.in_(list(fingerprints)),
            Approval.decision_id.is_(None),
            Approval.voided_at.is_(None),
        )
        .order_by(Approval.id)
    )
    found: dict[int, dict[str, ApprovalView]] = {}
    for row in rows:
        if row.fingerprint == fingerprints[row.article_id]:
            mine = found.setdefault(row.article_id, {})
            mine.setdefault(
                row.reviewer_id, ApprovalView(row.reviewer_id, row.reviewer_name, row.approved_at)
            )
    return {i: tuple(by.values()) for i, by in found.items()}


def _latest_schedules(
    session: Session, article_ids: Sequence[int]
) -> dict[int, ScheduledPublication]:
    if not article_ids:
        return {}
    latest = (
        select(func.max(ScheduledPublication.id))
        .where(ScheduledPublication.article_id.in_(article_ids))
        .group_by(ScheduledPublication.article_id)
    )
    rows = session.scalars(
        select(ScheduledPublication).where(ScheduledPublication.id.in_(latest.scalar_subquery()))
    )
    return {r.article_id: r for r in rows}


def _shown_schedule(
    article: Article, row: ScheduledPublication | None, decision: ReviewDecision | None
) -> ScheduleView | None:
    """The scheduled publication a card mentions: one still to come, the one that published
    the article, or one that failed since the last decision. Cancelled ones are not shown."""
    if row is None:
        return None
    if row.status in SCHEDULE_ACTIVE:
        shown = True
    elif row.status == "published":
        shown = article.published and decision is not None and decision.id == row.decision_id
    elif row.status == "failed":
        finished = row.finished_at or row.scheduled_at
        shown = not article.published and (decision is None or decision.decided_at <= finished)
    else:
        shown = False
    if not shown:
        return None
    return ScheduleView(
        id=row.id,
        due_at=row.due_at,
        by_id=row.scheduled_by_id,
        by_name=row.scheduled_by_name,
        status=row.status,
        late=row.late,
        reason=row.reason,
    )


def to_view(
    article: Article,
    decision: Decision | None = None,
    *,
    approvals: tuple[ApprovalView, ...] = (),
    schedule: ScheduleView | None = None,
) -> ArticleView:
    """The plain-data view of one article row."""
    waiting_since = None
    if not article.published:
        # A draft waits from when it was first indexed, or from the decision that
        # made it a draft again (an Unpublish).
        waiting_since = article.first_indexed_at
        if decision is not None and (waiting_since is None or decision.decided_at > waiting_since):
            waiting_since = decision.decided_at
    return ArticleView(
        id=article.id,
        web_url=article.web_url,
        title=article.title,
        excerpt=article.excerpt or "",
        amp_web_url=article.amp_web_url,
        published_at=article.published_at,
        provider_name=article.provider_name,
        provider_domain=article.provider_domain,
        topics=tuple(article.topics or ()),
        heat=article.heat,
        quality=article.quality,
        published=article.published,
        images=tuple(_images(article.images)),
        related=tuple(_related(article.related)),
        type=article.type,
        category=article.category,
        fingerprint=article.content_hash,
        decision=decision,
        extra=dict(article.extra or {}),
        waiting_since=waiting_since,
        approvals=approvals,
        schedule=schedule,
    )


def _images(items: Iterable[dict]) -> Iterable[Image]:
    for item in items or ():
        url = item.get("url")
        if isinstance(url, str) and url:
            yield Image(
                url=url,
                width=_int_or_none(item.get("width")),
                height=_int_or_none(item.get("height")),
                title=item.get("title") if isinstance(item.get("title"), str) else None,
            )


def _related(items: Iterable[dict]) -> Iterable[RelatedItem]:
    for item in items or ():
        title, url = item.get("title"), item.get("webUrl")
        if isinstance(title, str) and isinstance(url, str):
            provider = item.get("provider")
            name = provider.get("name") if isinstance(provider, dict) else None
            yield RelatedItem(title=title, web_url=url, provider_name=name)


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
