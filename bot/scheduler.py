"""The scheduler `newsbot serve` owns: the daily digest, the periodic re-index, housekeeping.

Jobs are module-level functions given their dependencies as arguments, so
APScheduler holds no closures over live objects.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.flows.cards import refresh_behind
from bot.flows.digest import DigestError, DigestUnreachable, due_at, post_digest, today
from bot.settings import Settings
from storage.db import Database, IndexBusy
from storage.decisions import LEASE, finish_interrupted
from storage.errors import DatabaseError
from storage.scan import FolderError
from storage.sync import sync
from storage.tracking import forget_pending_posts, forget_requests
from storage.writeback import sweep_leftovers

log = logging.getLogger(__name__)

DIGEST_JOB = "daily-digest"
CATCH_UP_JOB = "digest-catch-up"
DIGEST_RETRY_JOB = "digest-retry"
REINDEX_JOB = "reindex"
FORGET_JOB = "forget-requests"
FINISH_DECISIONS_JOB = "finish-decisions"
REFRESH_CARDS_JOB = "refresh-cards"

#: After Slack could not be reached, the digest is tried again this much later.
DIGEST_RETRY_AFTER = timedelta(minutes=5)


def digest_job(
    settings: Settings,
    db: Database,
    client: WebClient,
    now: datetime | None = None,
    *,
    scheduler: BaseScheduler | None = None,
) -> None:
    """Post today's digest, unless it is out already (by us, a replica, or before a restart).

    When Slack cannot be reached nothing was posted: with a `scheduler`, the
    catch-up runs again a few minutes later (and at the next start anyway).
    """
    assert settings.digest_channel is not None
    now = now or datetime.now(UTC)
    local_date = today(settings, now)
    try:
        post_digest(
            settings,
            db,
            client,
            channel=settings.digest_channel,
            local_date=local_date,
            now=now,
        )
    except DigestUnreachable as exc:
        if scheduler is None:
            log.warning("daily digest for %s not posted: %s", local_date, exc)
            return
        at = datetime.now(UTC) + DIGEST_RETRY_AFTER
        scheduler.add_job(
            catch_up_job,
            DateTrigger(run_date=at),
            args=(settings, db, client),
            kwargs={"scheduler": scheduler},
            id=DIGEST_RETRY_JOB,
            name="daily digest, again after Slack could not be reached",
            replace_existing=True,
        )
        log.warning(
            "daily digest for %s not posted yet: %s; trying again at %s",
            local_date,
            exc,
            at.astimezone(settings.timezone).strftime("%H:%M"),
        )
    except DigestError as exc:
        log.error("daily digest not posted: %s", exc)


def catch_up_job(
    settings: Settings,
    db: Database,
    client: WebClient,
    now: datetime | None = None,
    *,
    scheduler: BaseScheduler | None = None,
) -> None:
    """On start-up (and after Slack was unreachable): post today's digest if due and not out."""
    now = now or datetime.now(UTC)
    if now >= due_at(settings, today(settings, now)):
        digest_job(settings, db, client, now, scheduler=scheduler)


def reindex_job(settings: Settings, db: Database) -> None:
    """Re-index the articles folder.

    When another index run holds the lock (cron's `newsbot index`, a replica),
    this one is skipped: the next interval catches up.
    """
    try:
        report = sync(db.WriteSession, settings.articles_dir, wait=False)
    except IndexBusy:
        log.info("re-index skipped: another index run is in progress")
        return
    except FolderError as exc:
        log.error("re-index skipped: %s", exc)
        return
    except DatabaseError as exc:  # one sentence, never the rows
        log.error("re-index: %s", exc)
        return
    for failure in report.failures:
        log.warning("index: %s", failure)
    log.info("re-indexed %s: %s", settings.articles_dir, report.summary())


def _kind(exc: SQLAlchemyError) -> str:
    """The driver's name for a database error: its message may quote row values."""
    return type(getattr(exc, "orig", None) or exc).__name__


def forget_job(db: Database) -> None:
    """Forget Slack request ids too old to be retried, shares never confirmed (a day old),
    and logged /news searches older than 90 days."""
    from storage.searches import forget_searches

    try:
        with db.WriteSession.begin() as session:
            forget_requests(session)
            lost = forget_pending_posts(session)
            forget_searches(session)
    except SQLAlchemyError as exc:
        log.error("old Slack request ids not pruned: the database failed (%s)", _kind(exc))
        return
    if lost:
        log.warning(
            "forgot %d share(s) whose chat.postMessage never answered: if they were posted, "
            "their cards are not updated after decisions",
            lost,
        )


def finish_decisions_job(settings: Settings, db: Database, *, at_start: bool = False) -> None:
    """Settle review decisions whose writer died between the database and the file."""
    if not settings.articles_dir.is_dir():
        return  # an unmounted folder proves nothing; the index run says what is wrong
    for settled in finish_interrupted(db.WriteSession, settings.articles_dir, at_start=at_start):
        outcome = (
            "done: the file has the new value"
            if settled.status == "done"
            else "abandoned: the file was not changed, the article is as it was"
        )
        log.warning(
            "an interrupted %s of %s by %s is %s",
            settled.action,
            settled.source_path,
            settled.reviewer_id,
            outcome,
        )


def refresh_cards_job(settings: Settings, db: Database, client: WebClient) -> None:
    """Edit posted cards that fell behind their article (a crash, or a failed chat.update)."""
    if count := refresh_behind(db, client, tz=settings.timezone):
        log.info("brought %d posted message(s) up to date", count)


