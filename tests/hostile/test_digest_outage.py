"""The daily digest when Slack cannot be reached, or the connection drops after sending."""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import make_client
from bot.flows.digest import DigestError, DigestUnreachable, post_digest
from bot.scheduler import DIGEST_RETRY_JOB, create_scheduler, digest_job
from storage.db import Database
from storage.models import DigestRun
from tests.builders import (
    DIGEST_CHANNEL,
    DIGEST_DAY,
    DIGEST_DUE,
    closed_port_url,
    digest_settings,
    indexed,
    make_settings,
    newsbot_env,
    run_newsbot,
    serve_env,
    start_newsbot,
    wait_until_healthy,
    write_article,
    write_story,
)
from tests.slack_api import BOT_TOKEN


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    for n, heat in enumerate([95, 80]):
        write_story(folder, f"s{n}", heat=heat)
    return folder


@pytest.fixture
def db(database_url: str, folder: Path) -> Iterator[Database]:
    with indexed(database_url, folder) as database:
        yield database


def runs(db: Database) -> list[tuple[str, str | None]]:
    with db.Session() as session:
        return [(r.status, r.message_ts) for r in session.scalars(select(DigestRun))]


def test_unreachable_slack_gives_the_claim_back_and_tries_again(
    slack, folder, db, database_url, caplog
):
    caplog.set_level(logging.INFO)
    # A proxy's URL may carry credentials: the sentence names the host, never them.
    proxy = closed_port_url(credentials="newsbot:pr0xy-pa55@")
    down = digest_settings(slack, database_url, folder, SLACK_API_URL=proxy)
    client = make_client(down, retry_connections=False)
    scheduler = create_scheduler(down, db, client)

    digest_job(down, db, client, now=DIGEST_DUE, scheduler=scheduler)

    assert runs(db) == []  # nothing was posted: the claim is free again
    ours = [r for r in caplog.records if r.name.startswith("bot") and r.levelno >= logging.WARNING]
    (said,) = ours
    assert said.exc_info is None and "\n" not in said.getMessage()
    assert "Slack could not be reached at 127.0.0.1:" in said.getMessage()
    assert "nothing was posted" in said.getMessage() and "pr0xy-pa55" not in caplog.text
    retry = scheduler.get_job(DIGEST_RETRY_JOB)
    assert retry is not None and retry.func is digest_job and retry.kwargs["catch_up"] is True

    # Slack answers again: the retry (the catch-up) posts it, once, marked late.
    up = digest_settings(slack, database_url, folder)
    retry.func(
        up, db, make_client(up, retry_connections=False), now=DIGEST_DUE + timedelta(minutes=5)
    )
    (posted,) = slack.calls_to("chat.postMessage")
    assert runs(db) == [("posted", posted.response["ts"])]
    digest_job(up, db, make_client(up), now=DIGEST_DUE + timedelta(hours=1), catch_up=True)
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_a_dropped_connection_after_sending_is_not_posted_twice(slack, folder, db, database_url):
    settings = digest_settings(slack, database_url, folder)
    client = make_client(settings, retry_connections=False)
    slack.drop_next("chat.postMessage")
    with pytest.raises(DigestError) as raised:
        post_digest(
            settings, db, client, channel=DIGEST_CHANNEL, local_date=DIGEST_DAY, now=DIGEST_DUE
        )
    assert not isinstance(raised.value, DigestUnreachable)
    assert "may be in C0DIGEST" in str(raised.value)
    assert runs(db) == [("claimed", None)]  # at most once: documented in 'Exactly once'
    again = post_digest(
        settings, db, client, channel=DIGEST_CHANNEL, local_date=DIGEST_DAY, now=DIGEST_DUE
    )
    assert again.status == "already-posted"
    assert len(slack.calls_to("chat.postMessage", all_attempts=True)) == 1


def test_newsbot_digest_says_one_sentence_when_slack_cannot_be_reached(
    slack, folder, sqlite_url, tmp_path
):
    down = digest_settings(slack, sqlite_url, folder, SLACK_API_URL=closed_port_url())
    env = newsbot_env(down)
    with indexed(sqlite_url, folder) as db:
        result = run_newsbot("digest", "--date", "2026-11-26", env=env, cwd=tmp_path)
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith("newsbot: Slack could not be reached at 127.0.0.1:")
        assert "Connection refused" in last and "nothing was posted to C0DIGEST" in last
        assert BOT_TOKEN not in result.stderr
        assert runs(db) == []

        env["SLACK_API_URL"] = slack.api_url
        result = run_newsbot("digest", "--date", "2026-11-26", env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        (posted,) = slack.calls_to("chat.postMessage")
        assert "Story s0" in json.dumps(posted.args["blocks"])


def test_serve_logs_one_sentence_when_slack_is_gone_at_digest_time(slack, tmp_path, sqlite_url):
    folder = tmp_path / "today"
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    write_article(folder, "hot", heat=99, publishedDateTime=midnight - timedelta(hours=2))
    digest = {
        "NEWSBOT_DIGEST_CHANNEL": DIGEST_CHANNEL,
        "NEWSBOT_TIMEZONE": "UTC",
        "NEWSBOT_DIGEST_TIME": "00:00",
    }
    env = serve_env(slack, make_settings(slack, sqlite_url, folder), **digest)
    port = int(env["PORT"])
    # serve checks the token with auth.test, then starts the scheduler, whose catch-up posts
    # today's (late) digest at once. Slack goes away in between.
    held = slack.hold_next("auth.test")
    proc = start_newsbot("serve", env=env, cwd=tmp_path)
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
        # Still serving: the digest's catch-up may run before the listener is up, so wait.
        wait_until_healthy(port, proc)
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
    with indexed(sqlite_url, folder) as db:
        assert runs(db) == []  # the claim is free for the retry and the next start
