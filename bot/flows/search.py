"""`/news` searches and their pages, and the topics list."""

from __future__ import annotations

from bot import render
from bot.deps import Deps
from storage.search import QueryError, parse_query, search, topic_counts

PAGE_SIZE = 5
# Next/Previous carry the offset in the button: an edited one cannot ask for more.
MAX_OFFSET = 100_000


def search_page(deps: Deps, typed: str, *, offset: int, user: str) -> render.Message:
    """A page of results for what the user typed, or the reason it cannot be searched."""
    try:
        query = parse_query(typed, tz=deps.settings.timezone)
    except QueryError as exc:
        return render.ephemeral_text(f"{exc}. Type /news help for the filters.")
    with deps.db.Session() as session:
        page = search(session, query, offset=min(max(0, offset), MAX_OFFSET), limit=PAGE_SIZE)
    reviewer = deps.reviewers.is_reviewer(user)
    return render.results_message(page, tz=deps.settings.timezone, reviewer=reviewer)


def topics(deps: Deps) -> render.Message:
    """Every topic with its number of articles."""
    with deps.db.Session() as session:
        return render.topics_message(topic_counts(session))
