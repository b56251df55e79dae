"""Requests Slack did not sign, or signed but malformed, or sent to wear the server down,
against a real `newsbot serve` over HTTP.

To show that nothing was sent, each test then makes a request that does send
something, and checks that the Slack stand-in saw exactly that.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import select
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import pytest

from bot.app import create_app
from bot.http_server import HttpServer
from bot.render import actions
from bot.settings import Settings
from storage.db import Database, open_database
from storage.sync import sync
from tests.builders import make_settings
from tests.conftest import EXAMPLES
from tests.hostile.http_support import (
    Served,
    exchange,
    get,
    raw_request,
    read_response,
    serve,
    stream,
    vm_rss_kib,
)
from tests.slack_api import Call, FakeSlack
from tests.slack_requests import (
    FORM,
    JSON,
    SIGNING_SECRET,
    SlackRequest,
    block_action,
    sign_bytes,
    slash_command,
    url_verification,
)

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with FakeSlack() as slack, serve(tmp_path_factory.mktemp("serve"), slack) as running:
        yield running
        assert slack.block_kit_violations == []


@pytest.fixture
def fresh(served: Served) -> Served:
    """The shared server, with the Slack stand-in's record cleared."""
    served.slack.reset()
    return served


def reply_at(slack: FakeSlack, response_url: str, count: int = 1) -> list[Call]:
    """Wait until `count` answers reached `response_url`; all answers there."""
    path = urlsplit(response_url).path
    deadline = time.monotonic() + 10
    while True:
        calls = [c for c in slack.calls_to("response_url") if c.args.get("_url") == path]
        if len(calls) >= count:
            return calls
        if time.monotonic() > deadline:
            raise AssertionError(f"{count} answer(s) to {path} expected; saw {len(calls)}")
        time.sleep(0.05)


def news(served: Served, text: str, response_url: str) -> Call:
    """A signed `/news text` over HTTP, and its answer, once its search is logged too (the log
    is written after the answer: a test comparing the database next must not see it land)."""
    logged = served.searches_logged()
    assert served.post(slash_command(text, response_url=response_url)) == 200
    (answer,) = reply_at(served.slack, response_url)
    deadline = time.monotonic() + 30
    while served.searches_logged() == logged:
        assert time.monotonic() < deadline, f"the search for {text!r} was never logged"
        time.sleep(0.02)
    return answer


def refused_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if " refused " in line]


# --- requests Slack did not sign ----------------------------------------------------


Tamper = Callable[[dict, bytes], dict]  # (signed headers, body) -> the headers sent
SIG = "X-Slack-Signature"
TS = "X-Slack-Request-Timestamp"


def _with(name: str, value: str | bytes) -> Tamper:
    return lambda headers, body: {**headers, name: value}


def _without(*names: str) -> Tamper:
    return lambda headers, body: {k: v for k, v in headers.items() if k not in names}


def _signed_at(timestamp: Callable[[int], str]) -> Tamper:
    """A correct HMAC, but over a timestamp Slack would never send."""
    return lambda headers, body: sign_bytes(body, SIGNING_SECRET, timestamp(int(time.time())))


FORGERIES: dict[str, Tamper] = {
    "no signature": _without(SIG),
    "no timestamp": _without(TS),
    "neither header": _without(SIG, TS),
    "empty signature": _with(SIG, ""),
    "non-ASCII byte in the signature": _with(SIG, b"v0=\xff" + b"0" * 63),
    "signature one short": _with(SIG, "v0=" + "0" * 63),
    "signature far too long": _with(SIG, "v0=" + "0" * 6000),
    "signature without v0=": lambda h, body: {**h, SIG: h[SIG].removeprefix("v0=")},
    "signature in capitals": lambda h, body: {**h, SIG: "v0=" + h[SIG][3:].upper()},
    "signature from another secret": lambda h, body: sign_bytes(body, "not-the-secret"),
    "signature of another body": lambda h, body: sign_bytes(body + b"&x=1", SIGNING_SECRET),
    "non-numeric timestamp": _with(TS, "yesterday"),
    "empty timestamp": _with(TS, ""),
    "timestamp of 5000 digits": _with(TS, "9" * 5000),
    "non-ASCII timestamp": _with(TS, "١٧٦٤١٥٠٠٠٠".encode()),
    "stale timestamp": _signed_at(lambda now: str(now - 6 * 60)),
    "timestamp in the future": _signed_at(lambda now: str(now + 6 * 60)),
    "timestamp with a plus sign": _signed_at(lambda now: f"+{now}"),
    "timestamp with spaces": _signed_at(lambda now: f" {now} "),
    "timestamp with leading zeros": _signed_at(lambda now: f"000{now}"),
    "negative timestamp": _signed_at(lambda now: f"-{now}"),
}


