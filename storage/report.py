"""The weekly report's claim: one report per channel and ISO week, its message and chart once.

A report run is a row keyed by (channel, week). Whoever inserts it (or takes
it back from "given-back") posts the message; the chart is uploaded by whoever
moves the row from "message" to "uploading", and moves it on to "sharing" just
before files.completeUploadExternal, the only step that shares anything. An
"uploading" row older than CHART_LEASE (its process died during the first two
steps, which share nothing) may be taken over; a "sharing" one never is. Each
step is given back when Slack certainly did not act, and kept (at most once)
when Slack may have. A
given-back message stays a row, so later runs can tell a week whose report is
owed from a week the app never tried to report (before it existed).

A week is reported once whatever the channel: a week out (or being posted) in
one channel is not posted to another, and a week given back in a channel the
report no longer goes to (refused there, then NEWSBOT_REPORT_CHANNEL changed)
is carried: its row moves to the configured channel when that claims it.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from storage.db import insert_if_absent, update_won
from storage.decisions import writer_id
from storage.models import ReportRun, utcnow

CLAIMED, MESSAGE, UPLOADING, POSTED = "claimed", "message", "uploading", "posted"
#: files.completeUploadExternal was called: the chart may be shared, never uploaded again.
SHARING = "sharing"
#: An "uploading" row this old was left by a process that died before sharing: its first
#: two steps (a capped wait of minutes at most) share nothing, so another run may take it.
CHART_LEASE = timedelta(minutes=15)
#: The message was refused or never reached Slack: the report is owed, free to claim.
GIVEN_BACK = "given-back"


def week_of(day: date) -> date:
    """The Monday of the ISO week `day` is in: the key of that week's report."""
    return day - timedelta(days=day.weekday())


def claim_report(session: Session, *, channel: str, report_date: date, late: bool) -> int | None:
    """Claim the report of `report_date`'s week for the channel (a new row, one given back,
    or one given back in another channel, carried here); its id, or None when someone else
    has it, or the week is out (or being posted) in another channel."""
    week = week_of(report_date)
    values = {
        "status": CLAIMED,
        "report_date": report_date,
        "claimed_by": writer_id(),
        "claimed_at": utcnow(),
        "late": late,
    }
    elsewhere = session.scalars(
        select(ReportRun)
        .where(ReportRun.week == week, ReportRun.channel != channel)
        .order_by(ReportRun.id)
    ).all()
    if any(run.status != GIVEN_BACK for run in elsewhere):
        return None
    mine = find_report(session, channel=channel, week=week)
    if mine is not None:
        claimed = update_won(
            session, ReportRun, ReportRun.id == mine.id, ReportRun.status == GIVEN_BACK, **values
        )
    elif elsewhere:
        claimed = _carry(session, elsewhere[0].id, channel, values)
    else:
        claimed = insert_if_absent(session, ReportRun, channel=channel, week=week, **values)
    if not claimed:
        return None
    run = find_report(session, channel=channel, week=week)
    assert run is not None
    return run.id


def _carry(session: Session, run_id: int, channel: str, values: dict) -> bool:
    """Move a week given back in another channel to this one, claimed; False when someone
    else took it (or, racing, gave this channel a row of that week first)."""
    try:
        with session.begin_nested():
            return update_won(
                session,
                ReportRun,
                ReportRun.id == run_id,
                ReportRun.status == GIVEN_BACK,
                channel=channel,
                **values,
            )
    except IntegrityError:
        return False


def find_report(session: Session, *, channel: str, week: date) -> ReportRun | None:
    """The report run of that channel and week, if any."""
    return session.scalars(
        select(ReportRun).where(ReportRun.channel == channel, ReportRun.week == week)
    ).first()


def find_week(session: Session, *, channel: str, week: date) -> ReportRun | None:
    """The channel's run of that week; else the week's run in another channel that is out
    or being posted (so not this channel's to post); else None."""
    return (
        find_report(session, channel=channel, week=week)
        or session.scalars(
            select(ReportRun)
            .where(ReportRun.week == week, ReportRun.status != GIVEN_BACK)
            .order_by(ReportRun.id)
        ).first()
    )


