"""Publish at… (opens the modal) and Cancel (a scheduled publication) on cards."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from bot import render
from bot.deps import Deps
from bot.flows import answer, schedule
from bot.middleware import first_delivery
from bot.render import actions


def _place(body: dict) -> schedule.Place:
    container = body.get("container") or {}
    if answer.on_home(body):
        return schedule.Place()
    return schedule.Place(
        channel_id=(body.get("channel") or {}).get("id") or container.get("channel_id"),
        message_ts=container.get("message_ts"),
        response_url=body.get("response_url"),
    )


def publish_at_handler(deps: Deps) -> Callable[..., None]:
    # Opening a modal changes nothing, so a retry needs no claim: the trigger_id
    # lives three seconds, and every write before views.open would eat into them.
    def publish_at(ack: Ack, action: dict, body: dict, client: WebClient, respond: Respond) -> None:
        ack()
        reply = answer.replier(deps, client, body, respond)
        button = answer.reviewers_button(deps, body, action, reply, "schedule")
        if button is None:
            return
        article_id, value = button
        said = schedule.open_modal(
            deps,
            client,
            trigger_id=body["trigger_id"],
            article_id=article_id,
            fingerprint=actions.value_str(value, "f"),
            place=_place(body),
        )
        if said is not None and said.notice is not None:
            answer.say(reply, said.notice)
        # On App Home the tab, published again with the notice, shows the card as it is.
        if said is not None and said.card is not None and not answer.on_home(body):
            answer.show_card(body, reply, article_id, said.card)

    return publish_at


def cancel_handler(deps: Deps) -> Callable[..., None]:
    def cancel(ack: Ack, action: dict, body: dict, client: WebClient, respond: Respond) -> None:
        ack()
        if not first_delivery(deps.db, body):
            return
        reply = answer.replier(deps, client, body, respond)
        user = body["user"]
        button = answer.reviewers_button(
            deps, body, action, reply, "cancel scheduled publications of"
        )
        if button is None:
            return
        article_id, value = button
        schedule_id = actions.value_int(value, "s", default=-1)
        if schedule_id < 0:
            answer.tell(reply, render.BROKEN_BUTTON)
            return
        place = _place(body)
        result, updated = schedule.cancel(
            deps,
            client,
            article_id=article_id,
            schedule_id=schedule_id,
            user_id=user["id"],
            user_name=user.get("name") or user.get("username") or user["id"],
            place=place,
        )
        answer.say(reply, render.cancel_reply(result))
        clicked = (place.channel_id, place.message_ts)
        if result.article is not None and clicked not in updated and not answer.on_home(body):
            card = render.article_card(
                result.article, tz=deps.settings.timezone, review=True, reviewer=True
            )
            answer.show_card(body, reply, article_id, card)

    return cancel
