"""`/news`: help, topics, the review queue, today's digest preview, and search."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import Ack, Respond

from bot import render
from bot.digest import build, today
from bot.listeners.actions.review import review_page
from bot.services import Services
from storage.search import QueryError, parse_query, search, topic_counts

PAGE_SIZE = 5


def handler(services: Services) -> Callable[..., None]:
    settings, db = services.settings, services.db

    def news(ack: Ack, command: dict, respond: Respond) -> None:
        ack()
        typed = " ".join((command.get("text") or "").split())
        word = typed.lower()
        user = command["user_id"]
        if word in ("", "help", "?"):
            message = render.help_message()
        elif word == "topics":
            with db.Session() as session:
                message = render.topics_message(topic_counts(session))
        elif word == "review":
            message = review_page(services, offset=0)
        elif word == "digest":
            channel = settings.digest_channel or command["channel_id"]
            _plan, messages = build(settings, db, channel=channel, local_date=today(settings))
            for part in messages:
                respond(text=part.text, blocks=part.blocks, response_type="ephemeral")
            return
        else:
            message = search_page(services, typed, offset=0, user=user)
        respond(text=message.text, blocks=message.blocks, response_type="ephemeral")

    return news


def search_page(services: Services, typed: str, *, offset: int, user: str) -> render.Message:
    """A page of results for what the user typed, or the reason it cannot be searched."""
    try:
        query = parse_query(typed, tz=services.settings.timezone)
    except QueryError as exc:
        return render.ephemeral_text(f"{exc}. Type /news help for the filters.")
    with services.db.Session() as session:
        page = search(session, query, offset=offset, limit=PAGE_SIZE)
    reviewer = services.reviewers.is_reviewer(user)
    return render.results_message(page, tz=services.settings.timezone, reviewer=reviewer)
