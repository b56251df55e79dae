"""The scheduler `newsbot serve` owns: the daily digest, the periodic re-index, housekeeping.

Jobs are module-level functions given their dependencies as arguments, so
APScheduler holds no closures over live objects.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.flows.cards import refresh_behind
from bot.flows.digest import DigestError, DigestUnreachable, due_at, post_digest, today
from bot.flows.follows import post_pending
from bot.flows.gitsync import after_index, before_index, owing_clone
from bot.flows.reminders import post_reminder
from bot.flows.schedule import run_due
from bot.settings import Settings
from storage.db import Database, IndexBusy
from storage.decisions import LEASE, finish_interrupted, written_elsewhere
from storage.errors import DatabaseError
from storage.follows import set_config_follow
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
    catch_up: bool = False,
) -> None:
    """Post today's digest, unless it is out already (by us, a replica, or before a restart).

    `catch_up` (at start, and after Slack was unreachable): only once it is due.
    When Slack cannot be reached nothing was posted: with a `scheduler`, the
    catch-up runs again a few minutes later (and at the next start anyway).
    """
    assert settings.digest_channel is not None
    now = now or datetime.now(UTC)
    local_date = today(settings, now)
    if catch_up and now < due_at(settings, local_date):
        return
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
        _again_later(
            scheduler,
            digest_job,
            (settings, db, client),
            {"catch_up": True},
            job_id=DIGEST_RETRY_JOB,
            what=f"daily digest for {local_date}",
            why=exc,
            tz=settings.timezone,
        )
    except DigestError as exc:
        log.error("daily digest not posted: %s", exc)


def _again_later(
    scheduler: BaseScheduler | None,
    job: Callable[..., None],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    job_id: str,
    what: str,
    why: Exception,
    tz: tzinfo,
) -> None:
    """After Slack could not be reached (so nothing was posted), run `job` again a few
    minutes later; without a scheduler (the CLI), only say so."""
    if scheduler is None:
        log.warning("%s not posted: %s", what, why)
        return
    at = datetime.now(UTC) + DIGEST_RETRY_AFTER
    scheduler.add_job(
        job,
        DateTrigger(run_date=at),
        args=args,
        kwargs={**kwargs, "scheduler": scheduler},
        id=job_id,
        name=f"{what}, again after Slack could not be reached",
        replace_existing=True,
    )
    log.warning(
        "%s not posted yet: %s; trying again at %s",
        what,
        why,
        at.astimezone(tz).strftime("%H:%M"),
    )


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
    clone = owing_clone(settings)
    settled_all = finish_interrupted(
        db.WriteSession,
        settings.articles_dir,
        at_start=at_start,
        owe_commit_in=clone,  # committed before the next pull
    )
    with db.Session() as session:
        elsewhere = written_elsewhere(session, clone)
    for other, count in sorted(elsewhere.items()):
        log.warning(
            "%d decision(s) written in the git clone %s have been pending for a while: only a "
            "replica of that clone settles them, at its restart; if that clone is gone for "
            "good, run `newsbot index --clone-gone %s`",
            count,
            other,
            other,
        )
    for settled in settled_all:
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
    """Before serving: settle interrupted decisions, remove what killed write-backs left, and
    make NEWSBOT_REVIEW_CHANNEL the channel that follows the drafts (or no channel)."""
    finish_decisions_job(settings, db, at_start=True)
    with db.WriteSession.begin() as session:
        set_config_follow(session, channel=settings.review_channel, query=settings.review_query)
    if settings.articles_dir.is_dir():
        # A younger temporary file may be a replica's write in progress.
        for name in sweep_leftovers(settings.articles_dir, older_than=LEASE.total_seconds()):
            log.info("removed %s, left by an interrupted write-back", name)


# --- follows (issue 11)
FOLLOWS_JOB = "follow-cards"
#: How often serve looks for follow cards to post (found by any process's index run).
FOLLOWS_EVERY = timedelta(seconds=5)
# Its own executor, whose two log lines per run (every few seconds) are left out.
FOLLOWS_EXECUTOR = "follows"
_posting = threading.Lock()


def follows_job(settings: Settings, db: Database, client: WebClient) -> None:
    """Post the follow cards and summaries that index runs found (one query when none wait)."""
    # A run still posting (a slow Slack) makes the next return at once, rather than have
    # the scheduler warn that it skipped one. Nothing here sleeps: a rate-limited channel
    # is held until its Retry-After, and the first look after it (every FOLLOWS_EVERY)
    # posts it.
    if not _posting.acquire(blocking=False):
        return
    try:
        post_pending(settings, db, client)
    except SQLAlchemyError as exc:
        log.error("follow cards not posted: the database failed (%s)", _kind(exc))
    finally:
        _posting.release()


def reindex_and_post_job(settings: Settings, db: Database, client: WebClient) -> None:
    """The periodic re-index as serve runs it: with NEWSBOT_GIT_PULL or NEWSBOT_GIT_PUSH the
    clone is brought up to date and waiting decisions pushed first, and reviewers whose
    decisions were undone upstream are told after; then the follow cards it found go out."""
    exchanged = before_index(settings, db)
    reindex_job(settings, db)
    after_index(settings, db, exchanged, client)
    follows_job(settings, db, client)


# --- editorial workflow (issue 12)
REMINDER_JOB = "review-reminders"
SCHEDULED_JOB = "scheduled-publications"
SCHEDULED_START_JOB = "scheduled-publications-at-start"


def reminder_job(
    settings: Settings, db: Database, client: WebClient, now: datetime | None = None
) -> None:
    """Post this slot's reminder of drafts waiting, unless it is out (here, in a replica,
    before a restart), nothing is due, or it is quiet hours."""
    post_reminder(settings, db, client, now=now)


def scheduled_publications_job(
    settings: Settings,
    db: Database,
    client: WebClient,
    now: datetime | None = None,
    *,
    at_start: bool = False,
) -> None:
    """Publish the scheduled publications that are due (at start: also those the app was down
    for, marked late), and tell whoever scheduled one that failed."""
    for schedule_id, status in run_due(settings, db, client, now=now, at_start=at_start):
        if status not in ("done", "waiting"):
            log.info("scheduled publication %d: %s", schedule_id, status)


# --- insights (issue 14)
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
    """Post the weekly report whose time came last, unless the channel has it already; first,
    the reports (or charts) of the four weeks before it that were handed back.

    The same job runs at NEWSBOT_REPORT_DAY/TIME, at start (a report missed
    while down goes out late) and after Slack could not be reached.
    """
    from bot.flows.report import (
        ReportError,
        ReportUnreachable,
        latest_due,
        owed_before,
        post_report,
    )

    assert settings.report_channel is not None
    channel = settings.report_channel
    now = now or datetime.now(UTC)
    latest = latest_due(settings, now)
    try:
        report_dates = [*owed_before(settings, db, channel, latest), latest]
    except SQLAlchemyError as exc:
        log.error("weekly report for %s not posted: the database failed (%s)", latest, _kind(exc))
        return
    for report_date in report_dates:
        try:
            result = post_report(
                settings, db, client, channel=channel, report_date=report_date, now=now
            )
        except ReportUnreachable as exc:
            _again_later(
                scheduler,
                report_job,
                (settings, db, client),
                {},
                job_id=REPORT_RETRY_JOB,
                what=f"weekly report for {report_date}",
                why=exc,
                tz=settings.timezone,
            )
            return  # the retry takes up the rest
        except ReportError as exc:
            log.error("weekly report for %s: %s", report_date, exc)
        except SQLAlchemyError as exc:
            log.error(
                "weekly report for %s not posted: the database failed (%s)",
                report_date,
                _kind(exc),
            )
            return
        else:
            if result.status == "already-posted":
                log.info("weekly report for %s is in %s already", report_date, channel)
            elif result.status == "nothing-to-report":
                log.info(
                    "no weekly report for %s: the database holds nothing from before that week "
                    "ended",
                    report_date,
                )


def create_scheduler(settings: Settings, db: Database, client: WebClient) -> BackgroundScheduler:
    """Every job `newsbot serve` runs, by what the settings ask for.

    The digest when a channel is set; the re-index when NEWSBOT_REINDEX_MINUTES
    is not 0 (with git and follow cards when they are on); follow cards every few
    seconds; scheduled publications every minute and once at start; reminders
    when a review channel is set; and housekeeping whatever the settings
    (handled request ids forgotten hourly, interrupted decisions settled and
    lagging cards edited every five minutes).
    """
    scheduler = BackgroundScheduler(
        timezone=settings.timezone,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 15 * 60},
    )
    tz, both = settings.timezone, (settings, db, client)

    def every(
        interval: timedelta, func: Callable[..., None], job_id: str, name: str, args: tuple
    ) -> None:
        trigger = IntervalTrigger(seconds=interval.total_seconds(), timezone=tz)
        scheduler.add_job(func, trigger, args=args, id=job_id, name=name, replace_existing=True)

    def at_start(func: Callable[..., None], job_id: str, name: str, **kwargs: Any) -> None:
        scheduler.add_job(
            func, args=both, kwargs=kwargs, id=job_id, name=name, replace_existing=True
        )

    if settings.digest_channel:
        at = settings.digest_time
        scheduler.add_job(
            digest_job,
            CronTrigger(hour=at.hour, minute=at.minute, timezone=tz),
            args=both,
            kwargs={"scheduler": scheduler},
            id=DIGEST_JOB,
            name="daily digest",
            replace_existing=True,
        )
        at_start(
            digest_job,
            CATCH_UP_JOB,
            "digest catch-up after start",
            scheduler=scheduler,
            catch_up=True,
        )
    every(timedelta(hours=1), forget_job, FORGET_JOB, "forget handled Slack requests", (db,))
    every(
        timedelta(minutes=5),
        finish_decisions_job,
        FINISH_DECISIONS_JOB,
        "settle decisions a dead replica left pending",
        (settings, db),
    )
    every(
        timedelta(minutes=5),
        refresh_cards_job,
        REFRESH_CARDS_JOB,
        "bring posted cards up to date",
        both,
    )
    if settings.reindex_minutes:
        every(
            timedelta(minutes=settings.reindex_minutes),
            reindex_and_post_job,
            REINDEX_JOB,
            "re-index the articles folder (pull and push first with git), post follow cards",
            both,
        )
    # --- follows (issue 11)
    # Its own executor, so that a run every few seconds does not log two lines each time.
    scheduler.add_executor(ThreadPoolExecutor(max_workers=1), alias=FOLLOWS_EXECUTOR)
    logging.getLogger(f"apscheduler.executors.{FOLLOWS_EXECUTOR}").setLevel(logging.WARNING)
    scheduler.add_job(
        follows_job,
        IntervalTrigger(seconds=FOLLOWS_EVERY.total_seconds(), timezone=tz),
        args=both,
        id=FOLLOWS_JOB,
        name="post follow cards",
        executor=FOLLOWS_EXECUTOR,
        max_instances=2,  # see follows_job
        replace_existing=True,
    )
    # --- editorial workflow (issue 12)
    every(
        timedelta(minutes=1),
        scheduled_publications_job,
        SCHEDULED_JOB,
        "publish scheduled publications",
        both,
    )
    at_start(
        scheduled_publications_job,
        SCHEDULED_START_JOB,
        "scheduled publications missed while down",
        at_start=True,
    )
    if settings.review_channel and settings.remind_hours:
        scheduler.add_job(
            reminder_job,
            IntervalTrigger(minutes=5, timezone=tz),
            args=both,
            id=REMINDER_JOB,
            name="remind reviewers of drafts waiting",
            replace_existing=True,
            next_run_time=datetime.now(tz),
        )
    # --- insights (issue 14)
    if settings.report_channel:
        at = settings.report_time
        scheduler.add_job(
            report_job,
            CronTrigger(
                day_of_week=settings.report_day, hour=at.hour, minute=at.minute, timezone=tz
            ),
            args=both,
            kwargs={"scheduler": scheduler},
            id=REPORT_JOB,
            name="weekly desk report",
            replace_existing=True,
        )
        at_start(report_job, REPORT_CATCH_UP_JOB, "weekly report catch-up", scheduler=scheduler)
    return scheduler