@pytest.mark.parametrize("forgery", FORGERIES.values(), ids=FORGERIES.keys())
def test_a_request_slack_did_not_sign_gets_401_and_does_nothing(fresh, forgery):
    blocks = news(fresh, "computer vision", fresh.slack.response_url()).args["blocks"]
    attacker = fresh.slack.response_url()
    click = block_action(actions.NEWS_SHARE, message_blocks=blocks, response_url=attacker)
    before = fresh.database_dump()
    log_start = fresh.output_size()

    headers = forgery(click.headers, click.body.encode())
    answer = fresh.send(raw_request("POST", "/slack/events", headers, click.body.encode()))

    assert answer.status == 401
    assert fresh.database_dump() == before
    (line,) = refused_lines(fresh.output(log_start))
    assert "POST /slack/events: 401" in line
    # The same click signed: it is acted on once. Had the forgery been recorded
    # it would be skipped as a retry; had it been acted on, posted twice.
    assert fresh.post(click) == 200
    fresh.slack.wait_for("chat.postMessage")
    # An answer to the attacker's response_url comes only from a real /news now.
    news(fresh, "privacy", attacker)
    assert len(reply_at(fresh.slack, attacker)) == 1
    assert len(fresh.slack.calls_to("chat.postMessage")) == 1


@dataclass
class Local:
    """The app in this process, for what needs no HTTP or a server set up differently."""

    settings: Settings
    db: Database
    slack: FakeSlack


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Local]:
    with FakeSlack() as slack:
        articles = tmp_path / "articles"
        shutil.copytree(EXAMPLES, articles)
        settings = make_settings(slack, f"sqlite:///{tmp_path / 'db.sqlite'}", articles)
        db = open_database(settings.database_url)
        sync(db.WriteSession, articles)
        try:
            yield Local(settings, db, slack)
        finally:
            db.dispose()


def test_an_unsigned_request_gets_no_answer_even_straight_into_the_app(local):
    """As a proxy or a test would call it: the app refuses on its own."""
    app = create_app(local.settings, local.db, process_before_response=True)
    request = slash_command("ai", response_url=local.slack.response_url())
    forged = SlackRequest(request.body, {**request.headers, TS: "not-a-time"}, request.payload)
    assert app.dispatch(forged.bolt_request()).status == 401
    assert app.dispatch(request.bolt_request()).status == 200
    assert [c.args["_url"] for c in local.slack.calls_to("response_url")] == ["/response/1"]


def test_a_failure_over_socket_mode_still_tells_the_user(local):
    """Socket Mode requests carry no signature: the socket vouches for them."""
    app = create_app(local.settings, local.db, process_before_response=True)
    local.db.engine.dispose()
    Path(local.db.engine.url.database).unlink()  # the next query meets an empty database
    request = slash_command("ai", response_url=local.slack.response_url())
    app.dispatch(request.socket_mode_request())
    (told,) = local.slack.calls_to("response_url")
    assert "something went wrong" in told.args["text"].lower()


# --- signed, but not what Slack sends ----------------------------------------------

# Where a body carries a response_url, it is the stand-in's: answering there would show.
HERE = b"RESPONSE_URL"


def _payload(payload: dict) -> bytes:
    return b"payload=" + quote(json.dumps(payload)).encode()


