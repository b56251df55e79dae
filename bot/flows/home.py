"""App Home: today's hottest articles, top topics, and for reviewers the review queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from slack_sdk import WebClient

from bot import render
from bot.deps import Deps
from bot.render.views import HOME_QUEUE_CARDS, HOME_SCHEDULED
from storage.editorial import queue_counts, scheduled, waiting_drafts
from storage.search import hottest, topic_counts


def publish_home(deps: Deps, client: WebClient, user: str, *, notice: str | None = None) -> None:
    """Publish the user's App Home as it is now, with an optional line of news at the top.

    Reviewers get the queue: drafts waiting (hottest first, with how long they
    waited and who approved them) and publications scheduled, with their buttons.
    """
    reviewer = deps.reviewers.is_reviewer(user)
    now = datetime.now(UTC)
    queue = None
    with deps.db.Session() as session:
        articles = hottest(session, since=now - timedelta(hours=24), limit=5)
        topics = topic_counts(session, limit=render.HOME_TOPICS)
        pending, going_out = queue_counts(session) if reviewer else (None, 0)
        if reviewer:
            drafts, drafts_total = waiting_drafts(session, limit=HOME_QUEUE_CARDS)
            ahead, ahead_total = scheduled(session, limit=HOME_SCHEDULED)
            queue = render.HomeQueue(drafts, drafts_total, ahead, ahead_total, now)
    view = render.app_home(
        hottest=articles,
        topics=topics,
        pending_reviews=pending,
        scheduled_reviews=going_out,
        tz=deps.settings.timezone,
        notice=notice,
        queue=queue,
    )
    client.views_publish(user_id=user, view=view)
