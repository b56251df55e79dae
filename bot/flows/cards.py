"""Posted cards kept up to date after decisions (shares, digests).

No database transaction is open while Slack is called: a card is edited under
a per-message lease, and what Slack now shows is recorded afterwards.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from http.client import HTTPException
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web import SlackResponse

from bot import render
from bot.deps import Deps
from bot.render import limits
from bot.render.replace import replace_card
from storage.db import Database
from storage.decisions import writer_id
from storage.models import Article, PostedMessage
from storage.tracking import (
    cards_behind,
    claim_update,
    forget_message,
    messages_behind,
    messages_showing,
    record_update,
    release_update,
)
from storage.types import ArticleView
from storage.views import views_of

log = logging.getLogger(__name__)

#: Any failure of a Web API call: Slack's answer, the client, the connection.
CALL_FAILED = (SlackApiError, SlackClientError, OSError, HTTPException)
# Edits of one message in a row before the lease is given back; later ones wait for
# the next decision on one of its articles, or the periodic catch-up.
_MAX_ROUNDS = 5
# Slack's answers for a message that can never be edited again: stop keeping it up to date.
_GONE = {"message_not_found", "channel_not_found", "cant_update_message", "is_archived"}
#: Kinds of posted message meant for reviewers (the review channel's): their cards keep
#: the buttons only reviewers get, such as Publish at….
REVIEWER_KINDS = frozenset({"review", "reminder", "schedule-notice"})


def api_host(client: WebClient) -> str:
    """The Web API's host and port, for a sentence about reaching it: never a whole URL,
    nor the credentials a proxy's URL may carry."""
    parts = urlsplit(client.base_url)
    host = parts.hostname or "the Slack API"
    try:
        return f"{host}:{parts.port}" if parts.port else host
    except ValueError:  # a port that is not a number
        return host


def failure_reason(exc: BaseException) -> str:
    """What went wrong with a call, in a few words (never a URL or a traceback)."""
    reason = exc.reason if isinstance(exc, URLError) else exc
    said = getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
    return " ".join(str(said).split())


def never_sent(exc: BaseException) -> bool:
    """Whether a failed Web API call certainly reached nobody.

    urllib wraps in URLError only what fails before the request is on the wire
    (a DNS failure, a refused connection, a TLS handshake); an HTTP error is an
    answer, and a timeout or a dropped connection after sending is raised bare
    and may have been acted on.
    """
    return isinstance(exc, URLError) and not isinstance(exc, HTTPError)


#: Slack's HTTP statuses that say it did not act on the call: try again later.
NOT_ACTED = (429, 503)


def not_acted(exc: BaseException) -> bool:
    """Whether a failed Web API call certainly changed nothing in Slack, so it may be made
    again: an error Slack named (a refusal), a 4xx, a 429 or a 503 (Slack did not take the
    request), or a failure before the request was sent (`never_sent`).

    A 500, 502 or 504 may come after Slack acted (a gateway timing out on a call Slack
    finished), as may a connection dropped after sending: the call may have posted.
    """
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        return status < 500 or status in NOT_ACTED
    return never_sent(exc)


def try_later(exc: BaseException) -> bool:
    """Whether a call that changed nothing failed for a reason a few minutes may cure
    (a 429, a 503, Slack out of reach), rather than a refusal that needs a fix."""
    if isinstance(exc, SlackApiError):
        return exc.response.status_code in NOT_ACTED or exc.response.get("error") == "ratelimited"
    return never_sent(exc)


def post_cards(
    client: WebClient, channel: str, message: render.Message, **extra: Any
) -> SlackResponse:
    """Post a message of ours that carries cards (a share, a digest, a follow card, a reminder,
    a notice); `extra` as chat.postMessage takes it (thread_ts).

    Slack's own link previews are off: the cards carry the images, which a preview would
    repeat. Failures are raised as they come (see CALL_FAILED and `never_sent`).
    """
    return client.chat_postMessage(
        channel=channel,
        text=message.text,
        blocks=message.blocks,
        unfurl_links=False,
        unfurl_media=False,
        **extra,
    )


def refresh_cards(deps: Deps, client: WebClient, article_id: int) -> set[tuple[str, str]]:
    """Bring every posted message showing the article up to date in Slack.

    Returns the (channel, ts) of those messages: each is edited by this call
    or by whoever holds its lease right now.
    """
    with deps.db.Session() as session:
        messages = [(m.id, m.channel, m.message_ts) for m in messages_showing(session, article_id)]
    for message_id, _channel, _ts in messages:
        refresh_message(deps.db, client, message_id, tz=deps.settings.timezone)
    return {(channel, ts) for _id, channel, ts in messages}


def refresh_behind(db: Database, client: WebClient, *, tz: ZoneInfo, days: int = 7) -> int:
    """Bring up to date the messages of the last `days` whose cards fell behind; how many.

    A crash between a decision and its chat.update, or a call that failed,
    leaves them so.
    """
    since = datetime.now(UTC) - timedelta(days=days)
    with db.Session() as session:
        behind = messages_behind(session, posted_since=since)
    for message_id in behind:
        refresh_message(db, client, message_id, tz=tz)
    return len(behind)


def refresh_message(db: Database, client: WebClient, message_id: int, *, tz: ZoneInfo) -> None:
    """Edit one posted message until none of its cards is behind its article, under its lease.

    Someone else holding the lease will see this change before giving it back.
    """
    holder = f"{writer_id()}:{threading.get_ident()}"
    with db.WriteSession.begin() as session:
        if not claim_update(session, message_id, holder):
            return
    done = False
    try:
        for _round in range(_MAX_ROUNDS):
            with db.Session() as session:
                behind = cards_behind(session, message_id)
                message = session.get(PostedMessage, message_id)
                if message is None:
                    return
                articles = [a for a in (session.get(Article, i) for i in behind) if a is not None]
                views = views_of(session, articles)
                channel, ts, text, blocks = (
                    message.channel,
                    message.message_ts,
                    message.text,
                    message.blocks,
                )
                reviewer = message.kind in REVIEWER_KINDS
            if not behind:
                with db.WriteSession.begin() as session:
                    done = release_update(session, message_id, holder, unless_behind=True)
                if done:
                    return
                continue
            for view in views:
                card = _card(view, blocks, tz, reviewer=reviewer)
                blocks = replace_card(blocks, view.id, card) or blocks
            try:
                client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
            except CALL_FAILED as exc:
                log.warning("could not update the cards in %s at %s: %s", channel, ts, _said(exc))
                if isinstance(exc, SlackApiError) and exc.response.get("error") in _GONE:
                    with db.WriteSession.begin() as session:
                        forget_message(session, message_id)
                    done = True
                return
            with db.WriteSession.begin() as session:
                record_update(session, message_id, blocks=blocks, shown=behind)
                done = release_update(session, message_id, holder, unless_behind=True)
            if done:
                return
    finally:
        if not done:
            with db.WriteSession.begin() as session:
                release_update(session, message_id, holder, unless_behind=False)


def _card(view: ArticleView, blocks: list[dict], tz: ZoneInfo, *, reviewer: bool) -> list[dict]:
    """The card as it is now: decided, or a draft with its buttons (if the message has room)."""
    card = render.article_card(view, tz=tz, review=True, reviewer=reviewer)
    rest = replace_card(blocks, view.id, []) or blocks
    if len(rest) + len(card) > limits.MESSAGE_BLOCKS:
        return render.decided_card(view, tz=tz)
    return card


def _said(exc: BaseException) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error", "error"))
    return type(exc).__name__
