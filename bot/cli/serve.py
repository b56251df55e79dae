"""`newsbot serve` (the Slack app and its scheduler) and `newsbot quickstart` (`make run`)."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.cli import UserError, missing_sentence, open_db
from bot.cli.index import index_once, print_report
from bot.cli.output import printable
from bot.settings import Settings

log = logging.getLogger("newsbot")
EXAMPLES = Path("examples/articles")


def add_commands(commands: Any) -> None:
    serve = commands.add_parser("serve", help="run the Slack app (Socket Mode or HTTP)")
    serve.set_defaults(handler=cmd_serve)
    quick = commands.add_parser("quickstart", help="what `make run` does")
    quick.set_defaults(handler=cmd_quickstart)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from slack_bolt.error import BoltError
    from slack_sdk.errors import SlackApiError

    from bot.app import create_app, make_client
    from bot.flows.follows import start_watch
    from bot.scheduler import create_scheduler, start_up
    from bot.server import HttpServer, listener_pool, serve_until_signalled, socket_mode

    if missing := settings.missing_for_slack():
        raise UserError(missing_sentence(missing))
    db = open_db(settings)
    pool = listener_pool()
    scheduler = create_scheduler(settings, db, make_client(settings, retry_connections=False))
    stop_watch = None
    try:
        # Before the index reads the files: a decision a crash interrupted is settled first.
        start_up(settings, db)
        report = index_once(db, settings.articles_dir, show_progress=False)
        log.info("indexed %s: %s", settings.articles_dir, report.summary())
        try:
            app = create_app(settings, db, listener_executor=pool)
        except BoltError as exc:
            raise UserError(f"Slack refused SLACK_BOT_TOKEN: {exc}") from None
        scheduler.start()
        if settings.watch:
            stop_watch = start_watch(settings, db, make_client(settings, retry_connections=False))
        if settings.socket_mode:
            assert settings.app_token is not None
            handler = socket_mode(app, settings.app_token)
            log.info("connecting to Slack in Socket Mode")
            try:
                serve_until_signalled(handler.connect, handler.close)
            except SlackApiError as exc:
                raise UserError(
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
        db.dispose()
    return 0


def not_configured(settings: Settings) -> str:
    """Why the Slack app cannot start, naming the pair each mode needs.

    Unless a mode is chosen already, the README's way leads: Socket Mode's
    SLACK_BOT_TOKEN and SLACK_APP_TOKEN, then HTTP mode's pair as the other way.
    """
    missing = settings.missing_for_slack()
    if settings.socket_mode or settings.signing_secret is not None:
        return missing_sentence(missing)
    socket = [name for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN") if name in missing]
    socket = socket or ["SLACK_APP_TOKEN"]
    return (
        f"{missing_sentence(socket)}; for HTTP mode instead, set SLACK_BOT_TOKEN and "
        "SLACK_SIGNING_SECRET (Basic Information > App Credentials > Signing Secret)"
    )


def cmd_quickstart(args: argparse.Namespace, settings: Settings) -> int:
    """`make run`: serve when Slack is configured; else index and show what is there."""
    from storage.search import parse_query, search

    root = settings.articles_dir
    if not root.is_dir() and EXAMPLES.is_dir():
        root = EXAMPLES
        print(f"{settings.articles_dir} does not exist: using the bundled {root}")
    settings = replace(settings, articles_dir=root)
    if not settings.missing_for_slack():
        return cmd_serve(args, settings)
    db = open_db(settings)
    try:
        report = index_once(db, root, show_progress=sys.stderr.isatty())
        print(f"indexed {root}:")
        print_report(report)
        with db.Session() as session:
            page = search(session, parse_query(""), limit=5)
    finally:
        db.dispose()
    print("hottest articles:")
    for article in page.articles:
        print(f"  {article.heat:>4}  {printable(article.title)}")
    print(f"Not starting the Slack app: {not_configured(settings)}.")
    return 0
