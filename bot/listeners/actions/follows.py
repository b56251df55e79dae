"""Unfollow buttons in `/news follows`."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import Ack, Respond

from bot import render
from bot.deps import Deps
from bot.flows import answer, follows
from bot.middleware import first_delivery
from bot.render import actions


def unfollow_handler(deps: Deps) -> Callable[..., None]:
    def unfollow(ack: Ack, action: dict, body: dict, respond: Respond) -> None:
        ack()
        if not first_delivery(deps.db, body):
            return
        value = actions.parse_value(action.get("value", ""))
        number = actions.value_int(value, "n", default=-1)
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
            "channel_id"
        )
        # The list was shown in one channel: its buttons act on that channel only.
        if number < 1 or channel is None or actions.value_str(value, "c") != channel:
            answer.tell(respond, render.BROKEN_FOLLOW_BUTTON)
            return
        user = body["user"]
        message = follows.unfollow_number(
            deps,
            channel=channel,
            number=number,
            user_id=user["id"],
            user_name=user.get("name") or user.get("username") or user["id"],
        )
        respond(text=message.text, blocks=message.blocks, replace_original=True)

    return unfollow
