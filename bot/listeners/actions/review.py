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
        user, container = body["user"], body.get("container") or {}
        reply = answer.replier(deps, client, body, respond)
        button = answer.reviewers_button(deps, body, action, reply, verb)
        if button is None:
            return
        article_id, value = button
        click = Click(
            action=verb,
            article_id=article_id,
            fingerprint=actions.value_str(value, "f"),
            user_id=user["id"],
            user_name=user.get("name") or user.get("username") or user["id"],
            channel_id=(body.get("channel") or {}).get("id") or container.get("channel_id"),
            message_ts=container.get("message_ts"),
        )
        outcome, updated = apply(deps, client, click)
        said = render.decision_reply(
            outcome,
            verb=verb,
            tz=deps.settings.timezone,
            clicked_card_updated=(click.channel_id, click.message_ts) in updated,
        )
        if said.notice is not None:
            answer.say(reply, said.notice)
        if said.card is not None:
            answer.show_card(body, reply, click.article_id, said.card)

    return decide


def page_handler(deps: Deps) -> Callable[..., None]:
    def page(ack: Ack, action: dict, respond: Respond) -> None:
        ack()
        offset = actions.value_int(actions.parse_value(action.get("value", "")), "o")
        message = review_page(deps, offset=max(0, offset))
        respond(text=message.text, blocks=message.blocks, replace_original=True)

    return page
