"""The daily digest when Slack cannot be reached, or the connection drops after sending."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import make_client
from bot.flows.digest import DigestError, DigestUnreachable, post_digest
from bot.scheduler import DIGEST_RETRY_JOB, catch_up_job, create_scheduler, digest_job
from bot.settings import Settings
from storage.db import Database, open_database
from storage.models import DigestRun
from storage.sync import sync
from tests.bot.conftest import make_settings
from tests.slack_api import BOT_TOKEN, FakeSlack
from tests.slack_requests import SIGNING_SECRET

DAY = date(2026, 11, 26)
DUE = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
CHANNEL = "C0DIGEST"


def closed_port_url() -> str:
    """An API URL on a local port that refuses connections: bound, then closed."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    folder.mkdir()
    for n, heat in enumerate([95, 80]):
        when = DUE - timedelta(hours=2)
        (folder / f"s{n}.md").write_text(
            f'---\ntitle: "Story {n}"\nwebUrl: "https://news.example/{n}"\nheat: {heat}\n'
            f"publishedDateTime: {when:%Y-%m-%dT%H:%M:%SZ}\n---\n"
        )
    return folder


def digest_settings(slack: FakeSlack, url: str, folder: Path, **env: str) -> Settings:
    env = {"NEWSBOT_DIGEST_CHANNEL": CHANNEL, "NEWSBOT_TIMEZONE": "Europe/Berlin", **env}
    return make_settings(slack, url, folder, **env)


@pytest.fixture
def db(database_url: str, folder: Path) -> Iterator[Database]:
    database = open_database(database_url)
    sync(database.WriteSession, folder)
    yield database
    database.dispose()


def runs(db: Database) -> list[tuple[str, str | None]]:
    with db.Session() as session:
        return [(r.status, r.message_ts) for r in session.scalars(select(DigestRun))]


def test_unreachable_slack_gives_the_claim_back_and_tries_again(
    slack, folder, db, database_url, caplog
):
    caplog.set_level(logging.INFO)
    down = digest_settings(slack, database_url, folder, SLACK_API_URL=closed_port_url())
    client = make_client(down, retry_connections=False)
    scheduler = create_scheduler(down, db, client)

    digest_job(down, db, client, now=DUE, scheduler=scheduler)

    assert runs(db) == []  # nothing was posted: the claim is free again
    ours = [r for r in caplog.records if r.name.startswith("bot") and r.levelno >= logging.WARNING]
    (said,) = ours
    assert said.exc_info is None and "\n" not in said.getMessage()
    assert "Slack could not be reached" in said.getMessage()
    assert "nothing was posted" in said.getMessage()
    retry = scheduler.get_job(DIGEST_RETRY_JOB)
    assert retry is not None and retry.func is catch_up_job

    # Slack answers again: the retry (the catch-up) posts it, once, marked late.
    up = digest_settings(slack, database_url, folder)
    retry.func(up, db, make_client(up, retry_connections=False), now=DUE + timedelta(minutes=5))
    (posted,) = slack.calls_to("chat.postMessage")
    assert runs(db) == [("posted", posted.response["ts"])]
    catch_up_job(up, db, make_client(up), now=DUE + timedelta(hours=1))  # the next start
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_a_dropped_connection_after_sending_is_not_posted_twice(slack, folder, db, database_url):
    settings = digest_settings(slack, database_url, folder)
    client = make_client(settings, retry_connections=False)
    slack.drop_next("chat.postMessage")
    with pytest.raises(DigestError) as raised:
        post_digest(settings, db, client, channel=CHANNEL, local_date=DAY, now=DUE)
    assert not isinstance(raised.value, DigestUnreachable)
    assert "may be in C0DIGEST" in str(raised.value)
    assert runs(db) == [("claimed", None)]  # at most once: documented in 'Exactly once'
    again = post_digest(settings, db, client, channel=CHANNEL, local_date=DAY, now=DUE)
    assert again.status == "already-posted"
    assert len(slack.calls_to("chat.postMessage", all_attempts=True)) == 1


def test_newsbot_digest_says_one_sentence_when_slack_cannot_be_reached(
    slack, folder, sqlite_url, tmp_path
):
    db = open_database(sqlite_url)
    sync(db.WriteSession, folder)
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": closed_port_url(),
        "NEWSBOT_DATABASE_URL": sqlite_url,
        "NEWSBOT_TIMEZONE": "Europe/Berlin",
        "NEWSBOT_DIGEST_CHANNEL": CHANNEL,
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "digest", "--date", "2026-11-26"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("newsbot: Slack could not be reached at 127.0.0.1:")
    assert "Connection refused" in last and "nothing was posted to C0DIGEST" in last
    assert BOT_TOKEN not in result.stderr
    assert runs(db) == []

    env["SLACK_API_URL"] = slack.api_url
    result = subprocess.run(
        [sys.executable, "-m", "bot", "digest", "--date", "2026-11-26"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    (posted,) = slack.calls_to("chat.postMessage")
    assert "Story 0" in json.dumps(posted.args["blocks"])
    db.dispose()


def test_serve_logs_one_sentence_when_slack_is_gone_at_digest_time(slack, tmp_path, sqlite_url):
    from tests.bot.test_http import get, serve_env

    folder = tmp_path / "today"
    folder.mkdir()
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    (folder / "hot.md").write_text(
        f'---\ntitle: "Hot"\nwebUrl: "https://news.example/hot"\nheat: 99\n'
        f"publishedDateTime: {midnight - timedelta(hours=2):%Y-%m-%dT%H:%M:%SZ}\n---\n"
    )
    digest = {
        "NEWSBOT_DIGEST_CHANNEL": CHANNEL,
        "NEWSBOT_TIMEZONE": "UTC",
        "NEWSBOT_DIGEST_TIME": "00:00",
    }
    env = serve_env(slack, make_settings(slack, sqlite_url, folder), **digest)
    port = int(env["PORT"])
    # serve checks the token with auth.test, then starts the scheduler, whose catch-up posts
    # today's (late) digest at once. Slack goes away in between.
    held = slack.hold_next("auth.test")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        held.wait_reached(timeout=60)
        slack.stop()  # the port now refuses connections; the held call still gets its answer
        held.release()
        deadline = time.monotonic() + 60
        while not any("daily digest" in line for line in lines):
            assert time.monotonic() < deadline, "".join(lines)
            assert proc.poll() is None, "".join(lines)
            time.sleep(0.1)
        assert get(f"http://127.0.0.1:{port}/healthz")[0] == 200  # still serving
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        reader.join(timeout=10)
    finally:
        proc.kill()
    output = "".join(lines)
    assert proc.returncode == 0, output
    assert "Traceback" not in output
    # Bolt warns at every start that the client's token wins; the rest is the outage.
    problems = [
        line
        for line in lines
        if (" WARNING " in line or " ERROR " in line) and "`token` will be unused" not in line
    ]
    (said,) = problems
    assert "daily digest for" in said and "not posted yet: Slack could not be reached" in said
    assert "nothing was posted" in said and "trying again at" in said
    db = open_database(sqlite_url)
    assert runs(db) == []  # the claim is free for the retry and the next start
    db.dispose()
