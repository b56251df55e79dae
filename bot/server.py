"""Running the app: an HTTP server (cheroot, threaded WSGI) or Socket Mode.

Both stop gracefully: on SIGTERM the HTTP server stops accepting, lets requests
in flight finish, and the listener pool drains before the process exits.

The HTTP server bounds what one client can hold. cheroot hands a connection to
a worker thread as soon as it is accepted or has a byte to read, and the worker
then waits for the rest of the request: a client that sends a header line
every few seconds holds a worker as long as it likes. Here one gate thread
reads every request whole (head and body, chunked or not, new or pipelined)
before a worker sees it, with a deadline and limits on lines, head and body; a
worker gets complete requests only, and answers each without waiting on the
network. Refusals are answered by the gate, which then drains the connection
briefly so that the client reads the answer before the connection closes.
"""

from __future__ import annotations

import _pyio
import contextlib
import functools
import json
import logging
import math
import queue
import selectors
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from cheroot import errors, makefile, wsgi
from cheroot import server as cheroot_server
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse
from sqlalchemy.exc import SQLAlchemyError

from bot.app import NewsbotApp
from bot.inbound import Refused, loggable, signature_problem, slack_request
from storage.db import Database

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 1024 * 1024
MAX_LINE_BYTES = 8 * 1024  # the request line and each header line
MAX_HEAD_BYTES = 32 * 1024  # the request line and all headers
READ_SECONDS = 10.0  # to receive a whole request, head and body
# What the gate may hold for all clients together, so that many large slow
# bodies run into a 503 and not into the memory limit.
GATE_BUFFER_BYTES = 64 * 1024 * 1024
# After refusing, read and drop what the client still sends, for this long, so
# that closing does not reset the connection before the answer is read.
DRAIN_SECONDS = 2.0
# A chunked body's framing, and what a worker's read-ahead takes of the next request.
_READ_SLACK_BYTES = 64 * 1024


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
        if path == "/healthz" and method in ("GET", "HEAD"):
            status, payload = health(db)
            return _answer(start_response, status, json.dumps(payload), "application/json")
        declared = environ.get("CONTENT_LENGTH") or ""
        received = _Received(int(declared) if declared.isascii() and declared.isdigit() else 0)
        try:
            if path != EVENTS_PATH:
                raise Refused(404, "no such path")
            if method != "POST":
                raise Refused(405, "only POST is answered here")
            raw = _read_body(environ, received)
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
            log_refusal(method, path, refusal.status, refusal.reason, received.size)
            return _answer(start_response, refusal.status, HTTPStatus(refusal.status).phrase)
        response = app.dispatch(request)
        wsgi_response = WsgiHttpResponse(response.status, response.headers, response.body)
        start_response(wsgi_response.status, wsgi_response.get_headers())
        return wsgi_response.get_body()

    return application


@dataclass
class _Received:
    size: int  # declared by Content-Length, else read


def _read_body(environ: dict[str, Any], received: _Received) -> bytes:
    """The body, at most MAX_BODY_BYTES of it, or `Refused` before reading more."""
    stream = environ["wsgi.input"]
    declared = environ.get("CONTENT_LENGTH") or ""
    try:
        if declared and environ.get("wsgi.input_terminated"):
            raise Refused(400, "both Transfer-Encoding and Content-Length")
        if declared:
            if not (declared.isascii() and declared.isdigit()):
                raise Refused(400, "malformed Content-Length")
            if received.size > MAX_BODY_BYTES:
                raise Refused(413, "body over 1 MiB")
            raw = stream.read(received.size)
            if len(raw) < received.size:
                raise Refused(400, "body shorter than its Content-Length")
            return raw
        if not environ.get("wsgi.input_terminated"):
            return b""
        try:
            raw = stream.read(MAX_BODY_BYTES + 1)  # chunked: cheroot stops at the end
        finally:
            received.size = stream.bytes_read  # chunked framing included
        if len(raw) > MAX_BODY_BYTES:
            raise Refused(413, "body over 1 MiB")
        return raw
    except errors.MaxSizeExceeded:
        raise Refused(413, "body over 1 MiB") from None
    except TimeoutError:
        raise Refused(408, "body not received in time") from None
    except ConnectionError:
        raise
    except OSError as exc:
        if exc.args == ("Request Entity Too Large",):  # cheroot's chunked reader
            raise Refused(413, "body over 1 MiB") from None
        raise
    except ValueError:  # cheroot's chunked reader, on bad framing
        raise Refused(400, "malformed chunked body") from None


