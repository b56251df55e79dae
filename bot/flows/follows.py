"""Channels that follow queries: `/news follow`, `/news follows`, `/news unfollow`, and
posting what index runs found, once per channel and article, without floods.

Index runs (any process: serve's periodic or watcher run, `newsbot index` from
cron) record their finds as claims (storage.follows). `post_pending` posts
them: per channel under a lease, so two replicas never post the same channel
at once; each card claimed by a conditional UPDATE before Slack is called (in
the transaction that looks again whether it is still wanted), and no
transaction open during the call. At most NEWSBOT_FOLLOW_BURST cards per
channel in any 10 minutes; the rest go into one summary message, and while a
summary of the last 10 minutes stands, further finds beyond the burst are
folded into it (chat.update): an import spread over several index runs posts
one summary. The review channel (followed from configuration) gets every find
as its card instead, at the burst rate.

Rate limits are not waited out by sleeping: Slack limits chat.postMessage per
channel, so a card or summary it answered with a 429 (not posted) is given back
(pending), the channel is held (its lease kept) until the Retry-After has
passed, and the poster goes on to the other channels; the scheduler's next
look after that posts it. A refusal or an unreachable Slack releases only what
was tried and holds the channel for a PAUSE. Only a request that may have
reached Slack (a dropped connection after sending, an HTTP 5xx answer) stays
claimed: at most once.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import re
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from sqlalchemy.exc import SQLAlchemyError

from bot import render
from bot.deps import Deps
from bot.flows.cards import CALL_FAILED, never_sent, post_cards, refresh_message
from bot.render.follows import PREVIEWS
from bot.settings import Settings
from storage.db import Database
from storage.decisions import writer_id
from storage.errors import DatabaseError
from storage.follows import (
    MAX_FOLLOWS,
    Contended,
    FollowError,
    active_follows,
    add_follow,
    channels_waiting,
    check_query,
    claim_channel,
    follow_queries,
    forget_summary,
    give_back,
    hold_channel,
    mark_posted,
    record_change,
    release_channel,
    release_claims,
    remove_follow,
    summary_posted,
    summary_refused,
    take_card,
    take_summary,
    waiting,
)
from storage.matching import article_states
from storage.models import Article, utcnow
from storage.scan import FolderError
from storage.search import newest, parse_query
from storage.tracking import cards_behind, record_message
from storage.views import views_of

log = logging.getLogger(__name__)

_NUMBER = re.compile(r"#?([0-9]{1,9})", re.ASCII)

# Slack's answers meaning the channel takes no post from us now.
_CHANNEL_REFUSALS = {
    "not_in_channel": "the bot is not in {channel}: invite it there with /invite @newsbot",
    "channel_not_found": (
        "channel {channel} was not found (deleted, or private without the bot): invite the bot "
        "with /invite @newsbot, or unfollow there"
    ),
    "is_archived": "channel {channel} is archived",
    "restricted_action": "the workspace does not let the bot post in {channel}",
    "ekm_access_denied": "the workspace's keys do not let the bot post in {channel}",
}
# ... and the ones meaning no post goes anywhere.
_TOKEN_REFUSALS = {"invalid_auth", "not_authed", "token_revoked", "account_inactive"}


# --- the commands ------------------------------------------------------------------


def follow(deps: Deps, client: WebClient, command: dict, typed: str) -> render.Message:
    """`/news follow QUERY`: follow it in this channel, and preview the newest matches."""
    channel = command["channel_id"]
    try:
        check_query(typed)
    except FollowError as exc:
        return render.ephemeral_text(str(exc))
    refusal = _cannot_post_here(client, channel)
    if refusal is not None:
        return render.ephemeral_text(refusal)
    user, name = command["user_id"], command.get("user_name") or command["user_id"]
    try:
        with deps.db.WriteSession.begin() as session:
            record = add_follow(session, channel=channel, typed=typed, user_id=user, user_name=name)
    except FollowError as exc:
        return render.ephemeral_text(str(exc))
    log.info(
        "%s (%s) followed %r in %s as follow %d", name, user, record.query, channel, record.number
    )
    with deps.db.Session() as session:
        previews = newest(session, parse_query(record.query), limit=PREVIEWS)
    return render.follow_added(
        record, previews=previews, burst=deps.settings.follow_burst, tz=deps.settings.timezone
    )


def channel_follows(deps: Deps, channel: str, *, notice: str | None = None) -> render.Message:
    """`/news follows`: this channel's follows, each with its Unfollow button."""
    with deps.db.Session() as session:
        records = active_follows(session, channel)
    return render.follows_list(records, limit=MAX_FOLLOWS, notice=notice)