def start_up(settings: Settings, db: Database) -> None:
    """Before serving: settle interrupted decisions, remove what killed write-backs left."""
    finish_decisions_job(settings, db, at_start=True)
    if settings.articles_dir.is_dir():
        # A younger temporary file may be a replica's write in progress.
        for name in sweep_leftovers(settings.articles_dir, older_than=LEASE.total_seconds()):
            log.info("removed %s, left by an interrupted write-back", name)


REPORT_JOB = "weekly-report"
REPORT_CATCH_UP_JOB = "report-catch-up"
REPORT_RETRY_JOB = "report-retry"


def report_job(
    settings: Settings,
    db: Database,
    client: WebClient,
    now: datetime | None = None,
    *,
    scheduler: BaseScheduler | None = None,
) -> None:
    """Post the weekly report whose time came last, unless the channel has it already.

    The same job runs at NEWSBOT_REPORT_DAY/TIME, at start (a report missed
    while down goes out late) and after Slack could not be reached.
    """
    from bot.flows.report import ReportError, ReportUnreachable, latest_due, post_report

    assert settings.report_channel is not None
    now = now or datetime.now(UTC)
    report_date = latest_due(settings, now)
    try:
        result = post_report(
            settings, db, client, channel=settings.report_channel, report_date=report_date, now=now
        )
    except ReportUnreachable as exc:
        if scheduler is None:
            log.warning("weekly report for %s not posted: %s", report_date, exc)
            return
        at = datetime.now(UTC) + DIGEST_RETRY_AFTER
        scheduler.add_job(
            report_job,
            DateTrigger(run_date=at),
            args=(settings, db, client),
            kwargs={"scheduler": scheduler},
            id=REPORT_RETRY_JOB,
            name="weekly report, again after Slack could not be reached",
            replace_existing=True,
        )
        log.warning(
            "weekly report for %s not posted yet: %s; trying again at %s",
            report_date,
            exc,
            at.astimezone(settings.timezone).strftime("%H:%M"),
        )
    except ReportError as exc:
        log.error("weekly report for %s: %s", report_date, exc)
    except SQLAlchemyError as exc:
        log.error(
            "weekly report for %s not posted: the database failed (%s)", report_date, _kind(exc)
        )
    else:
        if result.status == "already-posted":
            log.info("weekly report for %s is in %s already", report_date, result.channel)


def create_scheduler(settings: Settings, db: Database, client: WebClient) -> BackgroundScheduler:
    """The digest (when a channel is set), the re-index (when not 0), and housekeeping.

    Housekeeping runs whatever the settings: handled request ids are forgotten
    hourly, interrupted decisions settled and lagging cards edited every five
    minutes.
    """
    scheduler = BackgroundScheduler(
        timezone=settings.timezone,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 15 * 60},
    )
    if settings.digest_channel:
        at = settings.digest_time
        scheduler.add_job(
            digest_job,
            CronTrigger(hour=at.hour, minute=at.minute, timezone=settings.timezone),
            args=(settings, db, client),
            kwargs={"scheduler": scheduler},
            id=DIGEST_JOB,
            name="daily digest",
            replace_existing=True,
        )
        scheduler.add_job(
            catch_up_job,
            args=(settings, db, client),
            kwargs={"scheduler": scheduler},
            id=CATCH_UP_JOB,
            name="digest catch-up after start",
            replace_existing=True,
        )
    scheduler.add_job(
        forget_job,
        IntervalTrigger(hours=1, timezone=settings.timezone),
        args=(db,),
        id=FORGET_JOB,
        name="forget handled Slack requests",
        replace_existing=True,
    )
    scheduler.add_job(
        finish_decisions_job,
        IntervalTrigger(minutes=5, timezone=settings.timezone),
        args=(settings, db),
        id=FINISH_DECISIONS_JOB,
        name="settle decisions a dead replica left pending",
        replace_existing=True,
    )
    scheduler.add_job(
        refresh_cards_job,
        IntervalTrigger(minutes=5, timezone=settings.timezone),
        args=(settings, db, client),
        id=REFRESH_CARDS_JOB,
        name="bring posted cards up to date",
        replace_existing=True,
    )
    if settings.reindex_minutes:
        scheduler.add_job(
            reindex_job,
            IntervalTrigger(minutes=settings.reindex_minutes, timezone=settings.timezone),
            args=(settings, db),
            id=REINDEX_JOB,
            name="re-index the articles folder",
            replace_existing=True,
        )
    # --- follows (issue 11)
    # --- editorial workflow (issue 12)
    # --- several machines (issue 13)
    # --- insights (issue 14)
    if settings.report_channel:
        at = settings.report_time
        scheduler.add_job(
            report_job,
            CronTrigger(
                day_of_week=settings.report_day,
                hour=at.hour,
                minute=at.minute,
                timezone=settings.timezone,
            ),
            args=(settings, db, client),
            kwargs={"scheduler": scheduler},
            id=REPORT_JOB,
            name="weekly desk report",
            replace_existing=True,
        )
        scheduler.add_job(
            report_job,
            args=(settings, db, client),
            kwargs={"scheduler": scheduler},
            id=REPORT_CATCH_UP_JOB,
            name="weekly report catch-up after start",
            replace_existing=True,
        )
    return scheduler
