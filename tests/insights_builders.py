"""Articles, decisions and searches with known times, written straight into the database.

Topic links and decisions are inserted without their copy of the article's
first_indexed_at, as anything but the indexer would: the migration's triggers
must fill it.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from sqlalchemy import select

from storage.db import Database
from storage.models import Article, ArticleTopic, ReviewDecision, SearchLog, Topic

_ids = itertools.count(1)


def at(text: str) -> datetime:
    """`2026-11-16 10:00` as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def add_article(
    db: Database,
    indexed: str,
    *,
    heat: int = 0,
    topics: tuple[str, ...] = (),
    published: bool = False,
    rejected: bool = False,
    title: str | None = None,
) -> int:
    """An article first indexed at `indexed` (UTC), linked to its topics; its id."""
    n = next(_ids)
    with db.WriteSession.begin() as session:
        article = Article(
            web_url=f"https://news.example/{n}",
            title=title or f"Story {n}",
            excerpt="",
            heat=heat,
            published=published,
            rejected=rejected,
            published_at=at(indexed),
            topics=list(topics),
            source_path=f"{n}.md",
            size=1,
            mtime_ns=1,
            content_hash=f"h{n}",
            first_indexed_at=at(indexed),
            updated_at=at(indexed),
        )
        session.add(article)
        session.flush()
        for name in topics:
            topic = session.scalar(select(Topic).where(Topic.key == name.casefold()))
            if topic is None:
                topic = Topic(key=name.casefold(), name=name)
                session.add(topic)
                session.flush()
            session.add(ArticleTopic(article_id=article.id, topic_id=topic.id, heat=heat))
        return article.id


def decide(
    db: Database,
    article_id: int,
    action: str,
    when: str,
    reviewer: str = "U0RITA",
    name: str = "Rita",
    status: str = "done",
) -> None:
    """A review decision taken at `when` (UTC)."""
    with db.WriteSession.begin() as session:
        session.add(
            ReviewDecision(
                article_id=article_id,
                action=action,
                reviewer_id=reviewer,
                reviewer_name=name,
                old_value="false",
                new_value="true",
                decided_at=at(when),
                status=status,
            )
        )


def searched(db: Database, query: str, results: int, when: str) -> None:
    """A logged /news search."""
    with db.WriteSession.begin() as session:
        session.add(SearchLog(searched_at=at(when), query=query, results=results))
