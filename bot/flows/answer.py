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


def on_home(body: dict[str, Any]) -> bool:
    """Whether the click came from App Home (a view, with no response_url)."""
    return (body.get("container") or {}).get("type") == "view"


def replier(
    deps: Deps, client: WebClient, body: dict[str, Any], respond: Respond
) -> Callable[..., Any]:
    """Where to answer a click: its response_url, or on App Home the tab published again."""
    if on_home(body):
        return home_responder(deps, client, body["user"]["id"])
    return respond


def reviewers_button(
    deps: Deps, body: dict[str, Any], action: dict[str, Any], reply: Callable[..., Any], verb: str
) -> tuple[int, dict[str, Any]] | None:
    """The article id and the decoded value of a reviewer's button; None, once the user is
    told, when they are not a reviewer (`verb` says what they tried) or the button is broken."""
    if not deps.reviewers.is_reviewer(body["user"]["id"]):
        say(reply, render.not_a_reviewer(verb))
        return None
    value = render.actions.parse_value(action.get("value", ""))
    article_id = render.actions.value_int(value, "a", default=-1)
    if article_id < 0:
        tell(reply, render.BROKEN_BUTTON)
        return None
    return article_id, value


def home_responder(deps: Deps, client: WebClient, user: str) -> Callable[..., None]:
    """A stand-in for respond() on App Home: every answer publishes the tab again."""

    def respond(text: str = "", **_: object) -> None:
        publish_home(deps, client, user, notice=text or None)

    return respond
