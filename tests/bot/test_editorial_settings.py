"""The editorial workflow's settings, and the jobs `serve` runs for it."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.app import make_client
from bot.localtime import QuietHours
from bot.scheduler import REMINDER_JOB, SCHEDULED_JOB, SCHEDULED_START_JOB, create_scheduler
from bot.settings import ConfigError, Settings
from tests.builders import make_settings


def test_defaults():
    settings = Settings.from_env({})
    assert settings.review_channel is None and settings.review_min_heat == 0
    assert settings.remind_hours == 4
    assert settings.quiet_hours == QuietHours(time(20), time(8))
    assert settings.two_reviewers is None


def test_values():
    settings = Settings.from_env(
        {
            "NEWSBOT_REVIEW_CHANNEL": "C0REVIEW",
            "NEWSBOT_REVIEW_MIN_HEAT": "40",
            "NEWSBOT_REMIND_HOURS": "0",
            "NEWSBOT_QUIET_HOURS": "off",
            "NEWSBOT_TWO_REVIEWERS": " Privacy , computer   VISION,,",
        }
    )
    assert (settings.review_channel, settings.review_min_heat) == ("C0REVIEW", 40)
    assert settings.remind_hours == 0 and settings.quiet_hours is None
    assert settings.two_reviewers == frozenset({"privacy", "computer vision"})
    assert Settings.from_env({"NEWSBOT_TWO_REVIEWERS": "*"}).two_reviewers == frozenset({"*"})
    lunch = Settings.from_env({"NEWSBOT_QUIET_HOURS": "12:00-13:30"}).quiet_hours
    utc = ZoneInfo("UTC")
    assert lunch is not None and lunch.span(datetime(2026, 11, 30, 13, 29, tzinfo=UTC), utc)
    assert lunch.span(datetime(2026, 11, 30, 13, 30, tzinfo=UTC), utc) is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"NEWSBOT_REVIEW_CHANNEL": "#review"}, "NEWSBOT_REVIEW_CHANNEL='#review': expected a"),
        ({"NEWSBOT_REMIND_HOURS": "-1"}, "NEWSBOT_REMIND_HOURS='-1'"),
        ({"NEWSBOT_REMIND_HOURS": "often"}, "NEWSBOT_REMIND_HOURS='often'"),
        ({"NEWSBOT_QUIET_HOURS": "20:00"}, "NEWSBOT_QUIET_HOURS='20:00': expected a span"),
        ({"NEWSBOT_QUIET_HOURS": "20:00-25:00"}, "NEWSBOT_QUIET_HOURS='20:00-25:00'"),
        ({"NEWSBOT_QUIET_HOURS": "8:00-08:00"}, "starts and ends at the same time"),
        ({"NEWSBOT_TWO_REVIEWERS": "*, privacy"}, "NEWSBOT_TWO_REVIEWERS='*, privacy'"),
        ({"NEWSBOT_REVIEW_MIN_HEAT": "hot"}, "NEWSBOT_REVIEW_MIN_HEAT='hot'"),
    ],
)
def test_bad_values_name_the_variable(env, message):
    with pytest.raises(ConfigError) as err:
        Settings.from_env(env)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_serve_publishes_what_is_due_every_minute_and_at_start(slack, sqlite_url, articles_dir):
    settings = make_settings(slack, sqlite_url, articles_dir)
    jobs = {j.id: j for j in create_scheduler(settings, None, make_client(settings)).get_jobs()}
    assert {SCHEDULED_JOB, SCHEDULED_START_JOB} <= set(jobs) and REMINDER_JOB not in jobs
    assert jobs[SCHEDULED_START_JOB].kwargs == {"at_start": True}
    with_channel = make_settings(slack, sqlite_url, articles_dir, NEWSBOT_REVIEW_CHANNEL="C0R")
    scheduler = create_scheduler(with_channel, None, make_client(with_channel))
    assert REMINDER_JOB in {j.id for j in scheduler.get_jobs()}
    off = make_settings(
        slack, sqlite_url, articles_dir, NEWSBOT_REVIEW_CHANNEL="C0R", NEWSBOT_REMIND_HOURS="0"
    )
    assert REMINDER_JOB not in {
        j.id for j in create_scheduler(off, None, make_client(off)).get_jobs()
    }