MALFORMED = {
    "JSON array": (b"[1, 2]", JSON),
    "JSON string": (b'"event_callback"', JSON),
    "JSON without a type": (b'{"challenge": "x"}', JSON),
    "event_callback without an event": (b'{"type": "event_callback"}', JSON),
    "ids of the wrong type": (
        b'{"type": "event_callback", "event": {"type": "x"}, "authorizations": 5}',
        JSON,
    ),
    "JSON nested 100000 deep": (b"[" * 100_000 + b"]" * 100_000, JSON),
    "a number of 5000 digits": (b'{"type": "x", "n": 1' + b"0" * 5000 + b"}", JSON),
    "payload that is not JSON": (b"payload=%7Bnot+json", FORM),
    "payload that is an array": (b"payload=%5B%5D", FORM),
    "payload without a user": (
        b"payload=" + quote('{"type": "block_actions", "response_url": "RESPONSE_URL"}').encode(),
        FORM,
    ),
    "payload with actions not a list": (
        b"payload="
        + quote(
            json.dumps({"type": "block_actions", "user": {"id": "U1"}, "actions": "x"})
        ).encode(),
        FORM,
    ),
    "view_submission whose view is a string": (
        _payload({"type": "view_submission", "user": {"id": "U1"}, "view": "x"}),
        FORM,
    ),
    "view_submission whose view has no type": (
        _payload({"type": "view_submission", "user": {"id": "U1"}, "view": {"id": "V1"}}),
        FORM,
    ),
    "block_actions with a view of the wrong type": (
        _payload(
            {
                "type": "block_actions",
                "user": {"id": "U1"},
                "actions": [{"action_id": "publish"}],
                "view": [1],
            }
        ),
        FORM,
    ),
    "interaction whose response_url is a file": (
        _payload(
            {
                "type": "block_actions",
                "user": {"id": "U1"},
                "actions": [{"action_id": "publish"}],
                "response_url": "file:///etc/passwd",
            }
        ),
        FORM,
    ),
    "link_shared whose links are not links": (
        json.dumps(
            {
                "type": "event_callback",
                "event_id": "Ev1",
                "event": {
                    "type": "link_shared",
                    "channel": "C1",
                    "message_ts": "1.2",
                    "links": [5, {"url": 7}],
                },
            }
        ).encode(),
        JSON,
    ),
    "app_home_opened without a user": (
        b'{"type": "event_callback", "event_id": "Ev2", "event": {"type": "app_home_opened"}}',
        JSON,
    ),
    "slash command whose response_url is a file": (
        b"command=%2Fnews&text=ai&user_id=U1&channel_id=C1&team_id=T1"
        b"&response_url=file%3A%2F%2F%2Fetc%2Fpasswd",
        FORM,
    ),
    "bytes that are not UTF-8": (b"command=%2Fnews&text=\xff\xfe", FORM),
    "empty body": (b"", FORM),
    "slash command without its fields": (b"command=%2Fnews&text=ai&response_url=" + HERE, FORM),
    "form Slack never sends": (b"a=1&b=2", FORM),
}


@pytest.mark.parametrize(("body", "content_type"), MALFORMED.values(), ids=MALFORMED.keys())
def test_a_signed_malformed_body_gets_400_and_no_traceback(fresh, body, content_type):
    response_url = fresh.slack.response_url()
    body = body.replace(HERE, response_url.encode())
    log_start = fresh.output_size()
    headers = sign_bytes(body, SIGNING_SECRET, content_type=content_type)
    answer = fresh.send(raw_request("POST", "/slack/events", headers, body))
    assert answer.status == 400
    reply = news(fresh, "ai", response_url)  # the only answer there, and still answering
    assert reply.args["blocks"]
    output = fresh.output(log_start)
    assert "Traceback" not in output
    assert len(refused_lines(output)) == 1
    assert [c.method for c in fresh.slack.calls] == ["response_url"]


