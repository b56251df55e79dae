"""The `newsbot` command line, and the only place that reads the environment."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dotenv import dotenv_values

from bot.settings import SETTINGS, ConfigError, Settings
from storage.errors import DatabaseError
from storage.scan import Comparison, FolderError, quick_compare
from storage.types import SyncReport

# What only some commands need is imported by them: `newsbot index` run from
# cron, finding nothing new, answers without SQLAlchemy (storage.scan), rich or
# the Slack SDK, which would otherwise be a third of its time.
if TYPE_CHECKING:
    from storage.db import Database
    from storage.types import ArticleView

log = logging.getLogger("newsbot")
EXAMPLES = Path("examples/articles")


class UserError(Exception):
    """A mistake the user can fix; printed as one sentence, no traceback."""


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Settings from the environment, over the values of a `.env` file if there is one."""
    env = {k: v for k, v in dotenv_values(".env").items() if v is not None}
    env.update(os.environ if environ is None else environ)
    return Settings.from_env(env)


def _database(settings: Settings) -> Database:
    from storage.db import open_database

    return open_database(settings.database_url)


# --- index -------------------------------------------------------------------


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    root = Path(args.path) if args.path else settings.articles_dir
    found = None if args.watch else quick_compare(settings.database_url, root)
    if found is not None and not found.needs_writing():
        report = found.report()
        _print_report(report)
    else:
        db = _database(settings)
        try:
            report = _index_once(db, root, show_progress=sys.stderr.isatty(), found=found)
            _print_report(report)
            if args.watch:
                _watch(db, root)
        finally:
            db.dispose()
    return 1 if args.strict and report.failed else 0


WAITING = "newsbot: waiting for another index run to finish"


