"""Share: post an article's card to the channel, naming who shared it."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from bot import render
from bot.deps import Deps
from bot.flows import answer
from bot.flows.share import post_share
from bot.middleware import first_delivery
from bot.render.actions import parse_value, value_int


def handler(deps: Deps) -> Callable[..., None]:
    def share(ack: Ack, action: dict, body: dict, client: WebClient, respond: Respond) -> None:
        ack()
        if not first_delivery(deps.db, body):
            return
        article_id = value_int(parse_value(action.get("value", "")), "a", default=-1)
        channel = (body.get("channel") or {}).get("id") or body["container"].get("channel_id")
        if article_id < 0:
            answer.tell(respond, render.NOT_INDEXED)
            return
        refusal = post_share(
            deps, client, article_id=article_id, user=body["user"]["id"], channel=channel
        )
        if refusal:
            answer.tell(respond, refusal)

    return share