def test_a_signed_request_no_listener_takes_is_one_line_and_404(fresh):
    """Bolt's own warning for it is several lines, with values from the body in them."""
    log_start = fresh.output_size()
    unknown = block_action("no-such-action", MARKER, response_url=fresh.slack.response_url())
    assert fresh.post(unknown) == 404
    output = fresh.output(log_start)
    (line,) = output.splitlines()
    assert "no listener for this request: 404 (block_actions no-such-action user U111)" in line
    assert MARKER not in output
    assert fresh.slack.calls == []


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        (  # a click on App Home: the view is there, and only what Slack always sends of it
            {
                "type": "block_actions",
                "user": {"id": "U1", "name": "jane"},
                "container": {"type": "view", "view_id": "V1"},
                "view": {"id": "V1", "type": "home"},
                "actions": [{"action_id": "no-such-action", "value": "x"}],
            },
            404,
        ),
        (  # a legacy attachment button: actions are named, not ided; no listener takes it
            {
                "type": "interactive_message",
                "user": {"id": "U1"},
                "callback_id": "legacy",
                "actions": [{"name": "go", "type": "button", "value": "1"}],
            },
            404,
        ),
    ],
    ids=["App Home click", "interactive_message"],
)
def test_shapes_slack_sends_are_not_refused_as_malformed(fresh, payload, status):
    body = _payload(payload)
    log_start = fresh.output_size()
    headers = sign_bytes(body, SIGNING_SECRET, content_type=FORM)
    assert fresh.send(raw_request("POST", "/slack/events", headers, body)).status == status
    output = fresh.output(log_start)
    assert refused_lines(output) == [] and "no listener for this request: 404" in output


def test_a_command_naming_payload_is_answered(fresh):
    """Bolt reads any form with the word `payload` in it as an interaction."""
    answer = news(fresh, "payload", fresh.slack.response_url())
    assert answer.args["blocks"]


# --- size and time -------------------------------------------------------------------


def _body_chunks(total: int, *, chunked: bool = False) -> Iterator[bytes]:
    piece = b"x" * 65536
    for _ in range(total // len(piece)):
        yield b"10000\r\n" + piece + b"\r\n" if chunked else piece


@pytest.mark.parametrize("chunked", [False, True], ids=["Content-Length", "chunked"])
def test_a_body_over_1_mib_gets_413_before_it_is_read(fresh, chunked):
    size = 64 * MiB
    headers = sign_bytes(b"", SIGNING_SECRET)
    if chunked:
        headers["Transfer-Encoding"] = "chunked"
    else:
        headers["Content-Length"] = str(size)
    head = raw_request("POST", "/slack/events", headers, content_length=False)
    rss_before = vm_rss_kib(fresh.proc.pid)
    log_start = fresh.output_size()

    answer = stream(fresh.port, head, _body_chunks(size, chunked=chunked))

    assert answer.status == 413
    assert vm_rss_kib(fresh.proc.pid) - rss_before < size // 1024 // 4
    (line,) = refused_lines(fresh.output(log_start))
    assert "413 body over 1 MiB" in line
    news(fresh, "ai", fresh.slack.response_url())


@pytest.mark.parametrize(
    ("length", "chunk"),
    [(300_000, 70_000), (200_000, 1), (MiB - 200, 4096)],
    ids=["300 KB in 70 KB chunks", "200 KB in 1-byte chunks", "just under 1 MiB"],
)
def test_a_signed_chunked_body_is_read_whole(fresh, length, chunk):
    """The limit is on the body, not on the chunk sizes that frame it on the wire."""
    request = url_verification("c" * length)
    body = request.body.encode()
    chunked = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + chunk]), body[i : i + chunk])
        for i in range(0, len(body), chunk)
    )
    headers = {**request.headers, "Transfer-Encoding": "chunked"}
    data = raw_request("POST", "/slack/events", headers, content_length=False)
    answer = fresh.send(data + chunked + b"0\r\n\r\n")
    assert answer.status == 200
    assert json.loads(answer.body) == {"challenge": "c" * length}


