from slack_bolt import App

from bot.listeners.events import app_home, link_shared
from bot.services import Services

EVENTS = ("link_shared", "app_home_opened")


def register(app: App, services: Services) -> None:
    app.event("link_shared")(link_shared.handler(services))
    app.event("app_home_opened")(app_home.handler(services))
