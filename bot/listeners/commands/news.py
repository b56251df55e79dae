"""`/news`: help, topics, the review queue, today's digest preview, and search."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import Ack, Respond

from bot import render
from bot.deps import Deps
from bot.flows import digest, review, search

# `/news WORD`: what each subcommand answers with; anything else is a search.
SUBCOMMANDS: dict[str, Callable[[Deps, dict], list[render.Message]]] = {
    "": lambda deps, command: [render.help_message()],
    "help": lambda deps, command: [render.help_message()],
    "?": lambda deps, command: [render.help_message()],
    "topics": lambda deps, command: [search.topics(deps)],
    "review": lambda deps, command: [review.review_page(deps, offset=0)],
    "digest": lambda deps, command: digest.preview(deps, channel=command["channel_id"]),
}


def handler(deps: Deps) -> Callable[..., None]:
    def news(ack: Ack, command: dict, respond: Respond) -> None:
        ack()
        typed = " ".join((command.get("text") or "").split())
        answer = SUBCOMMANDS.get(typed.lower())
        if answer is not None:
            messages = answer(deps, command)
        else:
            messages = [search.search_page(deps, typed, offset=0, user=command["user_id"])]
        for message in messages:
            respond(text=message.text, blocks=message.blocks, response_type="ephemeral")

    return news