def unfollow(deps: Deps, command: dict, typed: str) -> render.Message:
    """`/news unfollow N`: remove follow N of this channel; the follows left, listed."""
    match = _NUMBER.fullmatch(typed.strip())
    if match is None:
        return render.ephemeral_text(
            "Say which follow to remove by its number, as in /news unfollow 2 "
            "(/news follows lists them)."
        )
    user = command["user_id"]
    return unfollow_number(
        deps,
        channel=command["channel_id"],
        number=int(match.group(1)),
        user_id=user,
        user_name=command.get("user_name") or user,
    )


def unfollow_number(
    deps: Deps, *, channel: str, number: int, user_id: str, user_name: str
) -> render.Message:
    """Remove follow `number` of the channel (the command or the button); the list after it."""
    try:
        with deps.db.WriteSession.begin() as session:
            record = remove_follow(
                session, channel=channel, number=number, user_id=user_id, user_name=user_name
            )
    except FollowError as exc:
        return channel_follows(deps, channel, notice=str(exc))
    log.info(
        "%s (%s) removed follow %d (%r) in %s", user_name, user_id, number, record.query, channel
    )
    notice = f"Removed follow {number} ({record.query}): nothing more is posted for it."
    return channel_follows(deps, channel, notice=notice)


def _cannot_post_here(client: WebClient, channel: str) -> str | None:
    """Why follow cards could not be posted in this conversation, or None when they can."""
    if channel.startswith("D"):
        return render.cannot_follow("im")
    try:
        info = client.conversations_info(channel=channel)
    except SlackApiError as exc:
        return render.cannot_follow(str(exc.response.get("error", "")))
    except CALL_FAILED:
        return render.cannot_follow("unreachable")
    conversation = info.get("channel") or {}
    if conversation.get("is_im") or conversation.get("is_mpim"):
        return render.cannot_follow("im")
    if conversation.get("is_archived"):
        return render.cannot_follow("is_archived")
    if not conversation.get("is_member"):
        return render.cannot_follow("not_in_channel")
    return None


def decision_taken(db: Database, article_id: int, action: str) -> None:
    """After Publish or Unpublish: claims for the follows the article matches only now.

    The poster (the scheduler's, every few seconds) posts them: never from a
    listener, whose client retries dropped connections.
    """
    if action not in ("publish", "unpublish"):
        return
    try:
        with db.WriteSession.begin() as session:
            state = article_states(session, [article_id]).get(article_id)
            if state is not None:
                before = dataclasses.replace(state, published=not state.published)
                record_change(session, state, before)
    except SQLAlchemyError as exc:
        log.error(
            "the %s stands, but follows were not matched against it: the database failed (%s)",
            action,
            type(getattr(exc, "orig", None) or exc).__name__,
        )


# --- posting -------------------------------------------------------------------------

#: How long a channel rests after Slack refused a post there or could not be reached.
PAUSE = timedelta(minutes=1)
#: The longest Retry-After a channel is held for; its posts are tried again after it.
LONGEST_HOLD = timedelta(hours=1)
# Slack's answers to chat.update for a summary that can never be edited again.
_SUMMARY_GONE = {"message_not_found", "cant_update_message", "edit_window_closed"}


class _Held(Exception):
    """Nothing more is posted in this channel before `until`; with `stop`, nowhere (Slack is
    unreachable, refuses the token, or may have taken a post it did not confirm)."""

    def __init__(self, until: datetime | None, *, stop: bool = False) -> None:
        super().__init__(until)
        self.until = until
        self.stop = stop


