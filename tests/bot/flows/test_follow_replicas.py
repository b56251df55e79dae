"""Follow cards from separate processes: two posters on one PostgreSQL post a card once,
a cron `newsbot index` is posted by a running serve, and serve's folder watch posts a new
file within seconds."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.db import open_database
from storage.follows import add_follow
from storage.sync import sync
from tests.bot.follow_desk import CHANNEL, card_titles, write_article
from tests.bot.test_http import get, serve_env
from tests.builders import make_settings
from tests.slack_api import FakeSlack
from tests.slack_requests import slash_command

REPO = Path(__file__).resolve().parents[3]


def poster(url: str, slack: FakeSlack, folder: Path, *ahead: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.bot.flows.follow_post_helper",
            url,
            slack.api_url,
            str(folder),
            *ahead,
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def posted(process: subprocess.Popen[str]) -> int:
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return int(out.strip().splitlines()[-1])


@pytest.fixture
def found(postgres_url: str, tmp_path: Path) -> Iterator[Path]:
    """A follow on PostgreSQL, and an index run that found one article for it."""
    folder = tmp_path / "articles"
    folder.mkdir()
    db = open_database(postgres_url)
    with db.WriteSession.begin() as session:
        add_follow(session, channel=CHANNEL, typed="ai", user_id="U1", user_name="u")
    write_article(folder, "one", title="Only once", topics=("AI",))
    sync(db.WriteSession, folder)
    db.dispose()
    yield folder


def test_two_posters_on_postgresql_post_one_card(found: Path, postgres_url: str, slack: FakeSlack):
    gate = slack.hold_next("chat.postMessage")
    first = poster(postgres_url, slack, found)
    gate.wait_reached()  # the first holds the channel and has claimed the card
    second = poster(postgres_url, slack, found)
    late = poster(postgres_url, slack, found, "30")  # sees the channel's lease as run out
    assert posted(second) == 0
    assert posted(late) == 0
    gate.release()
    assert posted(first) == 1
    cards = [c for c in slack.calls_to("chat.postMessage") if c.ok]
    assert [card_titles(c) for c in cards] == [["Only once"]]


def test_many_posters_at_once_post_one_card(found: Path, postgres_url: str, slack: FakeSlack):
    processes = [poster(postgres_url, slack, found) for _ in range(4)]
    assert sorted(posted(p) for p in processes) == [0, 0, 0, 1]
    assert len(slack.calls_to("chat.postMessage", all_attempts=True)) == 1


def test_a_rate_limited_channel_is_left_to_whichever_poster_looks_after_its_retry_after(
    database_url: str, slack: FakeSlack, tmp_path: Path
):
    folder = tmp_path / "articles"
    folder.mkdir()
    db = open_database(database_url)
    with db.WriteSession.begin() as session:
        add_follow(session, channel=CHANNEL, typed="ai", user_id="U1", user_name="u")
    write_article(folder, "limited", title="Rate-limited", topics=("AI",))
    sync(db.WriteSession, folder)
    db.dispose()
    slack.rate_limit_next("chat.postMessage", retry_after=30)
    # The poster does not wait: it gives the card back, holds the channel and is done
    # (a deploy killing it then loses nothing).
    assert posted(poster(database_url, slack, folder)) == 0
    assert posted(poster(database_url, slack, folder)) == 0  # a replica, within Retry-After
    assert [c.status for c in slack.calls_to("chat.postMessage", all_attempts=True)] == [429]
    # The next poster to look once the Retry-After has passed.
    assert posted(poster(database_url, slack, folder, "1")) == 1
    cards = [c for c in slack.calls_to("chat.postMessage") if c.ok]
    assert [card_titles(c) for c in cards] == [["Rate-limited"]]


class Serve:
    """`newsbot serve` in HTTP mode against the Slack stand-in, its output read line by line."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.port = int(env["PORT"])
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        assert self.process.stdout is not None
        stdout = self.process.stdout
        threading.Thread(target=lambda: [self.lines.put(x) for x in stdout], daemon=True).start()

    def wait_for_line(self, text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            if text in line:
                return line
        pytest.fail(f"newsbot serve did not log {text!r} within {timeout} s")

    def wait_ready(self, timeout: float = 60) -> None:
        """Until GET /healthz answers 200 (the log line comes before the port is bound)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if get(f"http://127.0.0.1:{self.port}/healthz")[0] == 200:
                    return
            except OSError:
                pass
            assert self.process.poll() is None, "newsbot serve stopped"
            time.sleep(0.2)  # waiting for it to come up, not proving anything absent
        pytest.fail(f"newsbot serve did not answer /healthz within {timeout} s")

    def command(self, text: str, slack: FakeSlack) -> None:
        request = slash_command(text, channel_id=CHANNEL, response_url=slack.response_url())
        status, _body = request.post(f"http://127.0.0.1:{self.port}/slack/events")
        assert status == 200

    def stop(self) -> str:
        self.process.terminate()
        try:
            out, _ = self.process.communicate(timeout=30)
        finally:
            self.process.kill()
        return out or ""


@pytest.fixture
def serving(slack: FakeSlack, sqlite_url: str, tmp_path: Path):
    folder = tmp_path / "articles"
    folder.mkdir()
    write_article(folder, "old", title="Old AI", topics=("AI",))
    settings = make_settings(slack, sqlite_url, folder)
    started: list[Serve] = []

    def start(**env: str) -> Serve:
        serve = Serve(serve_env(slack, settings, **env), tmp_path)
        started.append(serve)
        serve.wait_ready()
        serve.command("follow ai", slack)
        (answer,) = slack.wait_for("response_url", timeout=30)
        assert "now follows" in json.dumps(answer.args["blocks"])
        return serve

    yield start, settings
    for serve in started:
        output = serve.stop()
        assert "Traceback" not in output, output


def test_a_cron_index_run_is_posted_by_serve(serving, slack: FakeSlack):
    start, settings = serving
    start()
    write_article(settings.articles_dir, "cron", title="From cron", topics=("AI",))
    env = {**os.environ, "NEWSBOT_DATABASE_URL": settings.database_url}
    index = subprocess.run(
        [sys.executable, "-m", "bot", "index", str(settings.articles_dir)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "1 added" in index.stdout, index.stderr
    (card,) = slack.wait_for("chat.postMessage", timeout=15)
    assert card_titles(card) == ["From cron"]


def test_the_watch_posts_a_new_file_within_seconds(serving, slack: FakeSlack):
    start, settings = serving
    serve = start(NEWSBOT_WATCH="true")
    serve.wait_for_line("watching")
    write_article(settings.articles_dir, "watched", title="Watched", topics=("AI",))
    (card,) = slack.wait_for("chat.postMessage", timeout=5)
    assert card_titles(card) == ["Watched"]
