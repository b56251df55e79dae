"""Publish / Reject / Unpublish buttons on draft cards, and paging the review queue."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from bot import render
from bot.listeners.events.app_home import publish_home
from bot.middleware import first_delivery
from bot.render import actions
from bot.render.notices import already_decided
from bot.render.replace import replace_card
from bot.review import Click, apply
from bot.services import Services
from storage.decisions import review_queue

ACTIONS = {
    actions.REVIEW_PUBLISH: "publish",
    actions.REVIEW_REJECT: "reject",
    actions.REVIEW_UNPUBLISH: "unpublish",
}
REVIEW_PAGE_SIZE = 10


def decision_handler(services: Services) -> Callable[..., None]:
    tz = services.settings.timezone

    def decide(ack: Ack, action: dict, body: dict, client: WebClient, respond: Respond) -> None:
        ack()
        if not first_delivery(services.db, body):
            return
        verb = ACTIONS[action["action_id"]]
        user = body["user"]
        if (body.get("container") or {}).get("type") == "view":
            # App Home has no response_url: the answer is the home tab, published again.
            respond = _home_responder(services, client, user["id"])
        if not services.reviewers.is_reviewer(user["id"]):
            _tell(respond, f"Only reviewers can {verb} articles. Nothing was changed.")
            return
        value = actions.parse_value(action.get("value", ""))
        if not isinstance(value.get("a"), int):
            _tell(respond, "That button is broken; run the search again for a fresh card.")
            return
        container = body.get("container") or {}
        click = Click(
            action=verb,
            article_id=value["a"],
            fingerprint=value.get("f") if isinstance(value.get("f"), str) else None,
            user_id=user["id"],
            user_name=user.get("name") or user.get("username") or user["id"],
            channel_id=(body.get("channel") or {}).get("id") or container.get("channel_id"),
            message_ts=container.get("message_ts"),
        )
        outcome, updated = apply(services, client, click)
        article = outcome.article
        if outcome.status == "done":
            assert article is not None
            if (click.channel_id, click.message_ts) not in updated:
                _refresh_clicked(body, respond, article.id, render.decided_card(article, tz=tz))
        elif outcome.status == "already":
            assert article is not None
            _say(respond, already_decided(outcome.previous, outcome.state))
            # The card as it is now: decided, or a draft again with its buttons.
            _refresh_clicked(
                body, respond, article.id, render.article_card(article, tz=tz, review=True)
            )
        elif outcome.status == "stale":
            assert article is not None
            fresh = render.article_card(article, tz=tz, review=True, reviewer=True)
            _refresh_clicked(body, respond, article.id, fresh)
            _tell(
                respond, "This article changed since the card was posted: here it is as it is now."
            )
        elif outcome.status == "missing":
            _tell(respond, "The article file is gone from the articles folder: nothing changed.")
        else:
            _tell(respond, f"Could not {verb} it: {outcome.problem}")

    return decide


def page_handler(services: Services) -> Callable[..., None]:
    def page(ack: Ack, action: dict, respond: Respond) -> None:
        ack()
        offset = actions.parse_value(action.get("value", "")).get("o")
        message = review_page(services, offset=max(0, offset) if isinstance(offset, int) else 0)
        respond(text=message.text, blocks=message.blocks, replace_original=True)

    return page


def review_page(services: Services, *, offset: int) -> render.Message:
    """A page of the drafts waiting for review, hottest first."""
    with services.db.Session() as session:
        drafts, has_more = review_queue(session, offset=offset, limit=REVIEW_PAGE_SIZE)
    return render.review_queue_message(
        drafts,
        now=datetime.now(UTC),
        offset=offset,
        has_more=has_more,
        tz=services.settings.timezone,
        page_size=REVIEW_PAGE_SIZE,
    )


def _home_responder(services: Services, client: WebClient, user: str) -> Callable[..., None]:
    """A stand-in for respond() on App Home: every answer re-publishes the tab."""

    def respond(text: str = "", **_: object) -> None:
        publish_home(services, client, user, notice=text or None)

    return respond


def _refresh_clicked(body: dict, respond: Respond, article_id: int, card: list[dict]) -> None:
    """Show the new state where the click happened, keeping the rest of that message."""
    message = body.get("message") or {}
    blocks = replace_card(message.get("blocks") or [], article_id, card)
    if blocks is not None:
        respond(text=message.get("text") or "", blocks=blocks, replace_original=True)
    else:
        # Slack leaves the blocks out of clicks on ephemeral messages: show the card anew.
        respond(text="", blocks=card, response_type="ephemeral", replace_original=False)


def _tell(respond: Respond, text: str) -> None:
    _say(respond, render.ephemeral_text(text))


def _say(respond: Respond, message: render.Message) -> None:
    respond(
        text=message.text, blocks=message.blocks, response_type="ephemeral", replace_original=False
    )
