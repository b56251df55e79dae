"""Share: post an article's card to the channel, naming who shared it.

The post is written down before Slack is called and confirmed after, so a
decision can update its card; no database transaction is open during the call.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import render
from bot.deps import Deps
from bot.flows.cards import CALL_FAILED, never_sent, post_cards, refresh_message
from storage.models import Article
from storage.tracking import add_pending_post, cards_behind, confirm_post, drop_pending_post
from storage.views import views_of


def post_share(
    deps: Deps, client: WebClient, *, article_id: int, user: str, channel: str
) -> str | None:
    """Post the article's card to the channel, naming who shared it.

    Returns None when posted, or what to tell the user (the bot is not in the
    channel, the article is gone). A process that stops during the call leaves
    the post pending (see `storage.tracking.forget_pending_posts`); other
    failures of the call are raised.
    """
    db, tz = deps.db, deps.settings.timezone
    with db.WriteSession.begin() as session:
        article = session.get(Article, article_id)
        if article is None:
            return render.NOT_INDEXED
        shown = {article.id: article.version}
        message = render.shared_message(views_of(session, [article])[0], shared_by=user, tz=tz)
        pending = add_pending_post(
            session,
            channel=channel,
            kind="share",
            text=message.text,
            blocks=message.blocks,
            shown=shown,
        )
    try:
        posted = post_cards(client, channel, message)
    except CALL_FAILED as exc:
        if isinstance(exc, SlackApiError) or never_sent(exc):
            with db.WriteSession.begin() as session:
                drop_pending_post(session, pending)
        if isinstance(exc, SlackApiError):
            refusal = render.cannot_post(str(exc.response.get("error", "")))
            if refusal is not None:
                return refusal
        raise
    with db.WriteSession.begin() as session:
        message_id = confirm_post(
            session, pending, channel=posted["channel"], message_ts=posted["ts"]
        )
        behind = message_id is not None and bool(cards_behind(session, message_id))
    if behind and message_id is not None:  # decided while the card was on its way
        refresh_message(db, client, message_id, tz=tz)
    return None
