"""`newsbot index [PATH] [--watch] [--strict] [--clone-gone ID]`: index the articles folder,
and keep at it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli import UserError, open_db
from bot.cli.output import printable
from bot.settings import Settings
from storage.errors import DatabaseError
from storage.scan import Comparison, FolderError, quick_compare
from storage.types import SyncReport

if TYPE_CHECKING:
    from bot.flows.gitsync import Exchanged
    from storage.db import Database

WAITING = "newsbot: waiting for another index run to finish"


def add_commands(commands: Any) -> None:
    index = commands.add_parser("index", help="index the articles folder into the database")
    index.add_argument("path", nargs="?", help="the folder (default $NEWSBOT_ARTICLES_DIR)")
    index.add_argument("--watch", action="store_true", help="keep re-indexing as files change")
    index.add_argument("--strict", action="store_true", help="exit 1 when any file failed")
    index.add_argument(
        "--clone-gone",
        metavar="ID",
        help="first abandon the decisions pending in the git clone ID, lost for good",
    )
    index.set_defaults(handler=cmd_index)


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    root = Path(args.path) if args.path else settings.articles_dir
    # The clone changes before the index reads it (owed commits, a pull).
    git = settings.git_commit or settings.git_pull or settings.git_push
    quick = not (args.watch or git or args.clone_gone)
    found = quick_compare(settings.database_url, root) if quick else None
    if found is not None and not found.needs_writing():
        report = found.report()
        print_report(report)
    else:
        db = open_db(settings)
        try:
            if args.clone_gone:
                abandon(db, args.clone_gone)
            exchanged = git_before_index(settings, db, root) if git else None
            report = index_once(db, root, show_progress=sys.stderr.isatty(), found=found)
            print_report(report)
            if exchanged is not None:
                git_after_index(settings, db, exchanged)
            if args.watch:
                watch(db, root)
        finally:
            db.dispose()
    return 1 if args.strict and report.failed else 0


def abandon(db: Database, clone: str) -> None:
    """The decisions pending in a clone whose machine is gone for good: abandoned."""
    from storage.decisions import abandon_clone

    settled_all = abandon_clone(db.WriteSession, clone)
    if not settled_all:
        raise UserError(
            f"--clone-gone {printable(clone)}: no decision is pending in that clone (its ID is "
            "in the log line that names the decisions waiting for it)"
        )
    for settled in settled_all:
        print(f"abandoned: the {settled.action} of {settled.source_path} by {settled.reviewer_id}")


def git_before_index(settings: Settings, db: Database, root: Path) -> Exchanged | None:
    """NEWSBOT_GIT_COMMIT / _PULL / _PUSH: make owed commits, pull, push what waits."""
    from bot.flows.gitsync import before_index

    return before_index(settings, db, root)


def git_after_index(settings: Settings, db: Database, exchanged: Exchanged) -> None:
    """Tell Slack what the pull and push changed, when a bot token is configured."""
    from bot.app import make_client
    from bot.flows.gitsync import after_index

    client = make_client(settings) if settings.bot_token else None
    after_index(settings, db, exchanged, client)


def index_once(
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


def print_report(report: SyncReport) -> None:
    """Each failure on a line of its own (names escaped), then the counts."""
    for failure in report.failures:
        print(f"failed: {failure}")
    print(report.summary(), flush=True)  # --watch output is read as it happens


def watch(db: Database, root: Path) -> None:
    """Re-index whenever article files change, until Ctrl-C."""
    from bot.watcher import article_changes

    if not root.is_dir():
        raise UserError(f"the articles folder {root} does not exist or is not a folder")

    def ready() -> None:
        print(f"watching {root} for changes (Ctrl-C to stop)", flush=True)

    try:
        for _batch in article_changes(root, on_ready=ready):
            try:
                print_report(index_once(db, root, show_progress=False))
            except (DatabaseError, FolderError) as exc:  # say so, and keep watching
                print(f"newsbot: {exc}", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        pass
