"""Posting the digest against the Slack-like server: once, late when late, never twice."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.app import make_client
from bot.cli import main
from bot.flows.digest import DigestError, post_digest
from bot.scheduler import (
    CATCH_UP_JOB,
    DIGEST_JOB,
    FINISH_DECISIONS_JOB,
    FORGET_JOB,
    REFRESH_CARDS_JOB,
    REINDEX_JOB,
    catch_up_job,
    create_scheduler,
)
from storage.db import open_database
from storage.models import DigestRun, PostedMessage
from storage.sync import sync
from tests.bot.conftest import make_settings
from tests.slack_api import BOT_TOKEN
from tests.slack_requests import SIGNING_SECRET, slash_command

DAY = date(2026, 11, 26)
DUE = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
CHANNEL = "C0DIGEST"


def write(folder, name, *, heat, hours_before=2, domain=None):
    when = DUE - timedelta(hours=hours_before)
    (folder / f"{name}.md").write_text(
        f'---\ntitle: "Story {name}"\nwebUrl: "https://news.example/{name}"\nheat: {heat}\n'
        f"publishedDateTime: {when:%Y-%m-%dT%H:%M:%SZ}\n"
        f"provider:\n  name: P\n  domain: {domain or name + '.example'}\n"
        'images:\n  - url: "https://img.example/a.jpg?x=1&y=2"\n    title: "pic"\n---\n'
    )


@pytest.fixture
def env(slack, tmp_path):
    folder = tmp_path / "digest-articles"
    folder.mkdir()
    return folder


def digest_settings(slack, url, folder, **extra):
    return make_settings(
        slack,
        url,
        folder,
        NEWSBOT_DIGEST_CHANNEL=CHANNEL,
        NEWSBOT_TIMEZONE="Europe/Berlin",
        NEWSBOT_DIGEST_TIME="09:00",
        **extra,
    )


@pytest.fixture
def setup(slack, env, database_url):
    for n, heat in enumerate([95, 80, 70, 20]):
        write(env, f"s{n}", heat=heat)
    settings = digest_settings(slack, database_url, env)
    db = open_database(database_url)
    sync(db.WriteSession, env)
    yield settings, db
    db.dispose()


def post(settings, db, **kw):
    client = make_client(settings, retry_connections=False)
    return post_digest(settings, db, client, channel=CHANNEL, local_date=DAY, now=DUE, **kw)


def test_posts_one_message_with_cards_and_images_once(setup, slack):
    settings, db = setup
    result = post(settings, db)
    assert result.status == "posted" and not result.late
    (call,) = slack.calls_to("chat.postMessage")
    assert call.args["channel"] == CHANNEL
    assert call.args["unfurl_links"] is False and call.args["unfurl_media"] is False
    blocks = json.dumps(call.args["blocks"])
    assert "Thursday, Nov 26" in blocks
    assert [t for t in ("Story s0", "Story s1", "Story s2", "Story s3") if t in blocks] == [
        "Story s0",
        "Story s1",
        "Story s2",
    ]
    assert blocks.count('"type": "image"') == 3
    assert "Story s0" in call.args["text"] or "3 stories" in call.args["text"]

    again = post(settings, db)
    assert again.status == "already-posted" and again.message_ts == result.message_ts
    assert len(slack.calls_to("chat.postMessage")) == 1
    with db.Session() as session:
        assert [m.message_ts for m in session.scalars(select(PostedMessage))] == [result.message_ts]


def test_nothing_hot_posts_nothing_and_says_why(slack, env, sqlite_url, caplog):
    caplog.set_level(logging.INFO)
    write(env, "cold", heat=10)
    settings = digest_settings(slack, sqlite_url, env)
    db = open_database(sqlite_url)
    sync(db.WriteSession, env)
    assert post(settings, db).status == "nothing-to-post"
    assert slack.calls_to("chat.postMessage") == []
    assert "no article with heat >= 50" in caplog.text


def test_a_429_is_waited_out_and_posts_once(setup, slack):
    settings, db = setup
    slack.rate_limit_next("chat.postMessage", retry_after=1)
    assert post(settings, db).status == "posted"
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert len(slack.calls_to("chat.postMessage", all_attempts=True)) == 2


def test_a_slack_error_releases_the_claim_with_a_fix(setup, slack):
    settings, db = setup
    slack.fail_next("chat.postMessage", "not_in_channel")
    with pytest.raises(DigestError, match="invite it there with /invite @newsbot"):
        post(settings, db)
    with db.Session() as session:
        assert session.scalars(select(DigestRun)).all() == []
    assert post(settings, db).status == "posted"


def test_late_digest_says_so(setup, slack):
    settings, db = setup
    result = post_digest(
        settings,
        db,
        make_client(settings),
        channel=CHANNEL,
        local_date=DAY,
        now=DUE + timedelta(hours=3),
    )
    assert result.late
    assert "posted late" in json.dumps(slack.calls_to("chat.postMessage")[0].args["blocks"])


def test_twenty_items_split_into_a_thread(slack, env, sqlite_url):
    for n in range(20):
        write(env, f"t{n:02d}", heat=99 - n)
    settings = digest_settings(slack, sqlite_url, env, NEWSBOT_DIGEST_SIZE="20")
    db = open_database(sqlite_url)
    sync(db.WriteSession, env)
    post(settings, db)
    calls = slack.calls_to("chat.postMessage")
    assert len(calls) >= 2
    first_ts = calls[0].response["ts"]
    assert all(c.args["thread_ts"] == first_ts for c in calls[1:])
    carried = "".join(json.dumps(c.args["blocks"]) for c in calls)
    assert all(f"Story t{n:02d}" in carried for n in range(20))


def test_catch_up_after_a_restart_posts_once_marked_late(setup, slack):
    settings, db = setup
    client = make_client(settings)
    catch_up_job(settings, db, client, now=DUE - timedelta(minutes=30))
    assert slack.calls_to("chat.postMessage") == []  # not due yet: the cron job will post
    catch_up_job(settings, db, client, now=DUE + timedelta(hours=4))
    catch_up_job(settings, db, client, now=DUE + timedelta(hours=5))  # another restart
    (posted,) = slack.calls_to("chat.postMessage")
    assert "posted late" in json.dumps(posted.args["blocks"])


def test_scheduler_jobs(setup, slack):
    settings, db = setup
    scheduler = create_scheduler(settings, db, make_client(settings))
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {
        DIGEST_JOB,
        CATCH_UP_JOB,
        REINDEX_JOB,
        FORGET_JOB,
        FINISH_DECISIONS_JOB,
        REFRESH_CARDS_JOB,
    }
    trigger = jobs[DIGEST_JOB].trigger
    assert str(trigger.timezone) == "Europe/Berlin"
    first = trigger.get_next_fire_time(None, datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    assert first.astimezone(UTC) == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # after DST starts
    assert scheduler._job_defaults["coalesce"] is True
    assert scheduler._job_defaults["max_instances"] == 1


def test_dry_run_prints_blocks_and_posts_nothing(setup, slack, monkeypatch, capsys, database_url):
    monkeypatch.setenv("NEWSBOT_DATABASE_URL", database_url)
    monkeypatch.setenv("NEWSBOT_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("SLACK_API_URL", slack.api_url)
    assert main(["digest", "--channel", CHANNEL, "--date", "2026-11-26", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Story s0" in out and "https://app.slack.com/block-kit-builder/#" in out
    assert slack.calls_to("chat.postMessage") == []


def test_two_processes_at_once_post_one_digest(setup, slack, database_url, tmp_path):
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "NEWSBOT_DATABASE_URL": database_url,
        "NEWSBOT_TIMEZONE": "Europe/Berlin",
        "NEWSBOT_DIGEST_CHANNEL": CHANNEL,
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "digest", "--date", "2026-11-26"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=60)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert sum("already posted" in o for o in outputs) == 1, outputs


def test_news_digest_previews_only_to_the_caller(slack, env, sqlite_url):
    from bot.app import create_app

    write(env, "now-hot", heat=90, hours_before=-0)
    settings = digest_settings(slack, sqlite_url, env)
    db = open_database(sqlite_url)
    sync(db.WriteSession, env)
    app = create_app(settings, db, process_before_response=True)
    request = slash_command("digest", response_url=slack.response_url())
    assert app.dispatch(request.bolt_request()).status == 200
    (reply,) = slack.calls_to("response_url")
    assert reply.args["response_type"] == "ephemeral"
    assert "Newsbot digest" in json.dumps(reply.args["blocks"])
    assert slack.calls_to("chat.postMessage") == []
