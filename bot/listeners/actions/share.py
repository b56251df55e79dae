"""Share: post an article's card to the channel, naming who shared it."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import Ack, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import render
from bot.middleware import first_delivery
from bot.posted import post_share
from bot.render.actions import parse_value
from bot.services import Services

INVITE = "invite me with `/invite @newsbot`, then share again."
CANNOT_POST = {
    "not_in_channel": f"I'm not in this channel yet: {INVITE}",
    "channel_not_found": f"I can't see this channel: {INVITE}",
    "is_archived": "This channel is archived, so I can't share into it.",
}


def handler(services: Services) -> Callable[..., None]:
    def share(ack: Ack, action: dict, body: dict, client: WebClient, respond: Respond) -> None:
        ack()
        if not first_delivery(services.db, body):
            return
        article_id = parse_value(action.get("value", "")).get("a")
        channel = (body.get("channel") or {}).get("id") or body["container"].get("channel_id")
        if not isinstance(article_id, int):
            _tell(respond, "That article is no longer indexed.")
            return
        try:
            refusal = post_share(
                services, client, article_id=article_id, user=body["user"]["id"], channel=channel
            )
        except SlackApiError as exc:
            error = exc.response.get("error", "")
            if error not in CANNOT_POST:
                raise
            refusal = CANNOT_POST[error]
        if refusal:
            _tell(respond, refusal)

    return share


def _tell(respond: Respond, text: str) -> None:
    message = render.ephemeral_text(text)
    respond(
        text=message.text, blocks=message.blocks, response_type="ephemeral", replace_original=False
    )
