"""Publish / Reject / Unpublish buttons on cards, and paging the review queue."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from bot import render
from bot.deps import Deps
from bot.flows import answer
from bot.flows.review import Click, apply, review_page
from bot.middleware import first_delivery
from bot.render import actions

VERBS = {
    actions.REVIEW_PUBLISH: "publish",
    actions.REVIEW_REJECT: "reject",
    actions.REVIEW_UNPUBLISH: "unpublish",
}


def decision_handler(deps: Deps) -> Callable[..., None]:
    def decide(ack: Ack, action: dict, body: dict, client: WebClient, respond: Respond) -> None:
        ack()
        if not first_delivery(deps.db, body):
            return
        verb = VERBS[action["action_id"]]
        user = body["user"]
        container = body.get("container") or {}
        if container.get("type") == "view":
            # App Home has no response_url: the answer is the home tab, published again.
            respond = answer.home_responder(deps, client, user["id"])
        if not deps.reviewers.is_reviewer(user["id"]):
            answer.say(respond, render.not_a_reviewer(verb))
            return
        value = actions.parse_value(action.get("value", ""))
        if not isinstance(value.get("a"), int):
            answer.tell(respond, render.BROKEN_BUTTON)
            return
        click = Click(
            action=verb,
            article_id=value["a"],
            fingerprint=value.get("f") if isinstance(value.get("f"), str) else None,
            user_id=user["id"],
            user_name=user.get("name") or user.get("username") or user["id"],
            channel_id=(body.get("channel") or {}).get("id") or container.get("channel_id"),
            message_ts=container.get("message_ts"),
        )
        outcome, updated = apply(deps, client, click)
        reply = render.decision_reply(
            outcome,
            verb=verb,
            tz=deps.settings.timezone,
            clicked_card_updated=(click.channel_id, click.message_ts) in updated,
        )
        if reply.notice is not None:
            answer.say(respond, reply.notice)
        if reply.card is not None:
            answer.show_card(body, respond, click.article_id, reply.card)

    return decide


def page_handler(deps: Deps) -> Callable[..., None]:
    def page(ack: Ack, action: dict, respond: Respond) -> None:
        ack()
        offset = actions.parse_value(action.get("value", "")).get("o")
        message = review_page(deps, offset=max(0, offset) if isinstance(offset, int) else 0)
        respond(text=message.text, blocks=message.blocks, replace_original=True)

    return page
