"""Next / Previous on a page of `/news` results: the message is replaced in place."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import Ack, Respond

from bot.deps import Deps
from bot.flows.search import search_page
from bot.render.actions import parse_value, value_int, value_str


def handler(deps: Deps) -> Callable[..., None]:
    def page(ack: Ack, action: dict, body: dict, respond: Respond) -> None:
        ack()
        value = parse_value(action.get("value", ""))
        query, offset = value_str(value, "q") or "", value_int(value, "o")
        message = search_page(deps, query, offset=offset, user=body["user"]["id"])
        respond(text=message.text, blocks=message.blocks, replace_original=True)

    return page
