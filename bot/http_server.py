"""The HTTP server: waitress in front of the Bolt app, `/slack/events` and `/healthz`.

It stops gracefully: it stops accepting, lets requests in flight finish, then
closes. waitress reads every request whole, head and body, on its event-loop thread
before a worker sees it, and refuses heads over 32 KiB (431) and bodies over
1 MiB (413, chunked too) as they arrive, so a slow or large request never holds
a worker. It closes only idle connections, though: here a request that has not
arrived whole within 10 s is answered 408 and closed, and every refusal is
logged as one escaped line and closed only once the client has read it.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse
from sqlalchemy.exc import SQLAlchemyError
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask
from waitress.utilities import (
    BadRequest,
    InternalServerError,
    RequestEntityTooLarge,
    RequestHeaderFieldsTooLarge,
)

from bot.app import NewsbotApp
from bot.inbound import Refused, loggable, signature_problem, slack_request
from storage.db import Database

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 1024 * 1024
# A chunked body on the wire: its chunk sizes too, six times the body in one-byte chunks.
MAX_WIRE_BODY_BYTES = 8 * MAX_BODY_BYTES
# The request line and all headers; it bounds each line too. Slack sends about 1 KiB.
MAX_HEAD_BYTES = 32 * 1024
READ_SECONDS = 10.0  # to receive a whole request, head and body
# Open at once; more wait in the listen backlog. Each holds at most a head and a
# body, the body beyond 64 KiB in a temporary file: memory stays under 50 MiB.
CONNECTIONS = 500
IN_MEMORY_BODY_BYTES = 64 * 1024
# After refusing, read and drop what the client still sends, this long, so that
# closing does not reset the connection before the answer is read.
DRAIN_SECONDS = 2.0
SHUTDOWN_SECONDS = 10.0  # for requests in flight when the server stops


def health(db: Database) -> tuple[int, dict[str, Any]]:
    """200 and a small status when the database answers, 503 when it does not."""
    try:
        db.ping()
    except SQLAlchemyError as exc:
        log.warning("health check: database does not answer: %s", type(exc).__name__)
        return 503, {"status": "unavailable", "database": "down"}
    return 200, {"status": "ok", "database": db.dialect}


def log_refusal(method: object, path: object, status: int, reason: str, size: int) -> None:
    """The one log line of a refused request; what the client chose is escaped and clipped."""
    log.warning(
        "refused %s %s: %d %s (%d bytes)",
        loggable(method or "-", 16),
        loggable(path or "-", 120),
        status,
        loggable(reason, 200),
        size,
    )


def wsgi_app(app: NewsbotApp, db: Database) -> Callable[..., Iterable[bytes]]:
    """`POST /slack/events` to Bolt once signed and well formed, `GET /healthz`, else refused."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "")
        path = environ.get("PATH_INFO", "")
        answer = functools.partial(_answer, start_response, head=method == "HEAD")
        if path == "/healthz" and method in ("GET", "HEAD"):
            status, payload = health(db)
            return answer(status, json.dumps(payload), "application/json")
        # waitress checked Content-Length (digits only) and sets it for a chunked body.
        size = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            if path != EVENTS_PATH:
                raise Refused(404, "no such path")
            if method != "POST":
                raise Refused(405, "only POST is answered here")
            if size > MAX_BODY_BYTES:
                raise Refused(413, "body over 1 MiB")
            raw = environ["wsgi.input"].read(size)
            problem = signature_problem(
                app.signing_secret,
                environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP"),
                environ.get("HTTP_X_SLACK_SIGNATURE"),
                raw,
                time.time(),
            )
            if problem is not None:
                raise Refused(401, problem)
            request = slack_request(
                raw, WsgiHttpRequest(environ).get_headers(), environ.get("QUERY_STRING", "")
            )
        except Refused as refusal:
            log_refusal(method, path, refusal.status, refusal.reason, size)
            return answer(refusal.status, HTTPStatus(refusal.status).phrase)
        response = app.dispatch(request)
        wsgi_response = WsgiHttpResponse(response.status, response.headers, response.body)
        start_response(wsgi_response.status, wsgi_response.get_headers())
        return wsgi_response.get_body()

    return application


def _answer(
    start_response: Callable[..., Any],
    status: int,
    text: str,
    content_type: str = "text/plain",
    *,
    head: bool,
) -> list[bytes]:
    body = text.encode()
    start_response(
        f"{status} {HTTPStatus(status).phrase}",
        [("Content-Type", content_type), ("Content-Length", str(len(body)))],
    )
    # waitress sends what it is given, also to HEAD, whose answer has no body.
    return [] if head else [body]


