"""The daily digest's data: which articles, and the claim that makes it exactly once.

A digest run is a row keyed by (channel, local date). Whoever inserts it posts;
everyone else (a second process, a replica, a restart) sees the row and does not.
"""

from __future__ import annotations

import os
import socket
from datetime import date, datetime, timedelta

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from storage.db import insert_if_absent
from storage.models import Article, DigestItem, DigestRun, utcnow
from storage.types import DigestPlan
from storage.views import views_of

WINDOW = timedelta(hours=24)
PER_PROVIDER = 2
# Candidates fetched per round; the provider cap and related folding may skip some.
_BATCH = 200


def plan_digest(
    session: Session,
    *,
    channel: str,
    local_date: date,
    window_end: datetime,
    size: int,
    min_heat: int,
) -> DigestPlan:
    """The hottest articles first published in the 24 hours before `window_end`.

    At least `min_heat`, at most `size`, at most two per provider domain, none
    that an earlier digest of this channel already carried, and an article whose
    related items are also candidates takes them in as "+N related".
    """
    start = window_end - WINDOW
    already = exists().where(
        DigestItem.article_id == Article.id,
        DigestItem.channel == channel,
        DigestItem.digest_run_id.in_(
            select(DigestRun.id).where(
                DigestRun.channel == channel, DigestRun.local_date != local_date
            )
        ),
    )
    stmt = (
        select(Article)
        .where(
            Article.published_at >= start,
            Article.published_at < window_end,
            Article.heat >= min_heat,
            Article.missing.is_(False),
            Article.rejected.is_(False),
            ~already,
        )
        .order_by(Article.heat.desc(), Article.published_at.desc(), Article.id.desc())
    )
    chosen: list[Article] = []
    folded: dict[int, int] = {}
    per_provider: dict[str, int] = {}
    related_of: dict[str, int] = {}  # URL of a related item -> the chosen article carrying it
    offset = 0
    while len(chosen) < size:
        batch = list(session.scalars(stmt.offset(offset).limit(_BATCH)))
        offset += _BATCH
        for article in batch:
            host = related_of.get(article.web_url) or _carrier(article, chosen)
            if host is not None:
                folded[host] = folded.get(host, 0) + 1
                continue
            domain = article.provider_domain or ""
            if domain and per_provider.get(domain, 0) >= PER_PROVIDER:
                continue
            chosen.append(article)
            per_provider[domain] = per_provider.get(domain, 0) + 1
            for item in article.related or ():
                if isinstance(item, dict) and isinstance(item.get("webUrl"), str):
                    related_of.setdefault(item["webUrl"], article.id)
            if len(chosen) == size:
                break
        if len(batch) < _BATCH:
            break
    return DigestPlan(
        local_date=local_date,
        window_start=start,
        window_end=window_end,
        articles=tuple(views_of(session, chosen)),
        related_counts=folded,
        versions={a.id: a.version for a in chosen},
    )


def _carrier(article: Article, chosen: list[Article]) -> int | None:
    """A chosen article that this candidate lists as related (the link may run either way)."""
    urls = {item.get("webUrl") for item in article.related or () if isinstance(item, dict)}
    return next((c.id for c in chosen if c.web_url in urls), None)


def claim_digest(
    session: Session, *, channel: str, local_date: date, late: bool
) -> DigestRun | None:
    """Claim the run for (channel, date); None when someone already has it."""
    claimed = insert_if_absent(
        session,
        DigestRun,
        channel=channel,
        local_date=local_date,
        status="claimed",
        claimed_by=f"{socket.gethostname()}:{os.getpid()}",
        claimed_at=utcnow(),
        late=late,
    )
    return find_run(session, channel=channel, local_date=local_date) if claimed else None


def find_run(session: Session, *, channel: str, local_date: date) -> DigestRun | None:
    """The digest run for that channel and date, if any."""
    return session.scalars(
        select(DigestRun).where(DigestRun.channel == channel, DigestRun.local_date == local_date)
    ).first()


def mark_posted(session: Session, run_id: int, *, message_ts: str, article_ids: list[int]) -> None:
    """Record that Slack accepted the digest: its ts, and the articles it carried."""
    run = session.get(DigestRun, run_id)
    assert run is not None
    run.status, run.message_ts, run.posted_at = "posted", message_ts, utcnow()
    for article_id in article_ids:
        session.add(DigestItem(digest_run_id=run_id, article_id=article_id, channel=run.channel))


def release_claim(session: Session, run_id: int) -> None:
    """Give the claim back (Slack refused, or nothing to post) so a later run may post."""
    session.execute(delete(DigestRun).where(DigestRun.id == run_id, DigestRun.status == "claimed"))
