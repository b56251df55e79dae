"""Next / Previous on a page of `/news` results: the message is replaced in place."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import Ack, Respond

from bot.deps import Deps
from bot.flows.search import search_page
from bot.render.actions import parse_value


def handler(deps: Deps) -> Callable[..., None]:
    def page(ack: Ack, action: dict, body: dict, respond: Respond) -> None:
        ack()
        value = parse_value(action.get("value", ""))
        offset = value.get("o") if isinstance(value.get("o"), int) else 0
        query = value.get("q") if isinstance(value.get("q"), str) else ""
        message = search_page(deps, query, offset=offset, user=body["user"]["id"])
        respond(text=message.text, blocks=message.blocks, replace_original=True)

    return page
