from slack_bolt import App

from bot.listeners.actions import page, review, share
from bot.render import actions
from bot.services import Services


def register(app: App, services: Services) -> None:
    app.action(actions.NEWS_SHARE)(share.handler(services))
    app.action(actions.NEWS_PAGE)(page.handler(services))
    decide = review.decision_handler(services)
    for action_id in review.ACTIONS:
        app.action(action_id)(decide)
    app.action(actions.REVIEW_PAGE)(review.page_handler(services))
