from slack_bolt import App

from bot.listeners.commands import news
from bot.services import Services

COMMANDS = ("/news",)


def register(app: App, services: Services) -> None:
    app.command("/news")(news.handler(services))
