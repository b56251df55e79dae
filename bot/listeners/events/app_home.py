"""App Home opened: publish the tab as it is now."""

from __future__ import annotations

from collections.abc import Callable

from slack_sdk import WebClient

from bot.deps import Deps
from bot.flows.home import publish_home


def handler(deps: Deps) -> Callable[..., None]:
    def app_home_opened(event: dict, client: WebClient) -> None:
        if event.get("tab", "home") == "home":
            publish_home(deps, client, event["user"])

    return app_home_opened
