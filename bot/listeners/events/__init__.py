"""Events API events, routed by type; manifest.yaml subscribes to exactly these."""

from collections.abc import Callable

from slack_bolt import App

from bot.deps import Deps
from bot.listeners.events import app_home, link_shared

ROUTES: dict[str, Callable[[Deps], Callable[..., None]]] = {
    "link_shared": link_shared.handler,
    "app_home_opened": app_home.handler,
}
EVENTS = tuple(ROUTES)


def register(app: App, deps: Deps) -> None:
    for event, make in ROUTES.items():
        app.event(event)(make(deps))
