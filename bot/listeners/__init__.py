"""Listeners grouped by Slack surface; each package registers its own routes."""

from slack_bolt import App

from bot.listeners import actions, commands, events
from bot.services import Services


def register(app: App, services: Services) -> None:
    commands.register(app, services)
    actions.register(app, services)
    events.register(app, services)