@dataclasses.dataclass(slots=True)
class _Tally:
    posted: int = 0


def post_pending(
    settings: Settings, db: Database, client: WebClient, *, now: datetime | None = None
) -> int:
    """Post what waits for every channel; how many messages were posted or grown.

    One indexed query when nothing waits. Give it a client that does not
    retry dropped connections: a card is posted at most once. Never sleeps:
    a rate-limited channel is held until its Retry-After, and the other
    channels go on (the scheduler calls this every few seconds).
    """
    with db.Session() as session:
        channels = channels_waiting(session)
    if not channels:
        return 0
    poster = _waiting_out_nothing(client)
    tally = _Tally()
    for channel in channels:
        if not _post_channel(settings, db, client, poster, channel, tally, now=now):
            break
    return tally.posted


def _waiting_out_nothing(client: WebClient) -> WebClient:
    """The client without its rate-limit retries: a 429 holds the channel instead."""
    poster = copy.copy(client)
    poster.retry_handlers = [
        h for h in client.retry_handlers if not isinstance(h, RateLimitErrorRetryHandler)
    ]
    return poster


def _post_channel(
    settings: Settings,
    db: Database,
    client: WebClient,
    poster: WebClient,
    channel: str,
    tally: _Tally,
    *,
    now: datetime | None,
) -> bool:
    """Post what the channel has waiting, under its lease; False when posting should stop."""
    holder = f"{writer_id()}:{threading.get_ident()}"
    with db.WriteSession.begin() as session:
        if not claim_channel(session, channel, holder, now=now or utcnow()):
            return True  # another poster is at it, or the channel is held
    until, go_on = None, True
    try:
        _post_leased(settings, db, client, poster, channel, holder, tally, now=now)
    except _Held as held:
        until, go_on = held.until, not held.stop
    finally:
        with db.WriteSession.begin() as session:
            if until is None:
                release_channel(session, channel, holder)
            else:
                hold_channel(session, channel, holder, until=until)
    return go_on


def _post_leased(
    settings: Settings,
    db: Database,
    client: WebClient,
    poster: WebClient,
    channel: str,
    holder: str,
    tally: _Tally,
    *,
    now: datetime | None,
) -> None:
    """The burst's cards, hottest first; the rest into one summary (a new one, or the one of
    the last WINDOW grown), except in the review channel, where they wait for room.

    `now`: the clock's time unless a test gives one."""
    at = now or utcnow()
    with db.Session() as session:
        found = waiting(session, channel, now=at, burst=settings.follow_burst)
    claims = list(found.claims)
    room = found.room
    while claims and room:
        claim_id, article_id, _ids = claims.pop(0)
        if _post_card(settings, db, client, poster, channel, holder, claim_id, article_id, now):
            tally.posted += 1
            room -= 1
    if found.queue or not (claims or found.extras):
        return
    if found.summary_recently and found.summary_ts is None:
        return  # that summary's message is not known: the rest waits for the window to pass
    into = found.summary_ts if found.summary_recently else None
    if _post_summary(db, poster, channel, claims, found.extras, now=at, into=into):
        tally.posted += 1


