"""Modal submissions, routed by the view's callback_id (bot/render/actions.py names them)."""

from collections.abc import Callable

from slack_bolt import App

from bot.deps import Deps
from bot.listeners.views import publish_at
from bot.render import actions

ROUTES: dict[str, Callable[[Deps], Callable[..., None]]] = {
    actions.PUBLISH_AT_VIEW: publish_at.handler,
}


def register(app: App, deps: Deps) -> None:
    for callback_id, make in ROUTES.items():
        app.view(callback_id)(make(deps))
