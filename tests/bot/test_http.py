"""Over real HTTP: the waitress server in front of the app, acking first and working after."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from sqlalchemy.orm import sessionmaker

from bot.app import create_app
from bot.http_server import HttpServer
from bot.render import actions
from bot.server import listener_pool
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


def test_head_requests_get_headers_only_and_the_connection_stays_usable(server):
    conn = http.client.HTTPConnection(urlsplit(server).netloc, timeout=5)
    for method, path, status in [("HEAD", "/healthz", 200), ("HEAD", "/slack/events", 405)]:
        conn.request(method, path)
        response = conn.getresponse()
        assert (response.status, response.read()) == (status, b"")
        assert int(response.headers["Content-Length"]) > 0
    conn.request("GET", "/healthz")
    assert json.loads(conn.getresponse().read())["status"] == "ok"
    conn.close()


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


def test_a_request_in_flight_is_answered_when_the_server_stops(app):
    """stop() refuses new connections at once, and waits for the requests already in."""
    with socket.socket() as database, ThreadPoolExecutor(2) as background:
        # A PostgreSQL that accepts the connection and is slow to say anything.
        database.bind(("127.0.0.1", 0))
        database.listen()
        engine = create_db_engine(f"postgresql://newsbot@127.0.0.1:{database.getsockname()[1]}/x")
        slow = Database(engine, sessionmaker(engine), sessionmaker(engine))
        http = HttpServer(app, slow, host="127.0.0.1", port=0)
        http.start()
        url = f"http://127.0.0.1:{http.port}/healthz"
        health = background.submit(get, url)
        connection, _ = database.accept()  # the health check now waits on the database
        stopped = background.submit(http.stop)
        deadline = time.monotonic() + 10
        while not _refused(http.port):
            assert time.monotonic() < deadline, "the server still accepts after stop()"
            time.sleep(0.01)  # not a flood of connections, which the kernel would drop
        assert not stopped.done()
        connection.close()  # the database hangs up: the check fails, and is answered
        assert health.result(timeout=10) == (503, {})
        stopped.result(timeout=10)


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except (ConnectionRefusedError, ConnectionResetError):  # reset: closed while queued
        return True
    return False


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
    # A signed command after it is answered; had the forged one been acted on,
    # its answer would have been scheduled first.
    signed = slash_command("privacy", response_url=slack.response_url())
    assert signed.post(f"{server}/slack/events")[0] == 200
    (reply,) = slack.wait_for("response_url")
    assert reply.args["_url"] == urlsplit(signed.payload["response_url"]).path
    assert [c.method for c in slack.calls if c.method != "auth.test"] == ["response_url"]


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
