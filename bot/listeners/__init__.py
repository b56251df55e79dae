"""Listeners grouped by Slack surface, each package routing from one table.

A listener parses the payload, calls one flow (bot/flows) and replies; it never
imports another listener.
"""

from slack_bolt import App

from bot.deps import Deps
from bot.listeners import actions, commands, events, views


def register(app: App, deps: Deps) -> None:
    commands.register(app, deps)
    actions.register(app, deps)
    events.register(app, deps)
    views.register(app, deps)
