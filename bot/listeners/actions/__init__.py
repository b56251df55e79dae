"""Button clicks, routed by action_id (bot/render/actions.py names them)."""

from collections.abc import Callable

from slack_bolt import App

from bot.deps import Deps
from bot.listeners.actions import follows, page, review, schedule, share
from bot.render import actions

ROUTES: dict[str, Callable[[Deps], Callable[..., None]]] = {
    actions.NEWS_SHARE: share.handler,
    actions.NEWS_PAGE: page.handler,
    actions.REVIEW_PUBLISH: review.decision_handler,
    actions.REVIEW_REJECT: review.decision_handler,
    actions.REVIEW_UNPUBLISH: review.decision_handler,
    actions.REVIEW_PAGE: review.page_handler,
    actions.REVIEW_PUBLISH_AT: schedule.publish_at_handler,
    actions.REVIEW_CANCEL_SCHEDULE: schedule.cancel_handler,
    actions.FOLLOW_UNFOLLOW: follows.unfollow_handler,
}


def register(app: App, deps: Deps) -> None:
    for action_id, make in ROUTES.items():
        app.action(action_id)(make(deps))
