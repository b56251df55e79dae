"""Reminders of drafts that wait too long: who waits, and the claim that makes one reminder
per review channel and slot.

A reminder run is a row keyed by (channel, slot). Whoever inserts it posts (or,
with nothing due, gives it back); everyone else (a second process, a replica, a
restart) sees the row and does not. The drafts it names are written before it
is posted, so none is named again within the interval, even if the process
dies before it knows the message ts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from storage.db import insert_if_absent
from storage.decision_state import DONE, WAITING, writer_id
from storage.editorial import scheduled_ahead
from storage.models import (
    Article,
    ReminderItem,
    ReminderRun,
    ReviewDecision,
    utcnow,
)
from storage.types import ArticleView
from storage.views import STATE_ACTIONS, views_of


@dataclass(frozen=True, slots=True)
class Candidate:
    """A draft that may be due for a reminder: since when it waits, when it was last named."""

    article_id: int
    heat: int
    waiting_since: datetime
    last_reminded: datetime | None  # the slot of the last reminder that named it


def candidates(
    session: Session, *, channel: str, waited_before: datetime, min_heat: int
) -> list[Candidate]:
    """Drafts waiting for a decision since before `waited_before`, hottest first.

    A draft waits from when it was first indexed, or from the decision that
    made it a draft again (an Unpublish). Drafts scheduled to go out are left
    out; those whose scheduled time came and that wait for a second reviewer
    are in. `last_reminded` counts reminders of this channel only.
    """
    last_decision = (
        select(ReviewDecision.article_id, func.max(ReviewDecision.decided_at).label("at"))
        .where(ReviewDecision.status == DONE, ReviewDecision.action.in_(STATE_ACTIONS))
        .group_by(ReviewDecision.article_id)
        .subquery()
    )
    last_reminded = (
        select(ReminderItem.article_id, func.max(ReminderRun.slot).label("slot"))
        .join(ReminderRun, ReminderRun.id == ReminderItem.run_id)
        .where(ReminderRun.channel == channel)
        .group_by(ReminderItem.article_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Article.id,
            Article.heat,
            Article.first_indexed_at,
            last_decision.c.at,
            last_reminded.c.slot,
        )
        .outerjoin(last_decision, last_decision.c.article_id == Article.id)
        .outerjoin(last_reminded, last_reminded.c.article_id == Article.id)
        .where(
            *WAITING,
            Article.heat >= min_heat,
            Article.first_indexed_at < waited_before,
            ~scheduled_ahead(),
        )
        .order_by(Article.heat.desc(), Article.first_indexed_at, Article.id)
    )
    found = []
    for article_id, heat, first_indexed, decided, reminded in rows:
        since = max(first_indexed, decided) if decided is not None else first_indexed
        found.append(Candidate(article_id, heat, _aware(since), _aware_or_none(reminded)))
    return found


def drafts(session: Session, article_ids: list[int]) -> list[ArticleView]:
    """The views of these articles, in the order given."""
    rows = {a.id: a for a in session.scalars(select(Article).where(Article.id.in_(article_ids)))}
    return views_of(session, [rows[i] for i in article_ids if i in rows])


def claim_reminder(session: Session, *, channel: str, slot: datetime) -> int | None:
    """Claim the reminder of (channel, slot); its run id, or None when someone has it."""
    if not insert_if_absent(
        session,
        ReminderRun,
        channel=channel,
        slot=slot,
        status="claimed",
        claimed_by=writer_id(),
        claimed_at=utcnow(),
    ):
        return None
    run_id = session.scalar(
        select(ReminderRun.id).where(ReminderRun.channel == channel, ReminderRun.slot == slot)
    )
    assert run_id is not None
    return run_id


def name_drafts(session: Session, run_id: int, article_ids: list[int]) -> None:
    """The drafts the claimed reminder will name, written before it is posted."""
    session.add_all(ReminderItem(run_id=run_id, article_id=i) for i in article_ids)
    session.flush()


def thread_of(session: Session, *, channel: str, since: datetime | None = None) -> str | None:
    """The thread of the last reminder posted to the channel (since that moment, if given):
    the ts of the top-level reminder it is, or replied to; None when there is none."""
    posted = [
        ReminderRun.channel == channel,
        ReminderRun.status == "posted",
        ReminderRun.message_ts.is_not(None),
    ]
    if since is not None:
        posted.append(ReminderRun.slot >= since)
    row = session.execute(
        select(ReminderRun.message_ts, ReminderRun.thread_ts)
        .where(*posted)
        .order_by(ReminderRun.slot.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    message_ts, thread_ts = row
    return thread_ts or message_ts


def mark_posted(session: Session, run_id: int, *, message_ts: str, thread_ts: str | None) -> None:
    """Slack accepted the reminder: its ts, and the top-level reminder it replied to."""
    run = session.get(ReminderRun, run_id)
    assert run is not None
    run.status, run.posted_at = "posted", utcnow()
    run.message_ts, run.thread_ts = message_ts, thread_ts


def release_claim(session: Session, run_id: int) -> None:
    """Give the claim back (Slack refused or could not be reached) so a later run may post;
    the drafts it named are named again then."""
    session.execute(
        delete(ReminderRun).where(ReminderRun.id == run_id, ReminderRun.status == "claimed")
    )


def _aware(moment: datetime) -> datetime:
    # max() over a subquery may come back as the driver gives it, without the column's type.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _aware_or_none(moment: datetime | None) -> datetime | None:
    return None if moment is None else _aware(moment)