# --- waitress, with a deadline per request and a log line per refusal ---------

# Method and path at the start of a request, for the log line of a refusal.
_REQUEST_LINE = re.compile(rb"\s*(\S*)[ \t]*([^\s?]*)")
_START_BYTES = 512


class _RequestTimeout(BadRequest):
    code = 408
    reason = "Request Timeout"


class _Parser(HTTPRequestParser):
    """One request as waitress receives it, with when it began and how it starts."""

    error: Any  # waitress's, untyped: None until the request is refused

    def __init__(self, adj: Any) -> None:
        super().__init__(adj)
        self.began = time.time()  # waitress's own clock, as `maintenance` gets it
        self.start = b""

    def received(self, data: bytes) -> int:
        if len(self.start) < _START_BYTES:
            self.start += data[: _START_BYTES - len(self.start)]
        consumed = super().received(data)
        # waitress bounds the bytes on the wire, chunk sizes included; the limit is on
        # the body itself: its declared length, or what the chunks decoded to so far.
        if self.error is None and self.headers_finished:
            if self.chunked:
                body = len(self.body_rcv) if self.body_rcv is not None else 0
            else:
                body = self.content_length
            if body > MAX_BODY_BYTES:
                self.error = RequestEntityTooLarge("body over 1 MiB")
                self.completed = True
        if self.error is not None:
            # Refused already: no 100 Continue, the client must not send its body.
            self.expect_continue = False
            if isinstance(self.error, RequestEntityTooLarge):
                self.error.body = "body over 1 MiB"
            elif isinstance(self.error, RequestHeaderFieldsTooLarge):
                self.error.body = "request head over 32 KiB"
        return consumed

    def method_and_path(self) -> tuple[bytes, bytes]:
        match = _REQUEST_LINE.match(self.start)
        assert match is not None  # every group may be empty
        return match[1], match[2]

    @property
    def size(self) -> int:
        """What was received, or the body's declared length when that was refused."""
        if isinstance(self.error, RequestEntityTooLarge) and not self.chunked:
            return self.content_length
        return self.header_bytes_received + self.body_bytes_received


class _Refusal(ErrorTask):
    """waitress's answer to a request it refused, and our one log line for it."""

    request: _Parser
    channel: _Channel

    def execute(self) -> None:
        error = self.request.error
        if not isinstance(error, InternalServerError):  # the app's failure, logged by waitress
            method, path = self.request.method_and_path()
            # waitress's words, without the client's that some quote after them
            reason = str(error.body).split('"', 1)[0].strip()
            log_refusal(method, path, error.code, reason, self.request.size)
            self.channel.refused = True
        super().execute()


class _Channel(HTTPChannel):
    parser_class = _Parser
    error_task_class = _Refusal
    request: _Parser | None
    server: _Server
    will_close: bool  # waitress's own flags, set by its loop and its workers
    close_when_flushed: bool
    refused = False
    linger_until: float | None = None

    def expire(self, now: float) -> None:
        """Refuse a request that is taking too long to arrive; close an idle connection.

        Called while the loop polls, so it closes nothing itself: a descriptor
        closed here could be reused, and its stale event delivered to a new channel.
        """
        if self.linger_until is not None or self.will_close or self.close_when_flushed:
            return  # closing already
        if self.requests:
            return  # received whole; a worker answers it
        if self.request is not None and now - self.request.began > self.server.read_seconds:
            with self.requests_lock:
                self.request.error = _RequestTimeout(
                    f"request not received within {self.server.read_seconds:g} s"
                )
                self.request.completed = True
                self.requests.append(self.request)
                self.request = None
            self.server.add_task(self)
        elif self.request is None and now - self.last_activity > self.server.read_seconds:
            self.will_close = True

    def handle_close(self) -> None:
        # Closing with the client's bytes unread resets the connection, and a
        # reset can destroy the refusal before the client reads it: after a
        # refusal, stop writing and drop what still comes, for a while.
        if self.refused and self.linger_until is None and self.socket is not None:
            try:
                self.socket.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            else:
                self.linger_until = time.time() + DRAIN_SECONDS
                return
        HTTPChannel.handle_close(self)

    def readable(self) -> bool:
        return self.linger_until is not None or super().readable()

    def writable(self) -> bool:
        if self.linger_until is not None:  # a socket shut for writing polls writable
            return time.time() >= self.linger_until
        return super().writable()

    def handle_write(self) -> None:
        if self.linger_until is not None:  # lingered long enough
            HTTPChannel.handle_close(self)
            return
        super().handle_write()

    def handle_read(self) -> None:
        if self.linger_until is None:
            super().handle_read()
            return
        try:
            dropped = self.socket.recv(64 * 1024)
        except OSError:
            dropped = b""
        if not dropped:  # the client has read the answer and closed, or is gone
            HTTPChannel.handle_close(self)


