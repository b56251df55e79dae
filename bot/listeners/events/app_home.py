"""App Home: today's hottest articles, top topics, and for reviewers the queue size."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from slack_sdk import WebClient

from bot import render
from bot.services import Services
from storage.decisions import pending_count
from storage.search import hottest, topic_counts

HOME_TOPICS = 15


def handler(services: Services) -> Callable[..., None]:
    def app_home_opened(event: dict, client: WebClient) -> None:
        if event.get("tab", "home") == "home":
            publish_home(services, client, event["user"])

    return app_home_opened


def publish_home(
    services: Services, client: WebClient, user: str, *, notice: str | None = None
) -> None:
    """Publish the user's App Home as it is now, with an optional line of news at the top."""
    reviewer = services.reviewers.is_reviewer(user)
    with services.db.Session() as session:
        articles = hottest(session, since=datetime.now(UTC) - timedelta(hours=24), limit=5)
        topics = topic_counts(session, limit=HOME_TOPICS)
        pending = pending_count(session) if reviewer else None
    view = render.app_home(
        hottest=articles,
        topics=topics,
        pending_reviews=pending,
        tz=services.settings.timezone,
        notice=notice,
    )
    client.views_publish(user_id=user, view=view)