def mark_message(session: Session, run_id: int, *, message_ts: str | None, chart: bool) -> None:
    """Slack accepted the message (or may have: no ts): the chart is next, or (no chart)
    the report is out."""
    session.execute(
        update(ReportRun)
        .where(ReportRun.id == run_id)
        .values(
            status=MESSAGE if chart else POSTED,
            message_ts=message_ts,
            posted_at=None if chart else utcnow(),
        )
    )


def release_report(session: Session, run_id: int) -> None:
    """Give the claim back (Slack refused the message, or was not reached): still owed."""
    session.execute(
        update(ReportRun)
        .where(ReportRun.id == run_id, ReportRun.status == CLAIMED)
        .values(status=GIVEN_BACK, claimed_by=None)
    )


def owed_reports(session: Session, *, channel: str, since: date, before: date) -> list[date]:
    """Report dates of the weeks from `since` to before `before` (week keys) whose report is
    still to post in the channel, oldest first: its message or chart was given back there,
    (or left uploading: `claim_chart` takes it once its lease ran out),
    or its message was given back in another channel and the week is out nowhere (carried
    here by `claim_report`). A chart whose message went to another channel stays there."""
    other = aliased(ReportRun)
    here = aliased(ReportRun)
    out_anywhere = exists().where(other.week == ReportRun.week, other.status != GIVEN_BACK)
    row_here = exists().where(here.week == ReportRun.week, here.channel == channel)
    owed = (ReportRun.channel == channel) & ReportRun.status.in_((GIVEN_BACK, MESSAGE, UPLOADING))
    carried = (
        (ReportRun.channel != channel)
        & (ReportRun.status == GIVEN_BACK)
        & ~out_anywhere
        & ~row_here
    )
    rows = session.execute(
        select(ReportRun.week, ReportRun.report_date)
        .where(
            ReportRun.week >= week_of(since),
            ReportRun.week < week_of(before),
            owed | carried,
        )
        .order_by(ReportRun.week, ReportRun.id)
    ).all()
    dates: dict[date, date] = {}
    for week, report_date in rows:
        dates.setdefault(week, report_date)
    return list(dates.values())


def claim_chart(session: Session, run_id: int) -> str | None:
    """Take the chart's upload (or one whose lease ran out before sharing); the claim's
    token for `start_sharing`, or None when it is someone else's, or done."""
    token = f"{writer_id()}#{uuid.uuid4().hex[:12]}"
    stale = (
        (ReportRun.status == UPLOADING)
        & (ReportRun.claimed_at < utcnow() - CHART_LEASE)
        & ReportRun.claimed_by.contains("#")  # taken by a version that shares under "sharing"
    )
    won = update_won(
        session,
        ReportRun,
        ReportRun.id == run_id,
        (ReportRun.status == MESSAGE) | stale,
        status=UPLOADING,
        claimed_by=token,
        claimed_at=utcnow(),
    )
    return token if won else None


def start_sharing(session: Session, run_id: int, token: str) -> bool:
    """Just before files.completeUploadExternal: False when the lease ran out and another
    run took the upload over (this one must not share)."""
    return update_won(
        session,
        ReportRun,
        ReportRun.id == run_id,
        ReportRun.status == UPLOADING,
        ReportRun.claimed_by == token,
        status=SHARING,
    )


def mark_chart(session: Session, run_id: int, *, file_id: str | None) -> None:
    """Slack has the chart: the report is out."""
    session.execute(
        update(ReportRun)
        .where(ReportRun.id == run_id)
        .values(status=POSTED, file_id=file_id, posted_at=utcnow())
    )


def release_chart(session: Session, run_id: int) -> None:
    """Give the chart's upload back (Slack refused it, or was not reached)."""
    session.execute(
        update(ReportRun)
        .where(ReportRun.id == run_id, ReportRun.status.in_((UPLOADING, SHARING)))
        .values(status=MESSAGE)
    )
