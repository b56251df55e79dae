"""`/news` searches and their pages, and the topics list."""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from bot import render
from bot.deps import Deps
from storage.search import Query, QueryError, parse_query, search, topic_counts
from storage.searches import count_matches, record_search
from storage.types import SearchPage

log = logging.getLogger(__name__)

#: A search that was run: what was asked, and the page it answered.
Searched = tuple[Query, SearchPage]

PAGE_SIZE = 5
# Next/Previous carry the offset in the button: an edited one cannot ask for more.
MAX_OFFSET = 100_000


def search_page(deps: Deps, typed: str, *, offset: int, user: str) -> render.Message:
    """A page of results for what the user typed, or the reason it cannot be searched."""
    return _page(deps, typed, offset=offset, user=user)[0]


def first_page(deps: Deps, typed: str, *, user: str) -> tuple[render.Message, Searched | None]:
    """A new search's first page, and what to log about it (None when it could not be run)."""
    return _page(deps, typed, offset=0, user=user)


def _page(
    deps: Deps, typed: str, *, offset: int, user: str
) -> tuple[render.Message, Searched | None]:
    try:
        query = parse_query(typed, tz=deps.settings.timezone)
    except QueryError as exc:
        return render.ephemeral_text(f"{exc}. Type /news help for the filters."), None
    with deps.db.Session() as session:
        page = search(session, query, offset=min(max(0, offset), MAX_OFFSET), limit=PAGE_SIZE)
    reviewer = deps.reviewers.is_reviewer(user)
    message = render.results_message(page, tz=deps.settings.timezone, reviewer=reviewer)
    return message, (query, page)


def log_search(deps: Deps, searched: Searched) -> None:
    """Log a search (its text and number of results, not who asked), after it was answered.

    A busy or failing database loses the line, never the answer: it was sent already.
    """
    query, page = searched
    try:
        if page.has_more:  # the page shows only the first few: count the rest
            with deps.db.Session() as session:
                results = count_matches(session, query)
        else:
            results = page.offset + len(page.articles)
        with deps.db.WriteSession.begin() as session:
            record_search(session, query, results)
    except SQLAlchemyError as exc:
        log.warning("a search was not logged: the database failed (%s)", type(exc).__name__)


def topics(deps: Deps) -> render.Message:
    """Every topic with its number of articles."""
    with deps.db.Session() as session:
        return render.topics_message(topic_counts(session))