def _answer(
    start_response: Callable[..., Any], status: int, text: str, content_type: str = "text/plain"
) -> list[bytes]:
    body = text.encode()
    start_response(
        f"{status} {HTTPStatus(status).phrase}",
        [("Content-Type", content_type), ("Content-Length", str(len(body)))],
    )
    return [body]


# --- cheroot, with each request read whole before a worker takes it ------------


class _Input(_pyio.RawIOBase):
    """A connection's input: first the request the gate read, then the socket.

    Reads from the socket happen only when cheroot parses a request differently
    from the gate; they keep the request's deadline and byte budget.
    """

    def __init__(self, sock: socket.socket, idle_timeout: float) -> None:
        super().__init__()
        self._socket_io = socket.SocketIO(sock, "rb")
        self._sock = sock
        self._idle_timeout = idle_timeout
        self._pending = memoryview(b"")
        self.deadline = math.inf
        self.budget = 0
        self.consumed = 0

    def begin(self, deadline: float) -> None:
        """A new request starts: it has until `deadline` and a fresh byte budget."""
        self.deadline = deadline
        self.budget = MAX_HEAD_BYTES + MAX_BODY_BYTES + _READ_SLACK_BYTES
        self.consumed = 0

    def give(self, data: bytes) -> None:
        """The request, as the gate read it: the next reads return it first."""
        self._pending = memoryview(bytes(self._pending) + data)

    def take_pending(self) -> bytes:
        data, self._pending = bytes(self._pending), memoryview(b"")
        return data

    @property
    def has_pending(self) -> bool:
        return len(self._pending) > 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.budget <= 0:
            raise errors.MaxSizeExceeded("request over its byte budget", self.budget)
        view = memoryview(buffer).cast("B")[: self.budget]
        if self._pending:
            n = min(len(view), len(self._pending))
            view[:n] = self._pending[:n]
            self._pending = self._pending[n:]
        else:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("timed out")  # cheroot answers 408 to exactly this
            self._sock.settimeout(min(remaining, self._idle_timeout))
            try:
                n = self._socket_io.readinto(view)
            finally:
                self._sock.settimeout(self._idle_timeout)
        self.budget -= n
        self.consumed += n
        return n

    def close(self) -> None:
        self._socket_io.close()
        super().close()


class _Reader(makefile.StreamReader):
    def __init__(self, raw: _Input, bufsize: int) -> None:
        _pyio.BufferedReader.__init__(self, raw, bufsize)
        self.bytes_read = 0

    def has_data(self) -> bool:
        return super().has_data() or self.raw.has_pending

    def take_buffered(self) -> bytes:
        """What was read past the last request (the start of a pipelined one), taken out."""
        held = b""
        if super().has_data():
            held = self.peek(1)  # everything buffered, without reading the socket
            self.read(len(held))
        return held + self.raw.take_pending()


class _Request(cheroot_server.HTTPRequest):
    def simple_response(self, status: Any, msg: str = "") -> None:
        # cheroot's own refusals (a head the gate let through but cheroot finds
        # malformed, a read past the deadline) come through here: one line each.
        code = int(str(status)[:3])
        if code >= 400:
            declared = self.inheaders.get(b"Content-Length", b"")
            size = int(declared) if declared.isdigit() else self.conn.rfile.raw.consumed
            reason = f"{str(status)[4:]}: {msg}" if msg else str(status)[4:]
            log_refusal(
                getattr(self, "method", None), getattr(self, "path", None), code, reason, size
            )
        super().simple_response(status, msg)


class _Connection(cheroot_server.HTTPConnection):
    RequestHandlerClass = _Request
    server: _Server
    rfile: _Reader

    def __init__(self, server: _Server, sock: socket.socket, _makefile: Any = None) -> None:
        # Plain sockets only: TLS ends at the proxy in front, not here.
        def make(sock: socket.socket, mode: str = "r", bufsize: int = 8192) -> Any:
            if "r" in mode:
                return _Reader(_Input(sock, server.timeout), bufsize)
            return makefile.MakeFile(sock, mode, bufsize)

        super().__init__(server, sock, make)
        self._linger = False

    def communicate(self) -> bool:
        self._linger = True
        keep_open = super().communicate()
        self._linger = not keep_open
        return keep_open

    def close(self) -> None:
        # A worker closing after an answer lets the gate drain the connection
        # first; every other close (idle, shutdown, the gate's own) is at once.
        if self._linger:
            self._linger = False
            self.server.gate.drain(self)
        else:
            super().close()


