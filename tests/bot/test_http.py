"""Over real HTTP: the cheroot server in front of the app, acking first and working after."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import sessionmaker

from bot.app import create_app
from bot.render import actions
from bot.server import HttpServer, listener_pool
from storage.db import Database, create_db_engine
from tests.builders import get, serve_env
from tests.slack_api import BOT_TOKEN
from tests.slack_requests import SIGNING_SECRET, block_action, sign, slash_command


@pytest.fixture
def server(settings, bot_db) -> Iterator[str]:
    pool = listener_pool()
    app = create_app(settings, bot_db, listener_executor=pool)
    http = HttpServer(app, bot_db, host="127.0.0.1", port=0, threads=8)
    http.start()
    yield f"http://127.0.0.1:{http.port}"
    http.stop()
    pool.shutdown(wait=True)


def test_healthz(server, bot_db):
    assert get(f"{server}/healthz") == (200, {"status": "ok", "database": "sqlite"})
    assert get(f"{server}/nothing-here")[0] == 404


def test_healthz_is_503_when_the_database_does_not_answer(app):
    # Port 9 (discard) has no PostgreSQL behind it on this machine.
    engine = create_db_engine("postgresql://newsbot@127.0.0.1:9/newsbot")
    down = Database(engine, sessionmaker(engine), sessionmaker(engine))
    http = HttpServer(app, down, host="127.0.0.1", port=0)
    http.start()
    try:
        assert get(f"http://127.0.0.1:{http.port}/healthz") == (503, {})
    finally:
        http.stop()


def test_slash_command_is_acked_then_answered(server, slack):
    request = slash_command("computer vision", response_url=slack.response_url())
    status, body = request.post(f"{server}/slack/events")
    assert (status, body) == (200, "")
    (reply,) = slack.wait_for("response_url")
    assert "Harbor City" in json.dumps(reply.args["blocks"])


@pytest.mark.parametrize(
    "tamper",
    [
        lambda r: {**r.headers, "X-Slack-Signature": "v0=" + "0" * 64},
        lambda r: {k: v for k, v in r.headers.items() if k != "X-Slack-Signature"},
        lambda r: sign(r.body, SIGNING_SECRET, int(time.time()) - 6 * 60),
        lambda r: sign(r.body, "not-the-secret"),
    ],
    ids=["bad signature", "no signature", "stale timestamp", "wrong secret"],
)
def test_unverified_requests_get_401_and_do_nothing(server, slack, tamper):
    request = slash_command("computer vision", response_url=slack.response_url())
    forged = type(request)(body=request.body, headers=tamper(request), payload=request.payload)
    assert forged.post(f"{server}/slack/events")[0] == 401
    time.sleep(0.3)  # any work would have been scheduled by now
    assert [c.method for c in slack.calls if c.method != "auth.test"] == []


def test_a_retried_share_posts_once(server, slack):
    request = slash_command("computer vision", response_url=slack.response_url())
    request.post(f"{server}/slack/events")
    (reply,) = slack.wait_for("response_url")
    click = block_action(
        actions.NEWS_SHARE, message_blocks=reply.args["blocks"], response_url=slack.response_url()
    )
    assert click.post(f"{server}/slack/events")[0] == 200
    headers = sign(click.body, SIGNING_SECRET, content_type=click.content_type)
    headers |= {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    retry = type(click)(body=click.body, headers=headers, payload=click.payload)
    assert retry.post(f"{server}/slack/events")[0] == 200
    slack.wait_for("chat.postMessage")
    with pytest.raises(AssertionError):
        slack.wait_for("chat.postMessage", count=2, timeout=1)


def test_rate_limited_post_is_retried_not_lost(server, slack):
    request = slash_command("computer vision", response_url=slack.response_url())
    request.post(f"{server}/slack/events")
    (reply,) = slack.wait_for("response_url")
    slack.rate_limit_next("chat.postMessage", retry_after=1)
    click = block_action(
        actions.NEWS_SHARE, message_blocks=reply.args["blocks"], response_url=slack.response_url()
    )
    click.post(f"{server}/slack/events")
    slack.wait_for("chat.postMessage", timeout=10)
    assert len(slack.calls_to("chat.postMessage", all_attempts=True)) == 2


def test_newsbot_serve_answers_and_stops_cleanly_on_sigterm(slack, settings, tmp_path):
    env = serve_env(slack, settings)
    port = int(env["PORT"])
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if get(f"http://127.0.0.1:{port}/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("newsbot serve did not answer /healthz within 30 s")
        request = slash_command("privacy", response_url=slack.response_url())
        assert request.post(f"http://127.0.0.1:{port}/slack/events")[0] == 200
        (reply,) = slack.wait_for("response_url")
        assert "Voter Roll" in json.dumps(reply.args["blocks"])
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, output
    assert "shutting down" in output
    assert BOT_TOKEN not in output and SIGNING_SECRET not in output


def run_serve(slack, settings, tmp_path, **env_vars) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        cwd=tmp_path,
        env=serve_env(slack, settings, **env_vars),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_socket_mode_connects_through_slack_api_url(slack, settings, tmp_path):
    # The stand-in refuses the app-level token, which shows where Socket Mode asked.
    result = run_serve(slack, settings, tmp_path, SLACK_APP_TOKEN="xapp-1-A1-secret")
    (opened,) = slack.calls_to("apps.connections.open")
    assert opened.headers["authorization"] == "Bearer xapp-1-A1-secret"
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "newsbot: Slack refused SLACK_APP_TOKEN (invalid_auth): create an app-level token "
        "with connections:write under Basic Information"
    )
    assert "xapp-1-A1-secret" not in result.stderr + result.stdout


def test_a_refused_bot_token_is_one_sentence(slack, settings, tmp_path):
    result = run_serve(slack, settings, tmp_path, SLACK_BOT_TOKEN="xoxb-wrong-secret")
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN" in result.stderr.strip().splitlines()[-1]
    assert "Traceback" not in result.stderr
    assert "xoxb-wrong-secret" not in result.stderr + result.stdout
