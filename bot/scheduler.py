"""The scheduler `newsbot serve` owns: the daily digest and the periodic re-index.

Jobs are module-level functions given their dependencies as arguments, so
APScheduler holds no closures over live objects.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.digest import DigestError, due_at, post_digest, today
from bot.settings import Settings
from storage.db import Database, IndexBusy
from storage.scan import FolderError
from storage.schema import DatabaseError
from storage.sync import sync
from storage.tracking import forget_requests

log = logging.getLogger(__name__)

DIGEST_JOB = "daily-digest"
CATCH_UP_JOB = "digest-catch-up"
REINDEX_JOB = "reindex"


def digest_job(
    settings: Settings, db: Database, client: WebClient, now: datetime | None = None
) -> None:
    """Post today's digest, unless it is out already (by us, a replica, or before a restart)."""
    assert settings.digest_channel is not None
    now = now or datetime.now(UTC)
    try:
        post_digest(
            settings,
            db,
            client,
            channel=settings.digest_channel,
            local_date=today(settings, now),
            now=now,
        )
    except DigestError as exc:
        log.error("daily digest not posted: %s", exc)


def catch_up_job(
    settings: Settings, db: Database, client: WebClient, now: datetime | None = None
) -> None:
    """On start-up: if today's digest time has passed and it is not out, post it (late)."""
    now = now or datetime.now(UTC)
    if now >= due_at(settings, today(settings, now)):
        digest_job(settings, db, client, now)


def reindex_job(settings: Settings, db: Database) -> None:
    """Re-index the articles folder; forget Slack request ids too old to be retried.

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
    try:
        with db.WriteSession.begin() as session:
            forget_requests(session)
    except SQLAlchemyError as exc:
        log.error("old Slack request ids not pruned: the database failed (%s)", _kind(exc))


def _kind(exc: SQLAlchemyError) -> str:
    """The driver's name for a database error: its message may quote row values."""
    return type(getattr(exc, "orig", None) or exc).__name__


def create_scheduler(settings: Settings, db: Database, client: WebClient) -> BackgroundScheduler:
    """A scheduler with the digest (when a channel is set) and the re-index (when not 0)."""
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
            id=DIGEST_JOB,
            name="daily digest",
            replace_existing=True,
        )
        scheduler.add_job(
            catch_up_job,
            args=(settings, db, client),
            id=CATCH_UP_JOB,
            name="digest catch-up after start",
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
    return scheduler
