"""The scheduler `newsbot serve` owns: which jobs, when, under which policy, and what each
does when it fires. Read through APScheduler's public job attributes; the jobs are run by
calling what the scheduler would call."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.job import Job
from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy import select

from bot.app import make_client
from bot.scheduler import (
    CATCH_UP_JOB,
    DIGEST_JOB,
    FINISH_DECISIONS_JOB,
    FOLLOWS_JOB,
    FORGET_JOB,
    REFRESH_CARDS_JOB,
    REINDEX_JOB,
    SCHEDULED_JOB,
    SCHEDULED_START_JOB,
    create_scheduler,
    digest_job,
    finish_decisions_job,
    follows_job,
    forget_job,
    refresh_cards_job,
    reindex_and_post_job,
    scheduled_publications_job,
)
from storage.models import Article
from tests.builders import (
    DIGEST_DUE,
    digest_settings,
    indexed,
    make_settings,
    write_article,
)

BERLIN = ZoneInfo("Europe/Berlin")


@contextmanager
def jobs_of(scheduler: BaseScheduler) -> Iterator[dict[str, Job]]:
    """The scheduler's jobs by id, as it runs them: started paused, so nothing fires, but
    every job has the scheduler's defaults and its first run time."""
    scheduler.start(paused=True)
    try:
        yield {job.id: job for job in scheduler.get_jobs()}
    finally:
        scheduler.shutdown(wait=False)


def fire(job: Job, **when: Any) -> None:
    """What the scheduler does when `job` is due."""
    job.func(*job.args, **when, **job.kwargs)


def test_every_job_runs_one_at_a_time_and_a_missed_run_once(digest):
    settings, db = digest
    scheduler = create_scheduler(settings, db, make_client(settings))
    with jobs_of(scheduler) as jobs:
        assert {job_id: job.func for job_id, job in jobs.items()} == {
            DIGEST_JOB: digest_job,
            CATCH_UP_JOB: digest_job,
            REINDEX_JOB: reindex_and_post_job,
            FOLLOWS_JOB: follows_job,
            FORGET_JOB: forget_job,
            FINISH_DECISIONS_JOB: finish_decisions_job,
            REFRESH_CARDS_JOB: refresh_cards_job,
            SCHEDULED_JOB: scheduled_publications_job,
            SCHEDULED_START_JOB: scheduled_publications_job,
        }
        for job_id, job in jobs.items():
            # Follow posting returns at once while a run waits out a 429 (see follows_job).
            most = 2 if job_id == FOLLOWS_JOB else 1
            assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (
                most,
                True,
                15 * 60,
            )
        assert jobs[FOLLOWS_JOB].trigger.interval == timedelta(seconds=5)
        assert jobs[REINDEX_JOB].trigger.interval == timedelta(minutes=10)
        assert jobs[FORGET_JOB].trigger.interval == timedelta(hours=1)
        assert jobs[FINISH_DECISIONS_JOB].trigger.interval == timedelta(minutes=5)
        assert jobs[REFRESH_CARDS_JOB].trigger.interval == timedelta(minutes=5)
        # The digest fires at 09:00 in Berlin; the catch-up once, at start.
        assert jobs[DIGEST_JOB].next_run_time.astimezone(BERLIN).time() == time(9, 0)
        assert jobs[CATCH_UP_JOB].next_run_time <= datetime.now(UTC)


def test_the_settings_leave_out_the_digest_and_the_reindex(slack, tmp_path, sqlite_url):
    settings = make_settings(slack, sqlite_url, tmp_path, NEWSBOT_REINDEX_MINUTES="0")
    with indexed(sqlite_url, tmp_path) as db:
        scheduler = create_scheduler(settings, db, make_client(settings))
        with jobs_of(scheduler) as jobs:
            assert set(jobs) == {
                FOLLOWS_JOB,
                FORGET_JOB,
                FINISH_DECISIONS_JOB,
                REFRESH_CARDS_JOB,
                SCHEDULED_JOB,
                SCHEDULED_START_JOB,
            }


def test_the_digest_keeps_its_wall_time_across_daylight_saving(digest):
    settings, db = digest
    with jobs_of(create_scheduler(settings, db, make_client(settings))) as jobs:
        trigger = jobs[DIGEST_JOB].trigger
    assert str(trigger.timezone) == "Europe/Berlin"
    spring = trigger.get_next_fire_time(None, datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    assert spring.astimezone(UTC) == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)
    autumn = trigger.get_next_fire_time(None, datetime(2026, 10, 24, 12, 0, tzinfo=UTC))
    assert autumn.astimezone(UTC) == datetime(2026, 10, 25, 8, 0, tzinfo=UTC)


def test_the_night_the_clocks_go_back_the_digest_fires_twice_and_posts_once(
    slack, digest_dir, database_url
):
    # 02:30 happens twice on 2026-10-25 in Berlin, and the cron trigger fires at both.
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    write_article(digest_dir, "overnight", heat=90, publishedDateTime=first - timedelta(hours=2))
    settings = digest_settings(slack, database_url, digest_dir, NEWSBOT_DIGEST_TIME="02:30")
    with (
        indexed(database_url, digest_dir) as db,
        jobs_of(create_scheduler(settings, db, make_client(settings))) as jobs,
    ):
        digest = jobs[DIGEST_JOB]
        fired = digest.trigger.get_next_fire_time(None, first - timedelta(hours=1))
        again = digest.trigger.get_next_fire_time(fired, fired)
        assert fired.astimezone(UTC) == first
        assert again.astimezone(UTC) == first + timedelta(hours=1)  # 02:30 CET
        fire(digest, now=fired)
        fire(digest, now=again)
    (posted,) = slack.calls_to("chat.postMessage")
    assert "Story overnight" in json.dumps(posted.args["blocks"])


def test_the_catch_up_after_a_restart_posts_once_marked_late(digest, slack):
    settings, db = digest
    with jobs_of(create_scheduler(settings, db, make_client(settings))) as jobs:
        catch_up = jobs[CATCH_UP_JOB]
        fire(catch_up, now=DIGEST_DUE - timedelta(minutes=30))
        assert slack.calls_to("chat.postMessage") == []  # not due yet: the cron job will post
        fire(catch_up, now=DIGEST_DUE + timedelta(hours=4))
        fire(catch_up, now=DIGEST_DUE + timedelta(hours=5))  # another restart
    (posted,) = slack.calls_to("chat.postMessage")
    assert "posted late" in json.dumps(posted.args["blocks"])


def test_the_reindex_picks_up_a_new_file(digest):
    settings, db = digest
    write_article(settings.articles_dir, "late-arrival", heat=1)
    with jobs_of(create_scheduler(settings, db, make_client(settings))) as jobs:
        fire(jobs[REINDEX_JOB])
    with db.Session() as session:
        titles = session.scalars(select(Article.title)).all()
    assert "Story late-arrival" in titles
