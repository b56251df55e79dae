"""Slash commands; manifest.yaml declares exactly these."""

from collections.abc import Callable

from slack_bolt import App

from bot.deps import Deps
from bot.listeners.commands import news

ROUTES: dict[str, Callable[[Deps], Callable[..., None]]] = {"/news": news.handler}
COMMANDS = tuple(ROUTES)


def register(app: App, deps: Deps) -> None:
    for command, make in ROUTES.items():
        app.command(command)(make(deps))
