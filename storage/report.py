"""The weekly report's claim: one report per channel and ISO week, its message and chart once.

A report run is a row keyed by (channel, week). Whoever inserts it (or takes
it back from "given-back") posts the message; the chart is uploaded by whoever
moves the row from "message" to "uploading". Each step is given back when
Slack certainly did not act, and kept (at most once) when Slack may have. A
given-back message stays a row, so later runs can tell a week whose report is
owed from a week the app never tried to report (before it existed).
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.db import insert_if_absent, update_won
from storage.decisions import writer_id
from storage.models import ReportRun, utcnow

CLAIMED, MESSAGE, UPLOADING, POSTED = "claimed", "message", "uploading", "posted"
#: The message was refused or never reached Slack: the report is owed, free to claim.
GIVEN_BACK = "given-back"


def week_of(day: date) -> date:
    """The Monday of the ISO week `day` is in: the key of that week's report."""
    return day - timedelta(days=day.weekday())


def claim_report(session: Session, *, channel: str, report_date: date, late: bool) -> int | None:
    """Claim the report of `report_date`'s week for the channel (a new row, or one given
    back); its id, or None when someone else has it."""
    week = week_of(report_date)
    claimed = insert_if_absent(
        session,
        ReportRun,
        channel=channel,
        week=week,
        report_date=report_date,
        status=CLAIMED,
        claimed_by=writer_id(),
        claimed_at=utcnow(),
        late=late,
    ) or update_won(
        session,
        ReportRun,
        ReportRun.channel == channel,
        ReportRun.week == week,
        ReportRun.status == GIVEN_BACK,
        status=CLAIMED,
        report_date=report_date,
        claimed_by=writer_id(),
        claimed_at=utcnow(),
        late=late,
    )
    if not claimed:
        return None
    run = find_report(session, channel=channel, week=week)
    assert run is not None
    return run.id


def find_report(session: Session, *, channel: str, week: date) -> ReportRun | None:
    """The report run of that channel and week, if any."""
    return session.scalars(
        select(ReportRun).where(ReportRun.channel == channel, ReportRun.week == week)
    ).first()


def mark_message(session: Session, run_id: int, *, message_ts: str, chart: bool) -> None:
    """Slack accepted the message: the chart is next, or (no chart) the report is out."""
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
    """Report dates of the channel's weeks from `since` to before `before` (week keys) whose
    message or chart was given back and is still to post, oldest first."""
    return list(
        session.scalars(
            select(ReportRun.report_date)
            .where(
                ReportRun.channel == channel,
                ReportRun.week >= week_of(since),
                ReportRun.week < week_of(before),
                ReportRun.status.in_((GIVEN_BACK, MESSAGE)),
            )
            .order_by(ReportRun.week)
        )
    )


def claim_chart(session: Session, run_id: int) -> bool:
    """Take the chart's upload; False when it is someone else's, or done."""
    return update_won(
        session,
        ReportRun,
        ReportRun.id == run_id,
        ReportRun.status == MESSAGE,
        status=UPLOADING,
        claimed_by=writer_id(),
        claimed_at=utcnow(),
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
        .where(ReportRun.id == run_id, ReportRun.status == UPLOADING)
        .values(status=MESSAGE)
    )