class _Server(TcpWSGIServer):
    channel_class = _Channel
    active_channels: dict[int, _Channel]

    def __init__(
        self, application: Any, socket_map: dict, *, read_seconds: float, **adjustments: Any
    ) -> None:
        self.read_seconds = read_seconds
        super().__init__(application, map=socket_map, **adjustments)

    def maintenance(self, now: float) -> None:
        # Replaces waitress's, which closes idle connections only.
        for channel in list(self.active_channels.values()):
            channel.expire(now)

    def finish(self, seconds: float) -> None:
        """Stop accepting, answer the requests received whole, then close every connection."""
        wasyncore.dispatcher.close(self)  # the listening socket; the trigger stays
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            busy = False
            for channel in list(self.active_channels.values()):
                if channel.requests or channel.total_outbufs_len:
                    busy = True
                elif channel.linger_until is None:
                    channel.close_when_flushed = True
            if not busy:
                break
            wasyncore.loop(timeout=0.1, map=self._map, use_poll=True, count=1)
        self.task_dispatcher.shutdown(timeout=1)
        wasyncore.close_all(self._map)


def _one_escaped_line(record: logging.LogRecord) -> bool:
    """waitress's own records as one line, with a client's text escaped and no traceback."""
    text = record.getMessage()
    if record.exc_info and record.exc_info[0] is not None:
        text += f" ({record.exc_info[0].__name__})"
    record.msg, record.args = loggable(text, 300), None
    record.exc_info = record.exc_text = record.stack_info = None
    return True


class HttpServer:
    """The production HTTP server: waitress in front of Bolt."""

    def __init__(
        self,
        app: NewsbotApp,
        db: Database,
        *,
        host: str = "0.0.0.0",
        port: int = 3000,
        threads: int = 16,
        read_seconds: float = READ_SECONDS,
    ) -> None:
        self._application = wsgi_app(app, db)
        self._adjustments = {
            "host": host,
            "port": port,
            "threads": threads,
            "connection_limit": CONNECTIONS,
            "max_request_header_size": MAX_HEAD_BYTES,
            # Bytes on the wire; `_Parser` holds the body itself to MAX_BODY_BYTES.
            "max_request_body_size": MAX_WIRE_BODY_BYTES,
            "inbuf_overflow": IN_MEMORY_BODY_BYTES,
            # How often `maintenance` looks for requests past their deadline.
            "cleanup_interval": 1,
            "asyncore_use_poll": True,  # select() fails on descriptors past 1023
            "expose_tracebacks": False,
            "log_socket_errors": False,  # a client that hangs up is no news
            "ident": "newsbot",
        }
        self._read_seconds = read_seconds
        self._server: _Server | None = None
        self._stopping = threading.Event()
        for name in ("waitress", "waitress.queue"):
            logging.getLogger(name).addFilter(_one_escaped_line)

    @property
    def port(self) -> int:
        assert self._server is not None, "start() binds the port"
        return int(self._server.effective_port)

    def start(self) -> None:
        """Bind and serve on a background thread (tests, and `bot.server.run`)."""
        self._server = _Server(
            self._application, {}, read_seconds=self._read_seconds, **self._adjustments
        )
        self._thread = threading.Thread(
            target=self._run, args=(self._server,), name="http", daemon=True
        )
        self._thread.start()

    def _run(self, server: _Server) -> None:
        while not self._stopping.is_set():
            wasyncore.loop(timeout=1, map=server._map, use_poll=True, count=1)
        server.finish(SHUTDOWN_SECONDS)

    def stop(self) -> None:
        if self._server is None:
            return
        # Set on the loop's thread, so that the loop cannot close the trigger
        # (in `finish`) before it is pulled.
        self._server.trigger.pull_trigger(self._stopping.set)
        self._thread.join()
