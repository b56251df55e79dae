"""The log of `/news` searches: what was looked for and how much was found, never who asked.

Kept `KEEP` long, for the weekly report's content gaps: the searches that found
little, and how many drafts match their words now. Query functions take a
Session first and never commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select
from sqlalchemy.orm import Session

from storage.models import Article, SearchLog, utcnow
from storage.search import Query, QueryError, matching, parse_query
from storage.types import SearchGap

KEEP = timedelta(days=90)
#: Results are counted up to this many; the log holds this number for "this many or more".
RESULTS_CAP = 1000
#: A search with at most this many results found little: a content gap.
FEW = 2
QUERY_LIMIT = 200  # characters kept of a query (search_log.query)


def normalised(query: Query) -> str:
    """The query's canonical text (filters included), lower-cased, whitespace folded."""
    return " ".join(query.text.lower().split())[:QUERY_LIMIT]


def count_matches(session: Session, query: Query, *, cap: int = RESULTS_CAP) -> int:
    """How many articles the search finds, counted up to `cap`."""
    found = matching(session, query)
    if found is None:
        return 0
    limited = found.with_only_columns(Article.id).limit(cap).subquery()
    return int(session.scalar(select(func.count()).select_from(limited)) or 0)


def record_search(
    session: Session, query: Query, results: int, *, at: datetime | None = None
) -> None:
    """Log one search: its normalised text and its number of results (nothing about who)."""
    session.add(
        SearchLog(
            searched_at=at or utcnow(),
            query=normalised(query),
            results=min(max(results, 0), RESULTS_CAP),
        )
    )


def search_gaps(
    session: Session, start: datetime, end: datetime, *, limit: int = 10
) -> list[SearchGap]:
    """The searches of [start, end) that found at most FEW articles, most often made first,
    each with the drafts waiting now that match its words (filters left out)."""
    few = (
        SearchLog.searched_at >= start,
        SearchLog.searched_at < end,
        SearchLog.results <= FEW,
    )
    times = func.count()
    rows = session.execute(
        select(SearchLog.query, times, func.max(SearchLog.searched_at))
        .where(*few)
        .group_by(SearchLog.query)
        .order_by(times.desc(), func.max(SearchLog.searched_at).desc(), SearchLog.query)
        .limit(limit)
    ).all()
    gaps = []
    for text, searches, last in rows:
        results = session.scalar(
            select(SearchLog.results)
            .where(*few, SearchLog.query == text, SearchLog.searched_at == last)
            .limit(1)
        )
        drafts = drafts_matching(session, text)
        gaps.append(SearchGap(text, int(searches), int(results or 0), drafts))
    return gaps


def drafts_matching(session: Session, text: str) -> int:
    """Drafts waiting for review whose topic or words match the words of a logged search."""
    try:
        query = parse_query(text)
    except QueryError:  # a filter that made sense then (since:) may not now: words only
        query = Query(text=text, terms=text)
    if not query.terms:
        return 0
    words = Query(text=query.terms, terms=query.terms, published=False)
    found = matching(session, words)
    if found is None:
        return 0
    waiting = found.where(Article.rejected.is_(False)).with_only_columns(Article.id)
    limited = waiting.limit(RESULTS_CAP).subquery()
    return int(session.scalar(select(func.count()).select_from(limited)) or 0)


def forget_searches(session: Session, *, now: datetime | None = None) -> int:
    """Delete the searches older than KEEP; how many."""
    cutoff = (now or utcnow()) - KEEP
    done = session.execute(delete(SearchLog).where(SearchLog.searched_at < cutoff))
    return cast(CursorResult[Any], done).rowcount