def test_a_signed_body_just_under_1_mib_is_read_whole(fresh):
    challenge = "c" * (MiB - 200)
    request = url_verification(challenge)
    answer = fresh.send(
        raw_request("POST", "/slack/events", request.headers, request.body.encode())
    )
    assert answer.status == 200
    assert json.loads(answer.body) == {"challenge": challenge}


@pytest.mark.parametrize(
    "head",
    [
        {"X-Long": "a" * 100_000},
        {f"X-Many-{i}": "a" * 2000 for i in range(40)},
        "/slack/events?" + "q" * 40_000,
    ],
    ids=["one 100 KB header", "80 KB of headers", "40 KB request line"],
)
def test_a_head_over_32_kib_gets_431(fresh, head):
    log_start = fresh.output_size()
    if isinstance(head, str):
        data = raw_request("POST", head, {}, b"")
    else:
        data = raw_request("POST", "/slack/events", head, b"")
    assert fresh.send(data).status == 431
    (line,) = refused_lines(fresh.output(log_start))
    assert "POST /slack/events: 431 request head over 32 KiB" in line


def test_heads_within_32_kib_are_fine_however_long_one_line_is(fresh):
    """The limit is on the whole head, which bounds every line in it too."""
    request = slash_command("ai", response_url=fresh.slack.response_url())
    headers = {**request.headers, "X-Forwarded-For": "10.0.0.1, " * 1000}
    path = "/slack/events?" + "q" * 20_000
    answer = fresh.send(raw_request("POST", path, headers, request.body.encode()))
    assert answer.status == 200
    reply_at(fresh.slack, request.payload["response_url"])


_HEAD = b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
SLOW = {  # how each kind of slow client starts, then what it sends every second
    "header lines": (_HEAD, b"X-Slow: 1\r\n"),
    "a body of declared length": (_HEAD + b"Content-Length: 100000\r\n\r\n", b"x"),
    "a chunked body": (_HEAD + b"Transfer-Encoding: chunked\r\n\r\n", b"1\r\nx\r\n"),
    "a request behind a whole one": (
        _HEAD.replace(b"\r\n", b"\r\nContent-Length: 0\r\n", 1) + b"\r\n" + _HEAD,
        b"X-Slow: 1\r\n",
    ),
}


@pytest.mark.parametrize(("start", "drip"), SLOW.values(), ids=SLOW.keys())
def test_slow_clients_leave_healthz_and_slack_answered(fresh, start, drip):
    slow = [socket.create_connection(("127.0.0.1", fresh.port)) for _ in range(20)]
    for sock in slow:
        sock.sendall(start)
    stop = threading.Event()

    def keep_dripping() -> None:
        while not stop.wait(1):
            for sock in slow:
                with contextlib.suppress(OSError):  # closed by the server
                    sock.sendall(drip)

    dripping = threading.Thread(target=keep_dripping, daemon=True)
    dripping.start()
    try:
        assert get(f"http://127.0.0.1:{fresh.port}/healthz", timeout=5) == 200
        news(fresh, "ai", fresh.slack.response_url())
    finally:
        stop.set()
        dripping.join()
        for sock in slow:
            sock.close()


def test_keep_alive_and_pipelined_requests_are_answered(fresh):
    urls = [fresh.slack.response_url() for _ in range(3)]
    requests = [slash_command("ai", response_url=url) for url in urls]
    data = [
        raw_request("POST", "/slack/events", r.headers, r.body.encode()).replace(
            b"Connection: close", b"Connection: keep-alive"
        )
        for r in requests
    ]
    with socket.create_connection(("127.0.0.1", fresh.port), timeout=10) as sock:
        sock.sendall(data[0])
        assert read_response(sock).status == 200
        sock.sendall(data[1] + data[2])  # pipelined: both in one write
        assert read_response(sock).status == 200
        assert read_response(sock).status == 200
    for url in urls:
        reply_at(fresh.slack, url)


