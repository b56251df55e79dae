"""App Home: today's hottest articles, top topics, and for reviewers the queue size."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from slack_sdk import WebClient

from bot import render
from bot.deps import Deps
from storage.decisions import pending_count
from storage.search import hottest, topic_counts


def publish_home(deps: Deps, client: WebClient, user: str, *, notice: str | None = None) -> None:
    """Publish the user's App Home as it is now, with an optional line of news at the top."""
    reviewer = deps.reviewers.is_reviewer(user)
    with deps.db.Session() as session:
        articles = hottest(session, since=datetime.now(UTC) - timedelta(hours=24), limit=5)
        topics = topic_counts(session, limit=render.HOME_TOPICS)
        pending = pending_count(session) if reviewer else None
    view = render.app_home(
        hottest=articles,
        topics=topics,
        pending_reviews=pending,
        tz=deps.settings.timezone,
        notice=notice,
    )
    client.views_publish(user_id=user, view=view)