class _Server(wsgi.Server):
    ConnectionClass = _Connection
    max_request_header_size = MAX_HEAD_BYTES
    max_request_body_size = MAX_BODY_BYTES

    def __init__(self, *args: Any, read_seconds: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read_seconds = read_seconds
        self.gate = _Gate(self)

    def prepare(self) -> None:
        super().prepare()
        self.gate.start()

    def process_conn(self, conn: _Connection) -> None:
        """A connection with a request starting (new, or kept alive): to the gate."""
        conn.rfile.raw.begin(time.monotonic() + self.read_seconds)
        self.gate.admit(conn, conn.rfile.take_buffered())

    def dispatch(self, conn: _Connection) -> None:
        super().process_conn(conn)

    def stop(self) -> None:
        self.gate.stop()
        super().stop()

    def error_log(self, msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
        # cheroot writes these to stderr as they are; some quote the client.
        important = level >= logging.WARNING
        logging.getLogger("cheroot").log(
            level if important else logging.DEBUG,
            "%s",
            loggable(msg, 300),
            exc_info=traceback and level >= logging.ERROR,
        )


@dataclass
class _Pending:
    conn: _Connection
    deadline: float
    buf: bytearray = field(default_factory=bytearray)
    line_start: int = 0  # where the line being received starts in buf
    lines: int = 0  # complete lines of the head so far
    head_end: int | None = None
    need: int | None = None  # bytes of buf that make the whole request, once known
    chunked: bool = False
    chunk_line: int = 0  # where the next chunk-size (or trailer) line starts in buf
    chunked_size: int = 0  # what cheroot counts against its limit: size lines and data
    trailers: bool = False
    draining: bool = False
    drained: int = 0


class _Gate:
    """Holds connections until their request is in, on one thread, with no worker."""

    def __init__(self, server: _Server) -> None:
        self._server = server
        self._selector = selectors.DefaultSelector()
        self._inbox: queue.SimpleQueue[tuple[_Connection, bytes | None]] = queue.SimpleQueue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._pending: dict[int, _Pending] = {}
        self._buffered = 0
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="http-gate", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        self._wake()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def admit(self, conn: _Connection, received: bytes) -> None:
        """Read the rest of `conn`'s request (`received` is its start), then hand it to a worker."""
        self._post(conn, received)

    def drain(self, conn: _Connection) -> None:
        """Close `conn` once the client has read the answer (or after DRAIN_SECONDS)."""
        self._post(conn, None)

    def _post(self, conn: _Connection, received: bytes | None) -> None:
        if self._stopping:
            conn.close()
            return
        self._inbox.put((conn, received))
        self._wake()

    def _wake(self) -> None:
        # A full pipe means the gate is awake already; a closed one, stopped.
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    # -- the gate's thread ---------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stopping:
                self._take_inbox()
                now = time.monotonic()
                soonest = min((p.deadline for p in self._pending.values()), default=now + 1)
                for key, _ in self._selector.select(max(0.0, min(soonest - now, 1.0))):
                    if key.data is None:
                        self._empty_wake_pipe()
                    elif self._pending.get(key.fd) is key.data:
                        self._guarded(self._on_readable, key.data)
                now = time.monotonic()
                for pending in [p for p in self._pending.values() if p.deadline <= now]:
                    self._guarded(self._expire, pending)
        finally:
            self._take_inbox()
            for pending in list(self._pending.values()):
                self._close(pending)
            self._selector.close()
            self._wake_r.close()
            self._wake_w.close()

    def _guarded(self, handle: Callable[[_Pending], None], pending: _Pending) -> None:
        # One connection's surprise must not stop the gate, and with it the server.
        try:
            handle(pending)
        except Exception:
            log.exception("HTTP gate: dropping a connection after an unexpected error")
            with contextlib.suppress(Exception):
                self._close(pending)

    def _take_inbox(self) -> None:
        while True:
            try:
                conn, received = self._inbox.get_nowait()
            except queue.Empty:
                return
            if self._stopping:
                conn.close()
                continue
            draining = received is None
            deadline = time.monotonic() + DRAIN_SECONDS if draining else conn.rfile.raw.deadline
            pending = _Pending(conn, deadline)
            try:
                # Never wait on one client here: reads and the refusal's write
                # return at once, whatever the client does.
                conn.socket.setblocking(False)
                self._selector.register(conn.socket, selectors.EVENT_READ, pending)
            except (OSError, ValueError):  # closed meanwhile
                conn.close()
                continue
            self._pending[conn.socket.fileno()] = pending
            if received is None:
                self._start_draining(pending)
            elif received:
                self._guarded(functools.partial(self._received, chunk=received), pending)

    def _empty_wake_pipe(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:
            pass

    def _on_readable(self, pending: _Pending) -> None:
        try:
            chunk = pending.conn.socket.recv(64 * 1024)
        except BlockingIOError:
            return
        except OSError:
            self._close(pending)
            return
        if not chunk:  # the client is gone, or has read the answer and closed
            self._close(pending)
        elif pending.draining:
            pending.drained += len(chunk)
            if pending.drained > MAX_BODY_BYTES:
                self._close(pending)
        else:
            self._received(pending, chunk)

    def _received(self, pending: _Pending, chunk: bytes) -> None:
        if self._buffered + len(chunk) > GATE_BUFFER_BYTES:
            self._refuse(pending, 503, "too many requests being received at once")
            return
        pending.buf += chunk
        self._buffered += len(chunk)
        if pending.head_end is None and not self._read_head(pending):
            return
        if pending.chunked and pending.need is None and not self._read_chunks(pending):
            return
        if pending.need is not None and len(pending.buf) >= pending.need:
            self._hand_over(pending)

    def _read_head(self, pending: _Pending) -> bool:
        """Check the lines received so far; True once the head is in and its body known."""
        buf = pending.buf
        while True:
            end = buf.find(b"\n", pending.line_start)
            if end < 0:
                if len(buf) - pending.line_start > MAX_LINE_BYTES:
                    self._refuse_long_line(pending)
                elif len(buf) > MAX_HEAD_BYTES:
                    self._refuse(pending, 431, "request head over 32 KiB")
                return False
            if end - pending.line_start > MAX_LINE_BYTES:
                self._refuse_long_line(pending)
                return False
            if end + 1 > MAX_HEAD_BYTES:
                self._refuse(pending, 431, "request head over 32 KiB")
                return False
            blank = buf[pending.line_start : end].rstrip(b"\r") == b""
            pending.line_start = end + 1
            if not blank:
                pending.lines += 1
            elif pending.lines:  # (blank lines before the request line are skipped)
                pending.head_end = end + 1
                return self._body_length(pending)

    def _refuse_long_line(self, pending: _Pending) -> None:
        if pending.lines == 0:
            self._refuse(pending, 414, "request line over 8 KiB")
        else:
            self._refuse(pending, 431, "header line over 8 KiB")

    def _body_length(self, pending: _Pending) -> bool:
        """From the head: `need` for a body of declared length, or start reading chunks."""
        assert pending.head_end is not None
        lengths, chunked, expect = [], False, False
        for line in bytes(pending.buf[: pending.head_end]).split(b"\n")[1:]:
            name, colon, value = line.partition(b":")
            name = name.strip().lower()
            if not colon:
                continue
            if name == b"content-length":
                lengths.append(value.strip())
            elif name == b"transfer-encoding":
                chunked = True
            elif name == b"expect":
                expect = value.strip().lower() == b"100-continue"
        if chunked and lengths:
            self._refuse(pending, 400, "both Transfer-Encoding and Content-Length")
            return False
        if len(lengths) > 1:
            self._refuse(pending, 400, "more than one Content-Length")
            return False
        if chunked:
            pending.chunked = True
            pending.chunk_line = pending.head_end
        elif lengths and lengths[0].isdigit():
            declared = int(lengths[0])
            if declared > MAX_BODY_BYTES:
                self._refuse(pending, 413, "body over 1 MiB", size=declared)
                return False
            pending.need = pending.head_end + declared
        else:
            pending.need = pending.head_end  # no body, or a Content-Length cheroot refuses
        if expect and (pending.need is None or len(pending.buf) < pending.need):
            # The client waits for this before it sends the body (cheroot sends
            # another later; clients read any number of 1xx answers).
            with contextlib.suppress(OSError):
                pending.conn.socket.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        return True

    def _read_chunks(self, pending: _Pending) -> bool:
        """Follow a chunked body as far as it came; True once its end (and `need`) is known.

        Counts as cheroot's reader does, so that both refuse the same bodies.
        """
        buf = pending.buf
        while True:
            start = pending.chunk_line
            end = buf.find(b"\n", start)
            if end < 0:
                if len(buf) - start > MAX_LINE_BYTES:
                    self._refuse(pending, 400, "malformed chunked body")
                return False
            line = bytes(buf[start:end]).rstrip(b"\r")
            counted = pending.chunked_size + end + 1 - start
            if counted > MAX_BODY_BYTES:
                self._refuse(pending, 413, "body over 1 MiB", size=counted)
                return False
            if pending.trailers:
                pending.chunked_size, pending.chunk_line = counted, end + 1
                if not line:
                    pending.need = end + 1
                    return True
                continue
            size_text = line.split(b";", 1)[0].strip()
            if not size_text or size_text.strip(b"0123456789abcdefABCDEF"):
                self._refuse(pending, 400, "malformed chunked body")
                return False
            size = int(size_text, 16)
            if counted + size > MAX_BODY_BYTES:
                self._refuse(pending, 413, "body over 1 MiB", size=counted + size)
                return False
            if size == 0:
                pending.trailers = True
                pending.chunked_size, pending.chunk_line = counted, end + 1
                continue
            if len(buf) < end + 1 + size + 2:  # the chunk and its CRLF
                return False
            pending.chunked_size, pending.chunk_line = counted + size, end + 1 + size + 2

    def _hand_over(self, pending: _Pending) -> None:
        self._forget(pending)
        pending.conn.socket.settimeout(self._server.timeout)
        pending.conn.rfile.raw.give(bytes(pending.buf))
        self._server.dispatch(pending.conn)

    def _expire(self, pending: _Pending) -> None:
        if pending.draining or not pending.buf:
            self._close(pending)  # an idle connection is no request: closed quietly
        else:
            reason = f"request not received within {self._server.read_seconds:g} s"
            self._refuse(pending, 408, reason)

    def _refuse(self, pending: _Pending, status: int, reason: str, size: int | None = None) -> None:
        method, _, rest = bytes(pending.buf[:MAX_LINE_BYTES]).partition(b" ")
        path = rest.split(b" ", 1)[0].split(b"?", 1)[0].split(b"\r", 1)[0].split(b"\n", 1)[0]
        log_refusal(method, path, status, reason, len(pending.buf) if size is None else size)
        phrase = HTTPStatus(status).phrase
        answer = (
            f"HTTP/1.1 {status} {phrase}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(phrase)}\r\nConnection: close\r\n\r\n{phrase}"
        )
        try:
            pending.conn.socket.send(answer.encode())
        except OSError:
            self._close(pending)
            return
        self._start_draining(pending)

    def _start_draining(self, pending: _Pending) -> None:
        self._buffered -= len(pending.buf)
        pending.buf = bytearray()
        pending.draining = True
        pending.deadline = time.monotonic() + DRAIN_SECONDS
        try:
            pending.conn.socket.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(pending)

    def _forget(self, pending: _Pending) -> None:
        sock = pending.conn.socket
        self._pending.pop(sock.fileno(), None)
        self._buffered -= len(pending.buf)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(sock)

    def _close(self, pending: _Pending) -> None:
        self._forget(pending)
        pending.conn.close()


class HttpServer:
    """The production HTTP server: cheroot's thread pool behind the gate, in front of Bolt."""

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
        self.server = _Server(
            (host, port),
            wsgi_app(app, db),
            numthreads=threads,
            # cheroot's default backlog of 5 overflows under a burst of clicks,
            # and each overflow costs the client a one-second SYN retry.
            request_queue_size=128,
            shutdown_timeout=10,
            server_name="newsbot",
            read_seconds=read_seconds,
        )

    @property
    def port(self) -> int:
        return self.server.bind_addr[1]

    def start(self) -> None:
        """Bind and serve on a background thread (tests, and `run` below)."""
        self.server.prepare()
        self._thread = threading.Thread(target=self.server.serve, name="http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.stop()


def listener_pool() -> ThreadPoolExecutor:
    """The pool Bolt runs listeners on after acking; drained on shutdown."""
    return ThreadPoolExecutor(max_workers=16, thread_name_prefix="listener")


def serve_until_signalled(start: Callable[[], None], stop: Callable[[], None]) -> None:
    """Start, then block until SIGTERM or SIGINT, then stop."""
    stopping = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stopping.set())
        for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        start()
        stopping.wait()
        log.info("shutting down: finishing requests in flight")
    finally:
        stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def socket_mode(app: App, app_token: str) -> SocketModeHandler:
    """A Socket Mode connection that uses the app's own WebClient (and so SLACK_API_URL)."""
    return SocketModeHandler(app, app_token=app_token, web_client=app.client)