def test_a_pipelined_request_over_the_limits_is_refused_too(fresh):
    request = slash_command("ai", response_url=fresh.slack.response_url())
    first = raw_request("POST", "/slack/events", request.headers, request.body.encode())
    first = first.replace(b"Connection: close", b"Connection: keep-alive")
    too_big = raw_request("POST", "/slack/events", {"Content-Length": str(2 * MiB)}, b"")
    log_start = fresh.output_size()
    with socket.create_connection(("127.0.0.1", fresh.port), timeout=10) as sock:
        sock.sendall(first + too_big.replace(b"Content-Length: 0\r\n", b""))
        assert read_response(sock).status == 200
        assert read_response(sock).status == 413
    (line,) = refused_lines(fresh.output(log_start))
    assert "POST /slack/events: 413" in line and f"({2 * MiB} bytes)" in line


def test_expect_100_continue_is_answered_before_the_body(fresh):
    request = url_verification("c" * 1000)
    headers = {**request.headers, "Expect": "100-continue"}
    head = raw_request("POST", "/slack/events", headers, request.body.encode())
    head, _, body = head.partition(b"\r\n\r\n")
    with socket.create_connection(("127.0.0.1", fresh.port), timeout=10) as sock:
        sock.sendall(head + b"\r\n\r\n")
        assert read_response(sock).status == 100
        sock.sendall(body)
        assert read_response(sock).status == 200


def test_a_body_over_1_mib_is_refused_before_the_client_is_told_to_continue(fresh):
    headers = {"Content-Length": str(2 * MiB), "Expect": "100-continue"}
    head = raw_request("POST", "/slack/events", headers, content_length=False)
    with socket.create_connection(("127.0.0.1", fresh.port), timeout=10) as sock:
        sock.sendall(head)
        assert read_response(sock).status == 413


@pytest.mark.parametrize("chunked", [False, True], ids=["Content-Length", "chunked"])
def test_a_client_that_sends_its_whole_body_regardless_still_reads_the_refusal(fresh, chunked):
    """The connection ends in an orderly close, never a reset that loses the answer."""
    size = 4 * MiB
    headers = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(size)}
    head = raw_request("POST", "/slack/events", headers, content_length=False)
    body = b"".join(_body_chunks(size, chunked=chunked))
    with socket.create_connection(("127.0.0.1", fresh.port), timeout=10) as sock:
        sock.sendall(head + body)  # a reset would fail this
        assert read_response(sock).status == 413
        assert sock.recv(65536) == b""


def test_a_refused_connection_is_closed_even_when_the_client_keeps_it_open(fresh):
    headers = {"Content-Length": str(2 * MiB)}
    head = raw_request("POST", "/slack/events", headers, content_length=False)
    with socket.create_connection(("127.0.0.1", fresh.port), timeout=10) as sock:
        sock.sendall(head)
        assert read_response(sock).status == 413
        give_up = time.monotonic() + 10
        # Dropped while the server lingers; refused once it has closed.
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            while time.monotonic() < give_up:
                sock.sendall(b"x")
                time.sleep(0.1)


@pytest.fixture
def quick_server(local: Local) -> Iterator[int]:
    """A server that gives a request half a second to arrive."""
    app = create_app(local.settings, local.db, process_before_response=True)
    http = HttpServer(app, local.db, host="127.0.0.1", port=0, read_seconds=0.5)
    http.start()
    try:
        yield http.port
    finally:
        http.stop()


@pytest.mark.parametrize(("start", "drip"), SLOW.values(), ids=SLOW.keys())
def test_a_request_that_takes_too_long_to_arrive_gets_408_and_is_closed(
    quick_server, caplog, start, drip
):
    statuses = []
    # Twenty times the limit: a server that cuts off no one fails here, not hangs.
    give_up = time.monotonic() + 10
    with socket.create_connection(("127.0.0.1", quick_server), timeout=10) as sock:
        sock.sendall(start)
        while True:  # until the server closes the connection
            assert time.monotonic() < give_up, f"still open after 10 s; answers: {statuses}"
            readable, _, _ = select.select([sock], [], [], 0.1)
            if not readable:
                with contextlib.suppress(OSError):
                    sock.sendall(drip)
            elif sock.recv(1, socket.MSG_PEEK):
                statuses.append(read_response(sock).status)
            else:
                break
    assert statuses[-1:] == [408]
    assert re.search(
        r"refused POST /slack/events: 408 request not received within 0.5 s", caplog.text
    )