def _retry_after(exc: BaseException) -> float | None:
    """The seconds Slack asks to wait when it rate-limited the call (so did not act on it)."""
    if not isinstance(exc, SlackApiError):
        return None
    response = exc.response
    if response.status_code != 429 and response.get("error") != "ratelimited":
        return None
    headers = {str(k).lower(): v for k, v in (response.headers or {}).items()}
    value = headers.get("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        seconds = max(1.0, float(str(value)))
    except ValueError:
        return 1.0
    return 1.0 if math.isnan(seconds) else seconds


def _limited(channel: str, seconds: float, now: datetime | None) -> _Held:
    """The hold for a channel Slack rate-limited (nothing was sent)."""
    wait = min(timedelta(seconds=min(seconds, 1e9)), LONGEST_HOLD)
    log.info(
        "Slack rate-limits posts to %s: nothing was sent; it is tried again in %.0f s, and "
        "other channels go on",
        channel,
        wait.total_seconds(),
    )
    return _Held((now or utcnow()) + wait)


def _maybe_sent(exc: BaseException) -> bool:
    """Whether Slack may have acted on a call that failed: the connection dropped after the
    request was sent, or an HTTP 5xx answer (Slack, or a proxy in front of it, may answer so
    after the message was posted)."""
    if isinstance(exc, SlackApiError):
        return exc.response.status_code >= 500
    return not never_sent(exc)


def _post_card(
    settings: Settings,
    db: Database,
    client: WebClient,
    poster: WebClient,
    channel: str,
    holder: str,
    claim_id: int,
    article_id: int,
    now: datetime | None,
) -> bool:
    """Claim, post and record one card; False when it was not posted (dropped, taken by
    another poster, or refused). Raises _Held, having given back the claim when Slack
    certainly did not post it."""
    tz = settings.timezone
    with db.WriteSession.begin() as session:
        follow_ids = take_card(session, claim_id, holder, now=utcnow())
        if follow_ids is None:
            return False
        article = session.get(Article, article_id)
        assert article is not None  # articles are never deleted
        version = article.version
        view = views_of(session, [article])[0]
        follows = follow_queries(session, follow_ids)
    review_channel = channel == settings.review_channel
    queries = [follows[i].query for i in follow_ids if i in follows]
    message = render.follow_card(view, queries=queries, tz=tz, review_channel=review_channel)
    try:
        posted = post_cards(poster, channel, message)
    except CALL_FAILED as exc:
        if (seconds := _retry_after(exc)) is not None:
            with db.WriteSession.begin() as session:
                give_back(session, claim_id, holder)
            raise _limited(channel, seconds, now) from None
        _failed(db, channel, exc, what="a follow card", claim_ids=[claim_id], now=now)
        return False
    with db.WriteSession.begin() as session:
        mark_posted(session, claim_id, message_ts=posted["ts"], follow_ids=follow_ids)
        message_id = record_message(
            session,
            channel=posted["channel"],
            message_ts=posted["ts"],
            kind="review" if review_channel else "follow",
            text=message.text,
            blocks=message.blocks,
            shown={article_id: version},
        )
        behind = bool(cards_behind(session, message_id))
    if behind:  # decided while the card was on its way
        refresh_message(db, client, message_id, tz=tz)
    return True


def _post_summary(
    db: Database,
    poster: WebClient,
    channel: str,
    claims: Sequence[tuple[int, int, list[int]]],
    extras: Sequence[tuple[int, int, list[int]]],
    *,
    now: datetime,
    into: str | None,
) -> bool:
    """One message for what the burst leaves: titles (hottest first, up to 20), then a count.

    `into`: the ts of the summary of the last WINDOW, which is edited to carry
    these too, rather than a second summary posted. Raises _Held, having given
    back what it took when Slack certainly did not take it.
    """
    try:
        with db.WriteSession.begin() as session:
            summary = take_summary(session, channel, claims, extras, now=now, into=into)
            if summary is None:
                return False  # none of it is wanted any more
            rows = [session.get(Article, i) for i in summary.listed]
            views = views_of(session, [a for a in rows if a is not None])
            follows = follow_queries(session, summary.follow_ids)
    except Contended:
        return False
    queries = [follows[i].query for i in summary.follow_ids if i in follows]
    message = render.follow_summary(views, more=summary.more, queries=queries)
    try:
        if into is None:
            posted = post_cards(poster, channel, message)
        else:
            poster.chat_update(channel=channel, ts=into, text=message.text, blocks=message.blocks)
    except CALL_FAILED as exc:
        if (seconds := _retry_after(exc)) is not None:
            with db.WriteSession.begin() as session:
                summary_refused(session, channel, summary, status="pending")
            raise _limited(channel, seconds, now) from None
        if not _maybe_sent(exc):
            with db.WriteSession.begin() as session:
                summary_refused(session, channel, summary)
                error = exc.response.get("error") if isinstance(exc, SlackApiError) else None
                if into is not None and error in _SUMMARY_GONE:
                    forget_summary(session, channel, into)
        _failed(db, channel, exc, what="a follow summary", claim_ids=[], now=now)
        return False
    if into is None:
        with db.WriteSession.begin() as session:
            summary_posted(session, channel, summary, posted["ts"])
    return True


def _failed(
    db: Database,
    channel: str,
    exc: BaseException,
    *,
    what: str,
    claim_ids: Sequence[int],
    now: datetime | None,
) -> None:
    """A post failed: release what Slack did not take (the next index run makes it pending
    again), and say so in one line. Only what was tried is released: the channel's other
    posts stay pending, and the channel rests for a PAUSE.

    Raises _Held when this channel takes no post now, or (stop) none does or it is unknown
    whether the post went out; returns when only this post was refused.
    """
    pause = (now or utcnow()) + PAUSE
    if _maybe_sent(exc):
        log.error(
            "%s for %s may have been posted though Slack did not confirm it (%s), so it is "
            "not posted again",
            what,
            channel,
            _failure_name(exc),
        )
        raise _Held(None, stop=True)
    with db.WriteSession.begin() as session:
        release_claims(session, claim_ids)
    if isinstance(exc, SlackApiError):
        error = str(exc.response.get("error", ""))
        if error in _CHANNEL_REFUSALS:
            why = _CHANNEL_REFUSALS[error].format(channel=channel)
            log.warning(
                "follow cards for %s are not posted: %s; they are tried again in a minute, "
                "and what was refused after the next index run",
                channel,
                why,
            )
            raise _Held(pause)
        log.error(
            "%s for %s was not posted: Slack refused it (%s); it is tried again after the next "
            "index run",
            what,
            channel,
            error or "no error given",
        )
        if error in _TOKEN_REFUSALS:
            raise _Held(pause, stop=True)
        return
    log.warning(
        "follow cards are not posted: Slack could not be reached (%s); they are tried again "
        "in a minute, and what was tried after the next index run",
        _failure_name(exc),
    )
    raise _Held(pause, stop=True)


def _failure_name(exc: BaseException) -> str:
    if isinstance(exc, SlackApiError):
        return f"HTTP {exc.response.status_code}"
    return type(getattr(exc, "reason", None) or exc).__name__


# --- the folder watch (NEWSBOT_WATCH) ----------------------------------------------------


def index_and_post(settings: Settings, db: Database, client: WebClient) -> None:
    """Index the folder (after any run in progress), then post what it found."""
    from storage.sync import sync

    try:
        report = sync(db.WriteSession, settings.articles_dir)
    except (FolderError, DatabaseError) as exc:
        log.error("watch: the index run did not complete: %s", exc)
        return
    for failure in report.failures:
        log.warning("index: %s", failure)
    log.info("indexed %s after a change: %s", settings.articles_dir, report.summary())
    post_pending(settings, db, client)


def start_watch(
    settings: Settings,
    db: Database,
    client: WebClient,
    *,
    on_ready: Callable[[], None] | None = None,
) -> Callable[[], None]:
    """Watch the articles folder on a thread of its own; the function that stops it."""
    stop = threading.Event()
    thread = threading.Thread(
        target=_watch,
        args=(settings, db, client, stop, on_ready),
        name="newsbot-watch",
        daemon=True,
    )
    thread.start()

    def stop_watch() -> None:
        stop.set()
        thread.join(timeout=10)

    return stop_watch


def _watch(
    settings: Settings,
    db: Database,
    client: WebClient,
    stop: threading.Event,
    on_ready: Callable[[], None] | None,
) -> None:
    from bot.watcher import article_changes

    def ready() -> None:
        log.info("watching %s: new and changed files are indexed at once", settings.articles_dir)
        if on_ready is not None:
            on_ready()

    try:
        for _batch in article_changes(settings.articles_dir, stop=stop, on_ready=ready):
            index_and_post(settings, db, client)
    except OSError as exc:
        log.error("not watching %s: %s", settings.articles_dir, exc)
