"""How a listener answers the person who clicked or typed: a line only they see, the
clicked card shown as it is now, or on App Home (which has no response_url) the tab
published again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient

from bot import render
from bot.deps import Deps
from bot.flows.home import publish_home


def tell(respond: Respond | Callable[..., Any], text: str) -> None:
    """One escaped line, only to the user."""
    say(respond, render.ephemeral_text(text))


def say(respond: Respond | Callable[..., Any], message: render.Message) -> None:
    """A message of our own, only to the user, beside the one they clicked in."""
    respond(
        text=message.text, blocks=message.blocks, response_type="ephemeral", replace_original=False
    )


def show_card(
    body: dict[str, Any], respond: Respond | Callable[..., Any], article_id: int, card: list[dict]
) -> None:
    """Show the article's new card where the click happened, keeping the rest of that message."""
    message = body.get("message") or {}
    blocks = render.replace_card(message.get("blocks") or [], article_id, card)
    if blocks is not None:
        respond(text=message.get("text") or "", blocks=blocks, replace_original=True)
    else:
        # Slack leaves the blocks out of clicks on ephemeral messages: show the card anew.
        respond(text="", blocks=card, response_type="ephemeral", replace_original=False)


def home_responder(deps: Deps, client: WebClient, user: str) -> Callable[..., None]:
    """A stand-in for respond() on App Home: every answer publishes the tab again."""

    def respond(text: str = "", **_: object) -> None:
        publish_home(deps, client, user, notice=text or None)

    return respond