def test_an_idle_connection_is_closed_quietly(quick_server, caplog):
    with socket.create_connection(("127.0.0.1", quick_server), timeout=10) as sock:
        assert sock.recv(1) == b""
    assert "refused" not in caplog.text


# --- what reaches the log -------------------------------------------------------------

MARKER = "BODY-MARKER-7f3a"
FORGED_LINE = "\n2026-01-01 00:00:00,000 INFO newsbot: FORGED LINE"


def test_refused_requests_log_one_escaped_line_and_never_the_body(fresh):
    body = urlencode({"command": "/news", "text": MARKER + FORGED_LINE}).encode()
    raw_body = (MARKER + FORGED_LINE).encode()
    signed = sign_bytes(raw_body, SIGNING_SECRET, content_type=JSON)
    sent = [
        raw_request("POST", "/slack/events", {"X-Slack-Signature": "v0=0"}, body),
        raw_request("POST", "/slack/events", {"X-Slack-Request-Timestamp": "x"}, raw_body),
        raw_request("POST", "/slack/events", signed, raw_body),
        raw_request("POST", "/slack/events%0a2026-01-01%2000:00:00,000%20FORGED", {}, body),
        raw_request(b"POST", b"/slack/\x1b[31mevents", {}, body),
        raw_request(
            "POST", "/slack/events", {"Content-Length": str(2 * MiB)}, b"", content_length=False
        )
        + raw_body,
        raw_request("GET", "/slack/events?" + MARKER, {}),
        f"POST /slack/events HTTP/1.1\r\nHost: x\r\n{MARKER} without a colon\r\n\r\n".encode(),
        f"POST /slack/events HTTP/1.1\r\nHost: x\r\nX-A: 1\n{MARKER}\r\n\r\n".encode(),
        raw_request("POST", "/slack/events", {"Transfer-Encoding": "gzip"}, body),
    ]
    log_start = fresh.output_size()
    statuses = [exchange(fresh.port, data).status for data in sent]
    assert statuses == [401, 401, 400, 404, 404, 413, 405, 400, 400, 501]
    output = fresh.output(log_start)
    assert MARKER not in output
    assert "FORGED" not in "".join(line for line in output.splitlines() if "refused" not in line)
    assert not any(line.startswith("2026-01-01") for line in output.splitlines())
    lines = refused_lines(output)
    assert len(lines) == len(sent)
    assert all(len(line) < 600 and "\x1b" not in line for line in lines)
    assert "/slack/events\\n2026-01-01" in lines[3]


def test_waitress_own_log_lines_are_one_escaped_line_without_traceback(local, caplog):
    """waitress logs the path of a request it could not answer, with a traceback
    when the app raised (channel.py: "Exception while serving %s" % path)."""
    app = create_app(local.settings, local.db, process_before_response=True)
    HttpServer(app, local.db, host="127.0.0.1", port=0)
    waitress = logging.getLogger("waitress")
    path = "/slack/events" + FORGED_LINE
    with caplog.at_level(logging.INFO):
        try:
            raise KeyError(MARKER)
        except KeyError:
            waitress.exception(f"Exception while serving {path}")
        waitress.info(f"Client disconnected while serving {path}")
        logging.getLogger("waitress.queue").warning("Task queue depth is %d", 3)
    assert [r.getMessage() for r in caplog.records if r.name.startswith("waitress")] == [
        "Exception while serving /slack/events\\n2026-01-01 00:00:00,000 INFO newsbot: "
        "FORGED LINE (KeyError)",
        "Client disconnected while serving /slack/events\\n2026-01-01 00:00:00,000 INFO "
        "newsbot: FORGED LINE",
        "Task queue depth is 3",
    ]
    assert "Traceback" not in caplog.text and MARKER not in caplog.text