def _index_once(
    db: Database, root: Path, *, show_progress: bool, found: Comparison | None = None
) -> SyncReport:
    """One index run; when another run (cron, serve, a replica) holds the lock, wait for it."""
    from storage.sync import sync

    if not show_progress:
        return sync(
            db.WriteSession,
            root,
            found=found,
            on_wait=lambda: print(WAITING, file=sys.stderr, flush=True),
        )
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    columns = ("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeRemainingColumn(), console=Console(stderr=True)) as bar:
        task = bar.add_task("indexing", total=None)
        return sync(
            db.WriteSession,
            root,
            progress=lambda d, t: bar.update(task, completed=d, total=t),
            found=found,
            on_wait=lambda: bar.console.print(WAITING, markup=False, highlight=False),
        )


def _print_report(report: SyncReport) -> None:
    for failure in report.failures:
        print(f"failed: {failure}")
    print(report.summary(), flush=True)  # --watch output is read as it happens


def _watch(db: Database, root: Path) -> None:
    """Re-index whenever article files change, until Ctrl-C."""
    from watchdog.events import FileSystemEvent, FileSystemEventHandler
    from watchdog.observers import Observer

    changed = threading.Event()

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event: FileSystemEvent) -> None:
            paths = (str(event.src_path), str(getattr(event, "dest_path", "") or ""))
            if any(p.endswith(".md") and not Path(p).name.startswith(".") for p in paths) or (
                event.is_directory and event.event_type in ("moved", "deleted", "created")
            ):
                changed.set()

    observer = Observer()
    observer.schedule(Handler(), str(root), recursive=True)
    observer.start()
    print(f"watching {root} for changes (Ctrl-C to stop)", flush=True)
    try:
        while True:
            changed.wait()
            # Let a burst of writes (a pipeline run, a git checkout) settle first.
            while changed.wait(timeout=1.0):
                changed.clear()
            try:
                _print_report(_index_once(db, root, show_progress=False))
            except (DatabaseError, FolderError) as exc:  # say so, and keep watching
                print(f"newsbot: {exc}", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        observer.stop()
        observer.join()


# --- search ------------------------------------------------------------------


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from storage.search import QueryError, parse_query, search, topic_counts

    if not args.topics and not args.query:
        raise UserError("give search terms (newsbot search ai heat>=50), or --topics")
    db = _database(settings)
    try:
        with db.Session() as session:
            if args.topics:
                counts = topic_counts(session, limit=args.limit)
                if args.json:
                    for tc in counts:
                        print(_json_line({"topic": tc.name, "count": tc.count}))
                else:
                    _table(["topic", "articles"], [[tc.name, str(tc.count)] for tc in counts])
                return 0
            try:
                query = parse_query(" ".join(args.query), tz=settings.timezone)
            except QueryError as exc:
                raise UserError(str(exc)) from None
            page = search(session, query, limit=args.limit)
    finally:
        db.dispose()
    if args.json:
        for article in page.articles:
            print(_json_line(article_json(article)))
    elif not page.articles:
        print(f"no articles match {query.text!r}", file=sys.stderr)
    else:
        rows = [
            [
                str(a.heat),
                a.published_at.astimezone(settings.timezone).strftime("%Y-%m-%d")
                if a.published_at
                else "",
                "yes" if a.published else "draft",
                a.title,
                ", ".join(a.topics),
                a.provider_domain or "",
            ]
            for a in page.articles
        ]
        _table(["heat", "date", "published", "title", "topics", "provider"], rows)
    return 0


def article_json(article: ArticleView) -> dict[str, Any]:
    """The `--json` line for one article (SPEC section 2)."""
    when = article.published_at
    return {
        "url": article.web_url,
        "title": article.title,
        "topics": list(article.topics),
        "heat": article.heat,
        "quality": article.quality,
        "published": article.published,
        "publishedDateTime": when.isoformat().replace("+00:00", "Z") if when else None,
        "provider": {"name": article.provider_name, "domain": article.provider_domain},
    }


# Article text and Slack names are data. In a table they are never rich markup
# ("[/b]" would crash it, "[link=...]" would be a live hyperlink), and no control
# character or bidi override reaches the terminal: ESC starts colours, OSC 8
# links and title changes; CR and backspace overwrite what was printed.
_LINE_BREAKS = re.compile("[\t\n\v\f\r\x1c-\x1f\x85\u2028\u2029]+")
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SURROGATES = re.compile("[\ud800-\udfff]")
# JSON lines stay exact, but as escapes: json.dumps escapes C0 itself, not DEL,
# C1, bidi overrides, the Unicode line separators or lone surrogates.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _printable(value: str) -> str:
    """`value` as one printable line: line breaks folded to a space, other controls dropped."""
    value = _LINE_BREAKS.sub(" ", value)
    return _SURROGATES.sub("\ufffd", _UNPRINTABLE.sub("", value))


def _json_line(value: Any) -> str:
    """One JSON line that decodes to exactly `value` and prints no control character raw."""
    line = json.dumps(value, ensure_ascii=False)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", line)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # No styles either: on a terminal the only escape sequences would be rich's own,
    # and a plain table keeps "nothing but text reaches the terminal" checkable.
    table = Table(*headers, show_lines=False, highlight=False, header_style="")
    for row in rows:
        table.add_row(*(Text(_printable(cell)) for cell in row))
    # Piped output is for grep and friends: one row per line, never wrapped.
    console = Console(
        width=None if sys.stdout.isatty() else 1000, markup=False, emoji=False, highlight=False
    )
    console.print(table)


# --- digest ----------------------------------------------------------------------


def cmd_digest(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import make_client
    from bot.flows.digest import DigestError, build, post_digest, today

    channel = args.channel or settings.digest_channel
    if not channel:
        raise UserError("no channel: pass --channel C0123456789 or set NEWSBOT_DIGEST_CHANNEL")
    local_date = _date(args.date) if args.date else today(settings)
    db = _database(settings)
    try:
        if args.dry_run:
            _plan, messages = build(settings, db, channel=channel, local_date=local_date)
            for message in messages:
                payload = {"text": message.text, "blocks": message.blocks}
                print(json.dumps(payload, ensure_ascii=False, indent=2))
                print(f"Block Kit Builder: {builder_link(message.blocks)}")
            return 0
        if missing := [m for m in settings.missing_for_slack() if m == "SLACK_BOT_TOKEN"]:
            raise UserError(_missing_sentence(missing))
        client = make_client(settings, retry_connections=False)
        try:
            result = post_digest(settings, db, client, channel=channel, local_date=local_date)
        except DigestError as exc:
            raise UserError(str(exc)) from None
    finally:
        db.dispose()
    if result.status == "already-posted":
        print(
            f"the digest for {local_date} was already posted to {channel}: {_link(client, result)}"
        )
    elif result.status == "nothing-to-post":
        print(
            f"nothing to post for {local_date}: no article with heat >= {settings.digest_min_heat} "
            f"first published between {result.plan.window_start:%Y-%m-%d %H:%M} and "
            f"{result.plan.window_end:%Y-%m-%d %H:%M} UTC"
        )
    else:
        print(f"posted the digest for {local_date} to {channel}: {_link(client, result)}")
    return 0


def builder_link(blocks: list[dict[str, Any]]) -> str:
    """A Block Kit Builder URL that opens these blocks."""
    from urllib.parse import quote

    payload = json.dumps({"blocks": blocks}, ensure_ascii=False, separators=(",", ":"))
    return "https://app.slack.com/block-kit-builder/#" + quote(payload, safe="")


def _link(client: Any, result: Any) -> str:
    from slack_sdk.errors import SlackApiError, SlackClientError

    if not result.message_ts:
        return "(claimed, but no message was recorded: see README, 'Exactly once')"
    try:
        response = client.chat_getPermalink(channel=result.channel, message_ts=result.message_ts)
        return str(response["permalink"])
    except (SlackApiError, SlackClientError):
        return f"message ts {result.message_ts}"


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError(f"--date {value!r} is not a date: use YYYY-MM-DD") from None


# --- audit -----------------------------------------------------------------------


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    from storage.decisions import decisions_since
    from storage.search import QueryError, parse_since

    try:
        since = parse_since(args.since, tz=settings.timezone, spelled="--since ")
    except QueryError as exc:
        raise UserError(str(exc)) from None
    db = _database(settings)
    try:
        with db.Session() as session:
            rows = decisions_since(session, since)
    finally:
        db.dispose()
    if not rows:
        print(f"no review decisions since {since.astimezone(settings.timezone):%Y-%m-%d %H:%M}")
        return 0
    _table(
        ["when", "who", "what", "article", "change", "where"],
        [
            [
                r.decided_at.astimezone(settings.timezone).strftime("%Y-%m-%d %H:%M"),
                f"{r.reviewer_name} ({r.reviewer_id})",
                r.action,
                r.title,
                f"{r.old_value} -> {r.new_value}",
                f"{r.channel_id or '-'} {r.message_ts or ''}".strip(),
            ]
            for r in rows
        ],
    )
    return 0


# --- serve ---------------------------------------------------------------------

WHERE_FROM = {
    "SLACK_BOT_TOKEN": "OAuth & Permissions > Bot User OAuth Token",
    "SLACK_SIGNING_SECRET": "Basic Information > App Credentials > Signing Secret",
    "SLACK_APP_TOKEN": "Basic Information > App-Level Tokens, with connections:write",
}


def _missing_sentence(missing: Sequence[str]) -> str:
    where = "; ".join(f"{name} from {WHERE_FROM[name]}" for name in missing)
    return (
        f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set: copy them from "
        f"your app's page at api.slack.com/apps ({where}) into the environment or .env"
    )


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from slack_bolt.error import BoltError
    from slack_sdk.errors import SlackApiError

    from bot.app import create_app, make_client
    from bot.scheduler import create_scheduler, start_up
    from bot.server import HttpServer, listener_pool, serve_until_signalled, socket_mode

    if missing := settings.missing_for_slack():
        raise UserError(_missing_sentence(missing))
    # A failed Web API call raises into code that reports it: in one sentence (the
    # digest) or with its traceback (a listener). slack_sdk's line would say it twice.
    logging.getLogger("slack_sdk.web.base_client").addFilter(
        lambda record: not record.getMessage().startswith("Failed to send a request")
    )
    db = _database(settings)
    pool = listener_pool()
    scheduler = create_scheduler(settings, db, make_client(settings, retry_connections=False))
    try:
        # Before the index reads the files: a decision a crash interrupted is settled first.
        start_up(settings, db)
        report = _index_once(db, settings.articles_dir, show_progress=False)
        log.info("indexed %s: %s", settings.articles_dir, report.summary())
        try:
            app = create_app(settings, db, listener_executor=pool)
        except BoltError as exc:
            raise UserError(f"Slack refused SLACK_BOT_TOKEN: {exc}") from None
        scheduler.start()
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
        if scheduler.running:
            scheduler.shutdown(wait=True)
        pool.shutdown(wait=True)
        db.dispose()
    return 0


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
    db = _database(settings)
    try:
        report = _index_once(db, root, show_progress=sys.stderr.isatty())
        print(f"indexed {root}: {report.summary()}")
        for failure in report.failures:
            print(f"failed: {failure}")
        with db.Session() as session:
            page = search(session, parse_query(""), limit=5)
    finally:
        db.dispose()
    print("hottest articles:")
    for article in page.articles:
        print(f"  {article.heat:>4}  {article.title}")
    print(f"Not starting the Slack app: {_missing_sentence(settings.missing_for_slack())}.")
    return 0


# --- entry point ----------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    env_help = "\n".join(
        f"  {s.env:<26} {s.help.replace('`', '')}"
        + (f" (default {s.default})" if s.default else "")
        for s in SETTINGS
    )
    parser = argparse.ArgumentParser(
        prog="newsbot",
        description="A Slack app for news desks: index, search, digest and review articles.",
        epilog=f"environment (also read from a .env file):\n{env_help}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    index = commands.add_parser("index", help="index the articles folder into the database")
    index.add_argument("path", nargs="?", help="the folder (default $NEWSBOT_ARTICLES_DIR)")
    index.add_argument("--watch", action="store_true", help="keep re-indexing as files change")
    index.add_argument("--strict", action="store_true", help="exit 1 when any file failed")
    index.set_defaults(handler=cmd_index)

    find = commands.add_parser("search", help="search articles as /news does")
    find.add_argument("query", nargs="*", help="terms and filters: heat>=N since:7d provider:D ...")
    find.add_argument("--json", action="store_true", help="one JSON object per line")
    find.add_argument("--limit", type=_positive, default=20, help="most results (default 20)")
    find.add_argument("--topics", action="store_true", help="list topics with article counts")
    find.set_defaults(handler=cmd_search)

    digest = commands.add_parser("digest", help="post (or preview) the daily digest")
    digest.add_argument("--channel", help="channel ID (default $NEWSBOT_DIGEST_CHANNEL)")
    digest.add_argument("--date", help="local date YYYY-MM-DD (default today)")
    digest.add_argument("--dry-run", action="store_true", help="print the Block Kit JSON only")
    digest.set_defaults(handler=cmd_digest)

    audit = commands.add_parser("audit", help="list review decisions")
    audit.add_argument("--since", default="7d", help="7d, 12h, 2w or YYYY-MM-DD (default 7d)")
    audit.set_defaults(handler=cmd_audit)

    serve = commands.add_parser("serve", help="run the Slack app (Socket Mode or HTTP)")
    serve.set_defaults(handler=cmd_serve)

    quick = commands.add_parser("quickstart", help="what `make run` does")
    quick.set_defaults(handler=cmd_quickstart)
    return parser


# The database's LIMIT is a 64-bit integer; nobody reads a billion rows anyway.
_MOST_ROWS = 1_000_000_000


def _positive(value: str) -> int:
    # ASCII digits only: str.isdigit() also takes "²", which int() then refuses.
    if not re.fullmatch("[0-9]{1,10}", value, re.ASCII) or not 1 <= int(value) <= _MOST_ROWS:
        raise argparse.ArgumentTypeError(
            f"expected a whole number from 1 to {_MOST_ROWS}, got {value!r}"
        )
    return int(value)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    handler: Callable[[argparse.Namespace, Settings], int] = args.handler
    try:
        return handler(args, load_settings())
    except (UserError, ConfigError, DatabaseError, FolderError) as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
