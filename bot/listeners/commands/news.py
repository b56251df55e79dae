"""`/news`: help, topics, the review queue, today's digest preview, follows, and search."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from slack_bolt import Ack, Respond

from bot import render
from bot.deps import Deps
from bot.flows import digest, follows, review, schedule, search, stats

Answer = Callable[[Deps, dict, str], list[render.Message]]


@dataclass(frozen=True)
class Subcommand:
    """`/news WORD [TEXT]`: `answer(deps, command, text)`; `takes_text` when TEXT may follow."""

    answer: Answer
    takes_text: bool = False


def _help(deps: Deps, command: dict, text: str) -> list[render.Message]:
    return [render.help_message()]


SUBCOMMANDS: dict[str, Subcommand] = {
    "help": Subcommand(_help),
    "?": Subcommand(_help),
    "topics": Subcommand(lambda deps, command, text: [search.topics(deps)]),
    "review": Subcommand(lambda deps, command, text: [review.review_page(deps, offset=0)]),
    "digest": Subcommand(
        lambda deps, command, text: digest.preview(deps, channel=command["channel_id"])
    ),
    # --- follows (issue 11)
    # The follow checks the channel with conversations.info, through the app's client.
    "follow": Subcommand(
        lambda deps, command, text: [follows.follow(deps, deps.client, command, text)],
        takes_text=True,
    ),
    "follows": Subcommand(
        lambda deps, command, text: [follows.channel_follows(deps, command["channel_id"])]
    ),
    "unfollow": Subcommand(
        lambda deps, command, text: [follows.unfollow(deps, command, text)], takes_text=True
    ),
    # --- editorial workflow (issue 12)
    "scheduled": Subcommand(
        lambda deps, command, text: [schedule.scheduled_page(deps, user=command["user_id"])]
    ),
    # --- insights (issue 14)
    "stats": Subcommand(
        lambda deps, command, text: [stats.stats_reply(deps, text)], takes_text=True
    ),
}


def handler(deps: Deps) -> Callable[..., None]:
    def news(ack: Ack, command: dict, respond: Respond) -> None:
        ack()
        typed = " ".join((command.get("text") or "").split())
        word, _, rest = typed.partition(" ")
        sub = SUBCOMMANDS.get(word.lower())
        searched = None
        if not typed:
            messages = _help(deps, command, "")
        elif sub is not None and (sub.takes_text or not rest):
            messages = sub.answer(deps, command, rest)
        else:  # anything else is a search: `/news ai heat>=50`, `/news topics of the day`
            first, searched = search.first_page(deps, typed, user=command["user_id"])
            messages = [first]
        for message in messages:
            respond(text=message.text, blocks=message.blocks, response_type="ephemeral")
        if searched is not None:  # after the answer: the log never delays it
            search.log_search(deps, searched)

    return news
