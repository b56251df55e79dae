"""A pasted link: unfurl it when it is an indexed article."""

from __future__ import annotations

from collections.abc import Callable

from slack_sdk import WebClient

from bot.deps import Deps
from bot.flows.unfurl import unfurl
from bot.middleware import first_delivery


def handler(deps: Deps) -> Callable[..., None]:
    def link_shared(event: dict, body: dict, client: WebClient) -> None:
        # Events are acknowledged by Bolt before this runs.
        if first_delivery(deps.db, body):
            unfurl(deps, client, event)

    return link_shared
