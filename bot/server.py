"""Running the app: an HTTP server (cheroot, threaded WSGI) or Socket Mode.

Both stop gracefully: on SIGTERM the HTTP server stops accepting, lets requests
in flight finish, and the listener pool drains before the process exits.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cheroot import wsgi
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy.exc import SQLAlchemyError

from storage.db import Database

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


def health(db: Database) -> tuple[int, dict[str, Any]]:
    """200 and a small status when the database answers, 503 when it does not."""
    try:
        db.ping()
    except SQLAlchemyError as exc:
        log.warning("health check: database does not answer: %s", type(exc).__name__)
        return 503, {"status": "unavailable", "database": "down"}
    return 200, {"status": "ok", "database": db.dialect}


def wsgi_app(app: App, db: Database) -> Callable[..., Iterable[bytes]]:
    """`POST /slack/events` to Bolt, `GET /healthz` to the health check, 404 otherwise."""
    slack = SlackRequestHandler(app, path=EVENTS_PATH)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") in (
            "GET",
            "HEAD",
        ):
            status, payload = health(db)
            body = json.dumps(payload).encode()
            reason = "OK" if status == 200 else "Service Unavailable"
            start_response(
                f"{status} {reason}",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        return slack(environ, start_response)

    return application


class HttpServer:
    """The production HTTP server: cheroot's thread pool in front of Bolt."""

    def __init__(
        self, app: App, db: Database, *, host: str = "0.0.0.0", port: int = 3000, threads: int = 16
    ) -> None:
        self.server = wsgi.Server(
            (host, port),
            wsgi_app(app, db),
            numthreads=threads,
            # cheroot's default backlog of 5 overflows under a burst of clicks,
            # and each overflow costs the client a one-second SYN retry.
            request_queue_size=128,
            shutdown_timeout=10,
            server_name="newsbot",
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
