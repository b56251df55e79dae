"""The `newsbot` command line, and the only place that reads the environment."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

from bot.settings import SETTINGS, ConfigError, Settings
from storage.db import Database, DatabaseError, open_database
from storage.search import QueryError, parse_query, search, topic_counts
from storage.sync import FolderError, SyncReport, sync
from storage.types import ArticleView

log = logging.getLogger("newsbot")


class UserError(Exception):
    """A mistake the user can fix; printed as one sentence, no traceback."""


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Settings from the environment, over the values of a `.env` file if there is one."""
    env = {k: v for k, v in dotenv_values(".env").items() if v is not None}
    env.update(os.environ if environ is None else environ)
    return Settings.from_env(env)


def _database(settings: Settings) -> Database:
    return open_database(settings.database_url)


# --- index -------------------------------------------------------------------


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    root = Path(args.path) if args.path else settings.articles_dir
    db = _database(settings)
    try:
        report = _index_once(db, root, show_progress=sys.stderr.isatty())
        _print_report(report)
        if args.watch:
            _watch(db, root)
        return 1 if args.strict and report.failed else 0
    finally:
        db.dispose()


def _index_once(db: Database, root: Path, *, show_progress: bool) -> SyncReport:
    if not show_progress:
        return sync(db.WriteSession, root)
    columns = ("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeRemainingColumn(), console=Console(stderr=True)) as bar:
        task = bar.add_task("indexing", total=None)
        return sync(
            db.WriteSession, root, progress=lambda d, t: bar.update(task, completed=d, total=t)
        )


def _print_report(report: SyncReport) -> None:
    for failure in report.failures:
        print(f"failed: {failure}")
    print(report.summary())


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
    print(f"watching {root} for changes (Ctrl-C to stop)")
    try:
        while True:
            changed.wait()
            # Let a burst of writes (a pipeline run, a git checkout) settle first.
            while changed.wait(timeout=1.0):
                changed.clear()
            _print_report(sync(db.WriteSession, root))
    except KeyboardInterrupt:
        pass
    finally:
        observer.stop()
        observer.join()


# --- search ------------------------------------------------------------------


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    if not args.topics and not args.query:
        raise UserError("give search terms (newsbot search ai heat>=50), or --topics")
    db = _database(settings)
    try:
        with db.Session() as session:
            if args.topics:
                counts = topic_counts(session, limit=args.limit)
                if args.json:
                    for tc in counts:
                        print(json.dumps({"topic": tc.name, "count": tc.count}, ensure_ascii=False))
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
            print(json.dumps(article_json(article), ensure_ascii=False))
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


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    table = Table(*headers, show_lines=False, highlight=False)
    for row in rows:
        table.add_row(*row)
    # Piped output is for grep and friends: one row per line, never wrapped.
    Console(width=None if sys.stdout.isatty() else 1000).print(table)


# --- quickstart ----------------------------------------------------------------


def cmd_quickstart(args: argparse.Namespace, settings: Settings) -> int:
    """`make run`: index the articles (the bundled examples when there are none)."""
    root = settings.articles_dir
    if not root.is_dir() and Path("examples/articles").is_dir():
        root = Path("examples/articles")
    db = _database(settings)
    try:
        report = _index_once(db, root, show_progress=sys.stderr.isatty())
        print(f"indexed {root}: {report.summary()}")
        for failure in report.failures:
            print(f"failed: {failure}")
        with db.Session() as session:
            page = search(session, parse_query(f"since:{_days_back(30)}"), limit=5)
    finally:
        db.dispose()
    print("hottest articles:")
    for article in page.articles:
        print(f"  {article.heat:>4}  {article.title}")
    return 0


def _days_back(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).date().isoformat()


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

    quick = commands.add_parser("quickstart", help="what `make run` does")
    quick.set_defaults(handler=cmd_quickstart)
    return parser


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {value!r}")
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
