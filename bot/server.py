"""Running the app: `run(settings, db)` owns every part of `newsbot serve`.

The composition root, the way python-telegram-bot's `run_polling` owns its
parts: the listener pool, the Bolt app, the scheduler and its jobs, the folder
watch (NEWSBOT_WATCH), the HTTP server or the Socket Mode connection, and the
signals. SIGTERM (or Ctrl-C)
stops it gracefully: the server stops accepting and finishes what is in
flight, the scheduler's running jobs end, the listener pool drains, and the
database is let go.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.settings import Settings
from storage.db import Database

log = logging.getLogger("newsbot")


class StartError(Exception):
    """The app cannot start (Slack refused a token); one sentence for the operator."""


def run(settings: Settings, db: Database) -> None:
    """Serve until SIGTERM or SIGINT: settle, index, then answer Slack and run the jobs.

    `settings` must have what its mode needs (`Settings.missing_for_slack()` is empty).
    """
    from slack_bolt.error import BoltError
    from slack_sdk.errors import SlackApiError

    from bot.app import create_app, make_client
    from bot.flows.follows import start_watch
    from bot.flows.gitsync import after_index, before_index
    from bot.http_server import HttpServer
    from bot.scheduler import create_scheduler, start_up
    from storage.sync import sync

    pool = listener_pool()
    client = make_client(settings, retry_connections=False)
    scheduler = create_scheduler(settings, db, client)
    stop_watch: Callable[[], None] | None = None
    try:
        # Before the index reads the files: a decision a crash interrupted is settled first.
        start_up(settings, db)
        exchanged = before_index(settings, db)  # NEWSBOT_GIT_PULL / NEWSBOT_GIT_PUSH
        report = sync(
            db.WriteSession,
            settings.articles_dir,
            on_wait=lambda: log.info("waiting for another index run to finish"),
        )
        log.info("indexed %s: %s", settings.articles_dir, report.summary())
        after_index(settings, db, exchanged, client)
        try:
            app = create_app(settings, db, listener_executor=pool)
        except BoltError as exc:
            raise StartError(f"Slack refused SLACK_BOT_TOKEN: {exc}") from None
        scheduler.start()
        if settings.watch:  # NEWSBOT_WATCH: index (and post follow cards) as files change
            stop_watch = start_watch(settings, db, client)
        if settings.socket_mode:
            assert settings.app_token is not None
            handler = socket_mode(app, settings.app_token)
            log.info("connecting to Slack in Socket Mode")
            try:
                serve_until_signalled(handler.connect, handler.close)
            except SlackApiError as exc:
                raise StartError(
                    f"Slack refused SLACK_APP_TOKEN ({exc.response.get('error')}): create an "
                    "app-level token with connections:write under Basic Information"
                ) from None
        else:
            server = HttpServer(app, db, port=settings.port)
            log.info("listening on port %d: POST /slack/events, GET /healthz", settings.port)
            serve_until_signalled(server.start, server.stop)
    finally:
        if stop_watch is not None:
            stop_watch()
        if scheduler.running:
            scheduler.shutdown(wait=True)
        pool.shutdown(wait=True)


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
