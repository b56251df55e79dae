"""Channels that follow queries: `/news follow`, `/news follows`, `/news unfollow`, and
posting what index runs found, once per channel and article, without floods.

Index runs (any process: serve's periodic or watcher run, `newsbot index` from
cron) record their finds as claims (storage.follows). `post_pending` posts
them: per channel under a lease, so two replicas never post the same channel
at once; each card claimed by a conditional UPDATE before Slack is called, and
no transaction open during the call. At most NEWSBOT_FOLLOW_BURST cards per
channel in any 10 minutes; the rest go into one summary message, and while a
summary of the last 10 minutes stands, further finds wait for room.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
from collections.abc import Callable, Sequence
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
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
    SUMMARY_TITLES,
    Contended,
    FollowError,
    active_follows,
    add_follow,
    channels_waiting,
    check_query,
    claim_channel,
    drop_extras,
    follow_queries,
    load_matcher,
    mark_posted,
    record_change,
    release_channel,
    release_claims,
    release_waiting,
    remove_follow,
    set_follows,
    set_status,
    summary_posted,
    summary_refused,
    take_claim,
    take_summary,
    waiting,
)
from storage.matching import article_states
from storage.models import Article, utcnow
from storage.scan import FolderError
from storage.search import newest, parse_query
from storage.tracking import cards_behind, record_message
from storage.types import FollowRecord
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


class _Stop(Exception):
    """Slack cannot take posts now (unreachable, rate-limited, or refusing the token)."""


class _ChannelClosed(Exception):
    """Slack takes no post in this channel now: what it had waiting waits for an index run."""


def post_pending(
    settings: Settings, db: Database, client: WebClient, *, now: datetime | None = None
) -> int:
    """Post what waits for every channel; how many messages were posted.

    One indexed query when nothing waits. Give it a client that does not
    retry dropped connections: a card is posted at most once.
    """
    with db.Session() as session:
        channels = channels_waiting(session)
    posted = 0
    for channel in channels:
        try:
            posted += _post_channel(settings, db, client, channel, now=now)
        except _Stop:
            break
    return posted


def _post_channel(
    settings: Settings, db: Database, client: WebClient, channel: str, *, now: datetime | None
) -> int:
    holder = f"{writer_id()}:{threading.get_ident()}"
    with db.WriteSession.begin() as session:
        if not claim_channel(session, channel, holder, now=now or utcnow()):
            return 0  # another poster is at it
    try:
        return _post_leased(settings, db, client, channel, holder, now=now)
    finally:
        with db.WriteSession.begin() as session:
            release_channel(session, channel, holder)


@dataclasses.dataclass(frozen=True, slots=True)
class _Card:
    claim_id: int
    article_id: int
    follow_ids: list[int]


def _post_leased(
    settings: Settings,
    db: Database,
    client: WebClient,
    channel: str,
    holder: str,
    *,
    now: datetime | None,
) -> int:
    now = now or utcnow()
    with db.Session() as session:
        found = waiting(session, channel, now=now)
        follows = follow_queries(
            session, {i for _c, _a, ids in (*found.claims, *found.extras) for i in ids}
        )
        matcher = load_matcher(session, channel)
        states = article_states(session, [a for _c, a, _ids in found.claims])
    cards, dropped = [], []
    for claim_id, article_id, follow_ids in found.claims:
        state = states.get(article_id)
        still = {f.id for f in matcher.matches(state)} if state is not None else set()
        named = [i for i in follow_ids if i in follows and i in still]
        if named:
            cards.append(_Card(claim_id, article_id, named))
        else:  # unfollowed, rejected, gone, or no longer matching
            dropped.append(claim_id)
    extras = [(i, n, [f for f in ids if f in follows]) for i, n, ids in found.extras]
    unfollowed = [i for i, _n, ids in extras if not ids]
    if dropped or unfollowed:
        with db.WriteSession.begin() as session:
            set_status(session, dropped, "dropped")
            drop_extras(session, unfollowed)
    extras = [e for e in extras if e[2]]
    room = max(0, settings.follow_burst - found.cards_recently)
    posted = 0
    try:
        for card in cards[:room]:
            if _post_card(settings, db, client, channel, holder, card, follows):
                posted += 1
        rest = cards[room:]
        if (rest or extras) and not found.summary_recently:
            posted += _post_summary(db, client, channel, rest, extras, follows, now=now)
    except _ChannelClosed:
        pass
    return posted


def _post_card(
    settings: Settings,
    db: Database,
    client: WebClient,
    channel: str,
    holder: str,
    card: _Card,
    follows: dict[int, FollowRecord],
) -> bool:
    """Claim, post and record one card; False when it was not posted."""
    tz = settings.timezone
    with db.WriteSession.begin() as session:
        if not take_claim(session, card.claim_id, holder, now=utcnow()):
            return False
        set_follows(session, card.claim_id, card.follow_ids)
        article = session.get(Article, card.article_id)
        assert article is not None  # articles are never deleted
        version = article.version
        view = views_of(session, [article])[0]
    review_channel = channel == settings.review_channel
    queries = [follows[i].query for i in card.follow_ids]
    message = render.follow_card(view, queries=queries, tz=tz, review_channel=review_channel)
    try:
        posted = post_cards(client, channel, message)
    except CALL_FAILED as exc:
        _failed(db, channel, exc, what="a follow card", claim_ids=[card.claim_id])
        return False
    with db.WriteSession.begin() as session:
        mark_posted(session, card.claim_id, message_ts=posted["ts"], follow_ids=card.follow_ids)
        message_id = record_message(
            session,
            channel=posted["channel"],
            message_ts=posted["ts"],
            kind="review" if review_channel else "follow",
            text=message.text,
            blocks=message.blocks,
            shown={card.article_id: version},
        )
        behind = bool(cards_behind(session, message_id))
    if behind:  # decided while the card was on its way
        refresh_message(db, client, message_id, tz=tz)
    return True


def _post_summary(
    db: Database,
    client: WebClient,
    channel: str,
    rest: Sequence[_Card],
    extras: Sequence[tuple[int, int, list[int]]],
    follows: dict[int, FollowRecord],
    *,
    now: datetime,
) -> int:
    """One message for what the burst leaves: titles (hottest first, up to 20), then a count."""
    listed = rest[:SUMMARY_TITLES]
    more = len(rest) - len(listed) + sum(n for _i, n, _ids in extras)
    claim_ids = [c.claim_id for c in rest]
    extra_ids = [i for i, _n, _ids in extras]
    try:
        with db.WriteSession.begin() as session:
            previous = take_summary(session, channel, claim_ids, extra_ids, now=now)
            rows = [session.get(Article, c.article_id) for c in listed]
            views = views_of(session, [a for a in rows if a is not None])
    except Contended:
        return 0
    ids = [i for c in rest for i in c.follow_ids] + [i for _e, _n, f in extras for i in f]
    message = render.follow_summary(
        views, more=more, queries=[follows[i].query for i in sorted(set(ids))]
    )
    try:
        posted = post_cards(client, channel, message)
    except CALL_FAILED as exc:
        if isinstance(exc, SlackApiError) or never_sent(exc):
            with db.WriteSession.begin() as session:
                summary_refused(session, channel, claim_ids, extra_ids, previous)
        _failed(db, channel, exc, what="a follow summary", claim_ids=[])
        return 0
    with db.WriteSession.begin() as session:
        summary_posted(session, channel, posted["ts"])
    return 1


def _failed(
    db: Database, channel: str, exc: BaseException, *, what: str, claim_ids: Sequence[int]
) -> None:
    """A post failed: give back what Slack did not take, and say so in one line.

    Raises _ChannelClosed when this channel takes no post now, _Stop when none
    does (or it is unknown whether the post went out); returns when only this
    post was refused.
    """
    if isinstance(exc, SlackApiError):
        error = str(exc.response.get("error", ""))
        with db.WriteSession.begin() as session:
            release_claims(session, claim_ids)
            if error in _CHANNEL_REFUSALS:
                release_waiting(session, channel)
            elif error in _TOKEN_REFUSALS or error == "ratelimited":
                release_waiting(session)
        if error in _CHANNEL_REFUSALS:
            why = _CHANNEL_REFUSALS[error].format(channel=channel)
            log.warning(
                "follow cards for %s are not posted: %s; they are tried again after the next "
                "index run",
                channel,
                why,
            )
            raise _ChannelClosed
        log.error(
            "%s for %s was not posted: Slack refused it (%s); it is tried again after the next "
            "index run",
            what,
            channel,
            error or "no error given",
        )
        if error in _TOKEN_REFUSALS or error == "ratelimited":
            raise _Stop
        return
    if never_sent(exc):
        with db.WriteSession.begin() as session:
            release_claims(session, claim_ids)
            release_waiting(session)
        log.warning(
            "follow cards are not posted: Slack could not be reached (%s); they are tried again "
            "after the next index run",
            type(getattr(exc, "reason", None) or exc).__name__,
        )
        raise _Stop
    log.error(
        "the connection to Slack failed after %s for %s was sent (%s), so it may be there: it is "
        "not posted again",
        what,
        channel,
        type(exc).__name__,
    )
    raise _Stop


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
