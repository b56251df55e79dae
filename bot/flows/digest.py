"""The daily digest: when it is due, what it holds, and posting it once per channel and day."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot import render
from bot.deps import Deps
from bot.flows.cards import (
    CALL_FAILED,
    api_host,
    failure_reason,
    not_acted,
    post_cards,
    try_later,
)
from bot.localtime import local_today, wall_time
from bot.settings import Settings
from storage.db import Database
from storage.digest import (
    claim_digest,
    find_run,
    mark_posted,
    plan_digest,
    release_claim,
)
from storage.tracking import record_message
from storage.types import DigestPlan

log = logging.getLogger(__name__)

# Posted this much after its time, a digest says "(posted late)".
LATE_AFTER = timedelta(minutes=10)
_CARD_BLOCK = re.compile(r"^card:(\d+)$")

# The setting an operator changes when Slack refuses the digest channel.
_SETTING = "NEWSBOT_DIGEST_CHANNEL (or --channel)"


class DigestError(Exception):
    """The digest was not posted (or may not have been); the message says why, in one sentence."""


class DigestUnreachable(DigestError):
    """Slack could not be reached (or rate-limited past waiting, or answered 503), so nothing
    was posted and the claim was given back, to be tried again in a few minutes."""


@dataclass(frozen=True)
class DigestResult:
    status: str  # "posted", "already-posted", "nothing-to-post", "preview"
    plan: DigestPlan
    messages: list[render.Message]
    channel: str
    message_ts: str | None = None
    late: bool = False


def today(settings: Settings, now: datetime | None = None) -> date:
    """The local date in NEWSBOT_TIMEZONE."""
    return local_today(settings.timezone, now)


def due_at(settings: Settings, local_date: date) -> datetime:
    """When the digest for that local date is due (NEWSBOT_DIGEST_TIME in NEWSBOT_TIMEZONE)."""
    return wall_time(local_date, settings.digest_time, settings.timezone)


def select_articles(
    settings: Settings, session: Session, *, channel: str, local_date: date
) -> DigestPlan:
    """The articles of that date's digest, with the size and heat the settings ask for."""
    return plan_digest(
        session,
        channel=channel,
        local_date=local_date,
        window_end=due_at(settings, local_date),
        size=settings.digest_size,
        min_heat=settings.digest_min_heat,
    )


def build(
    settings: Settings, db: Database, *, channel: str, local_date: date, late: bool = False
) -> tuple[DigestPlan, list[render.Message]]:
    """The digest for that date as it would be posted (selection and rendering)."""
    with db.Session() as session:
        plan = select_articles(settings, session, channel=channel, local_date=local_date)
    messages = render.digest_messages(
        local_date=local_date,
        articles=plan.articles,
        related_counts=plan.related_counts,
        late=late,
        tz=settings.timezone,
    )
    return plan, messages


def preview(deps: Deps, *, channel: str) -> list[render.Message]:
    """Today's digest as it would be posted (to NEWSBOT_DIGEST_CHANNEL, else `channel`)."""
    settings = deps.settings
    where = settings.digest_channel or channel
    _plan, messages = build(settings, deps.db, channel=where, local_date=today(settings))
    return messages


def post_digest(
    settings: Settings,
    db: Database,
    client: WebClient,
    *,
    channel: str,
    local_date: date,
    now: datetime | None = None,
) -> DigestResult:
    """Post the digest unless this channel already has the one for this date.

    The claim is taken in the database before posting, and given back when
    Slack refuses, or cannot be reached, rate-limits past waiting or answers
    503 (`DigestUnreachable`), so a later attempt can post. A retry after a 429
    is made by the client on the same request, which Slack did not accept: never
    twice. A connection lost after the request was sent, or a 500, 502 or 504
    (Slack may have acted), may have posted: the claim stays, and it is not
    posted again (at most once).
    """
    now = now or datetime.now(UTC)
    late = now - due_at(settings, local_date) > LATE_AFTER
    plan, messages = build(settings, db, channel=channel, local_date=local_date, late=late)
    with db.WriteSession.begin() as session:
        run = claim_digest(session, channel=channel, local_date=local_date, late=late)
        run_id = run.id if run else None
        existing = None if run else find_run(session, channel=channel, local_date=local_date)
        existing_ts = existing.message_ts if existing else None
    if run_id is None:
        log.info("digest for %s on %s was already posted (ts %s)", channel, local_date, existing_ts)
        return DigestResult("already-posted", plan, messages, channel, existing_ts)
    if not plan.articles:
        with db.WriteSession.begin() as session:
            release_claim(session, run_id)
        log.info(
            "no digest for %s on %s: no article with heat >= %d first published between %s and %s",
            channel,
            local_date,
            settings.digest_min_heat,
            plan.window_start,
            plan.window_end,
        )
        return DigestResult("nothing-to-post", plan, messages, channel)
    try:
        first = _post(client, channel, messages[0])
    except CALL_FAILED as exc:
        if not_acted(exc):
            with db.WriteSession.begin() as session:
                release_claim(session, run_id)
            if isinstance(exc, SlackApiError) and not try_later(exc):
                raise DigestError(
                    render.channel_refusal(exc.response, channel, setting=_SETTING)
                ) from None
            why = (
                f"Slack answered HTTP {exc.response.status_code}"
                if isinstance(exc, SlackApiError)
                else f"Slack could not be reached at {api_host(client)} ({failure_reason(exc)})"
            )
            raise DigestUnreachable(f"{why}, so nothing was posted to {channel}") from None
        said = (
            f"Slack answered HTTP {exc.response.status_code}"
            if isinstance(exc, SlackApiError)
            else f"the connection to Slack failed ({failure_reason(exc)})"
        )
        raise DigestError(
            f"{said} after the digest for {local_date} was sent, so it may be in {channel}: "
            "it is not posted again (see README, 'Exactly once')"
        ) from None
    posted = [(first, messages[0])]
    for reply in messages[1:]:
        try:
            posted.append((_post(client, channel, reply, thread_ts=first), reply))
        except CALL_FAILED as exc:
            # The channel post is out; posting it again would be worse than a short thread.
            why = (
                render.channel_refusal(exc.response, channel, setting=_SETTING)
                if isinstance(exc, SlackApiError)
                else failure_reason(exc)
            )
            log.error("digest thread reply in %s failed: %s", channel, why)
            break
    carried = [article_id for _ts, message in posted for article_id in card_ids(message)]
    with db.WriteSession.begin() as session:
        mark_posted(session, run_id, message_ts=first, article_ids=carried)
        for ts, message in posted:
            record_message(
                session,
                channel=channel,
                message_ts=ts,
                kind="digest",
                text=message.text,
                blocks=message.blocks,
                shown={i: plan.versions.get(i, 0) for i in card_ids(message)},
            )
    log.info("posted the digest for %s to %s (%d stories)", local_date, channel, len(carried))
    return DigestResult("posted", plan, messages, channel, first, late)


def _post(client: WebClient, channel: str, message: render.Message, **extra: Any) -> str:
    return str(post_cards(client, channel, message, **extra)["ts"])


def card_ids(message: render.Message) -> list[int]:
    """The article ids whose cards a rendered message carries, in order."""
    found = (_CARD_BLOCK.match(block.get("block_id", "")) for block in message.blocks)
    return [int(m.group(1)) for m in found if m]
