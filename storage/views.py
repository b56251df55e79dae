"""Articles as the Slack surface and the CLI see them: plain `ArticleView`s, with their
latest review decision. Functions take a Session first and never commit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Article, DecisionCommit, ReviewDecision
from storage.types import ArticleView, Decision, Image, RelatedItem


def views_of(session: Session, articles: Iterable[Article]) -> list[ArticleView]:
    """ArticleViews for ORM rows, with each one's latest review decision."""
    articles = list(articles)
    decisions = latest_decisions(session, [a.id for a in articles])
    return [to_view(a, decisions.get(a.id)) for a in articles]


def latest_decisions(session: Session, article_ids: Sequence[int]) -> dict[int, Decision]:
    """The most recent review decision for each of these articles that has one.

    A decision abandoned by a crash never took effect, and one reverted was
    undone: neither is shown.
    """
    if not article_ids:
        return {}
    rows = session.execute(
        select(ReviewDecision, DecisionCommit.push_state)
        .outerjoin(DecisionCommit, DecisionCommit.decision_id == ReviewDecision.id)
        .where(
            ReviewDecision.article_id.in_(article_ids),
            ReviewDecision.status.not_in(("abandoned", "reverted")),
        )
        .order_by(ReviewDecision.decided_at, ReviewDecision.id)
    )
    return {
        r.article_id: Decision(
            r.action, r.reviewer_id, r.reviewer_name, r.decided_at, pushing=state == "pending"
        )
        for r, state in rows
    }


def to_view(article: Article, decision: Decision | None = None) -> ArticleView:
    """The plain-data view of one article row."""
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
