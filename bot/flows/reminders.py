"""Reminders: drafts that waited longer than NEWSBOT_REMIND_HOURS, posted to the review channel
once per slot, outside quiet hours.

When: reminder slots start at the end of quiet hours each day (local midnight
without quiet hours) and follow every hour until quiet hours begin, so what fell
due during the night goes out when they end. `reminder_slot` and `draft_due` are
pure functions of the clock, the settings and the last reminders: a run at any
moment of a slot finds the same slot, in every replica.

What: a draft is due in a slot when it has waited longer than the interval by
the slot's start (waiting counts from when it was first indexed, or unpublished;
an approval does not stop it, a scheduled publication does) and no reminder
named it in the interval before. One message per slot lists the due drafts,
hottest first, each card with how long it waited and its buttons; it is threaded
under the previous reminder when there is one (the issue's rule), and the first
one after quiet hours is also sent to the channel, so the morning's list is seen.

Exactly once: the slot's row is claimed first (storage.reminders), and given
back when nothing is due or Slack refused or could not be reached, for the next run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import render
from bot.flows.cards import CALL_FAILED, never_sent, post_cards
from bot.localtime import QuietHours, wall_time
from bot.settings import Settings
from storage.db import Database
from storage.reminders import (
    candidates,
    claim_reminder,
    drafts,
    mark_posted,
    name_drafts,
    release_claim,
)
from storage.reminders import thread_of as reminder_thread
from storage.tracking import article_versions, record_message

log = logging.getLogger(__name__)

#: Reminder slots follow each other this far apart.
SLOT = timedelta(hours=1)
# Cards that fit one message (three blocks and a divider each), with some to spare.
_MOST_CARDS = 16


def window_start(now: datetime, *, quiet: QuietHours | None, tz: ZoneInfo) -> datetime | None:
    """When the span of time without quiet hours that `now` falls in began (in UTC): the last
    end of quiet hours, or local midnight without any. None inside quiet hours.

    Both come from `QuietHours`, so across a daylight-saving change the first slot
    is where quiet hours end, never a slot of the day before."""
    if quiet is not None:
        return None if quiet.span(now, tz) is not None else quiet.last_end(now, tz)
    local = now.astimezone(tz)
    for day in (local.date(), local.date() - timedelta(days=1)):
        start = wall_time(day, time(0), tz).astimezone(UTC)
        if start <= now:
            return start
    return None  # pragma: no cover - yesterday's midnight is always past


def reminder_slot(
    now: datetime, *, hours: int, quiet: QuietHours | None, tz: ZoneInfo
) -> datetime | None:
    """The reminder slot `now` falls in, as its start in UTC; None when reminders are off
    (`hours` 0) or `now` is inside quiet hours."""
    if hours <= 0:
        return None
    start = window_start(now, quiet=quiet, tz=tz)
    if start is None:
        return None
    return start + SLOT * ((now - start) // SLOT)


def draft_due(
    slot: datetime, *, waiting_since: datetime, last_reminded: datetime | None, hours: int
) -> bool:
    """Whether a draft goes into the reminder of `slot`: it has waited longer than `hours` by
    then, and no reminder named it within `hours` before (`last_reminded` is that
    reminder's slot)."""
    interval = timedelta(hours=hours)
    if slot - waiting_since <= interval:
        return False
    return last_reminded is None or slot - last_reminded >= interval


@dataclass(frozen=True)
class ReminderResult:
    """What a reminder run did: "posted", "already-posted" (this slot's is out), "nothing-due",
    "quiet" (inside quiet hours), "off", or "not-posted" (Slack refused or was unreachable;
    `error` says what, and a later run tries again)."""

    status: str
    slot: datetime | None = None
    article_ids: tuple[int, ...] = ()
    message_ts: str | None = None
    thread_ts: str | None = None
    error: str | None = None


def post_reminder(
    settings: Settings, db: Database, client: WebClient, *, now: datetime | None = None
) -> ReminderResult:
    """Post this slot's reminder to NEWSBOT_REVIEW_CHANNEL, unless it is out or nothing is due."""
    channel, hours, tz = settings.review_channel, settings.remind_hours, settings.timezone
    if channel is None or hours <= 0:
        return ReminderResult("off")
    now = now or datetime.now(UTC)
    slot = reminder_slot(now, hours=hours, quiet=settings.quiet_hours, tz=tz)
    if slot is None:
        return ReminderResult("quiet")
    interval = timedelta(hours=hours)
    with db.WriteSession.begin() as session:
        run_id = claim_reminder(session, channel=channel, slot=slot)
    if run_id is None:
        return ReminderResult("already-posted", slot)
    with db.Session() as session:
        found = candidates(
            session,
            channel=channel,
            waited_before=slot - interval,
            min_heat=settings.review_min_heat,
        )
        due = [
            c.article_id
            for c in found
            if draft_due(
                slot, waiting_since=c.waiting_since, last_reminded=c.last_reminded, hours=hours
            )
        ]
        versions = article_versions(session, due[:_MOST_CARDS])
        views = drafts(session, due[:_MOST_CARDS])
    if not due:
        with db.WriteSession.begin() as session:
            release_claim(session, run_id)
        return ReminderResult("nothing-due", slot)
    message, shown = render.reminder_message(views, total=len(due), hours=hours, now=now, tz=tz)
    since = window_start(now, quiet=settings.quiet_hours, tz=tz) or slot
    with db.WriteSession.begin() as session:
        name_drafts(session, run_id, shown)
        thread = reminder_thread(session, channel=channel)
        first_of_day = reminder_thread(session, channel=channel, since=since) is None
    # The first reply since quiet hours ended is also sent to the channel: seen there in
    # the morning, while every reminder stays in the one thread.
    extra: dict[str, Any] = {"thread_ts": thread}
    if thread is not None and first_of_day:
        extra["reply_broadcast"] = True
    try:
        posted = post_cards(client, channel, message, **extra)
    except CALL_FAILED as exc:
        refused = isinstance(exc, SlackApiError)
        if refused or never_sent(exc):
            with db.WriteSession.begin() as session:
                release_claim(session, run_id)
            why = (
                render.channel_refusal(exc.response, channel, setting="NEWSBOT_REVIEW_CHANNEL")
                if isinstance(exc, SlackApiError)
                else "Slack unreachable"
            )
            log.error("reminder for %s not posted (tried again at the next run): %s", slot, why)
            return ReminderResult("not-posted", slot, error=why)
        # Sent, then the connection failed: it may be in the channel, and at most once beats twice.
        log.error("reminder for %s may not have reached %s: %s", slot, channel, type(exc).__name__)
        return ReminderResult("not-posted", slot, tuple(shown), error=type(exc).__name__)
    with db.WriteSession.begin() as session:
        mark_posted(session, run_id, message_ts=posted["ts"], thread_ts=thread)
        record_message(
            session,
            channel=channel,
            message_ts=posted["ts"],
            kind="reminder",
            text=message.text,
            blocks=message.blocks,
            shown={i: versions.get(i, 0) for i in shown},
        )
    log.info("reminded %s of %d draft(s) waiting (slot %s)", channel, len(shown), slot)
    return ReminderResult("posted", slot, tuple(shown), posted["ts"], thread)
