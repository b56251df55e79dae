"""Share: post an article's card to the channel, naming who shared it."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import Ack, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import render
from bot.render.actions import parse_value
from bot.services import Services
from storage.search import get_article
from storage.tracking import record_message

INVITE = "invite me with `/invite @newsbot`, then share again."
CANNOT_POST = {
    "not_in_channel": f"I'm not in this channel yet: {INVITE}",
    "channel_not_found": f"I can't see this channel: {INVITE}",
    "is_archived": "This channel is archived, so I can't share into it.",
}


def handler(services: Services) -> Callable[..., None]:
    settings, db = services.settings, services.db

    def share(ack: Ack, action: dict, body: dict, client: WebClient, respond: Respond) -> None:
        ack()
        article_id = parse_value(action.get("value", "")).get("a")
        user = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id") or body["container"].get("channel_id")
        with db.Session() as session:
            article = get_article(session, article_id) if isinstance(article_id, int) else None
        if article is None:
            _tell(respond, "That article is no longer indexed.")
            return
        message = render.shared_message(article, shared_by=user, tz=settings.timezone)
        try:
            posted = client.chat_postMessage(
                channel=channel, text=message.text, blocks=message.blocks, unfurl_links=False
            )
        except SlackApiError as exc:
            error = exc.response.get("error", "")
            if error not in CANNOT_POST:
                raise
            _tell(respond, CANNOT_POST[error])
            return
        with db.WriteSession.begin() as session:
            record_message(
                session,
                channel=posted["channel"],
                message_ts=posted["ts"],
                kind="share",
                text=message.text,
                blocks=message.blocks,
                article_ids=[article.id],
            )

    return share


def _tell(respond: Respond, text: str) -> None:
    message = render.ephemeral_text(text)
    respond(
        text=message.text, blocks=message.blocks, response_type="ephemeral", replace_original=False
    )
