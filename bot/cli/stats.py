"""`newsbot stats [--since 7d] [--json] [--png FILE]`: the desk's numbers, as in /news stats."""

from __future__ import annotations

import argparse
import errno
import os
import stat
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from bot import cli
from bot.cli import UserError, open_db
from bot.cli.output import json_line, printable, table
from bot.settings import Settings
from storage.types import DeskStats

#: `--png -`: the chart to stdout.
STDOUT = "-"


def add_commands(commands: Any) -> None:
    stats = commands.add_parser("stats", help="the desk's numbers for a period, or its chart")
    stats.add_argument(
        "--since",
        default="7d",
        help="7d, 30d, a first day YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD (default 7d)",
    )
    stats.add_argument("--json", action="store_true", help="one JSON object")
    stats.add_argument(
        "--png", metavar="FILE", help="write the chart to FILE (PNG), or to stdout with -"
    )
    stats.set_defaults(handler=cmd_stats)


def cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    from bot.flows.stats import period_of
    from storage.searches import KEEP
    from storage.stats import PeriodError, desk_stats

    png = None if args.png is None else png_target(args.png, json=args.json)
    try:
        period = period_of(settings, args.since, spelled="--since ")
    except PeriodError as exc:
        raise UserError(str(exc)) from None
    db = open_db(settings)
    try:
        with db.Session() as session:
            stats = desk_stats(session, period, settings.timezone, day_medians=True)
    finally:
        db.dispose()
    # Older searches are deleted: say so where the figure is read (beside the JSON, on stderr).
    searches_kept = f"searches cover only the last {KEEP.days} days"
    cut = stats.start < datetime.now(UTC) - KEEP
    if cut and args.json:
        print(f"newsbot: {searches_kept}: older ones are deleted", file=sys.stderr)
    if png is not None:
        write_png(stats, png, report=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json_line(stats_json(stats), indent=2))
    elif png is None:
        print_tables(
            stats, searches=f"searches (the last {KEEP.days} days only)" if cut else "searches"
        )
    return 0


def png_target(typed: str, *, json: bool) -> Path | str:
    """Where `--png` writes: a file's path, or STDOUT; a UserError for what cannot be."""
    shown = printable(typed)
    if not typed:
        raise UserError("--png needs a file name, or - for stdout")
    if typed == STDOUT:
        if json:
            raise UserError("--png - writes the chart to stdout, where --json writes its JSON")
        if cli.stdout_closed:
            raise UserError("--png - writes the chart to stdout, which is closed")
        if sys.stdout.isatty():
            raise UserError("--png - writes a PNG to stdout: redirect it to a file or a program")
        return STDOUT
    path = Path(typed)
    if typed.endswith(os.sep) or path.is_dir():
        raise UserError(f"--png {shown}: is a folder, not a file name")
    if json and _is_stdout(path):
        raise UserError(f"--png {shown} is where --json writes its JSON: choose another file")
    return path


def _is_stdout(path: Path) -> bool:
    """Whether `path` is the file stdout writes to (/dev/stdout, /proc/self/fd/1, the file
    stdout was redirected to)."""
    try:
        out, there = os.fstat(sys.stdout.fileno()), os.stat(path)
    except (OSError, ValueError):
        return False
    return (out.st_dev, out.st_ino) == (there.st_dev, there.st_ino)


def write_png(stats: DeskStats, target: Path | str, *, report: TextIO) -> None:
    """The chart into `target`. A file is replaced whole (a reader never sees half a PNG),
    keeping its permission bits; a symlink is written through, to its target; a pipe, a
    terminal or another device is written to as it is."""
    from bot.render.chart import HEIGHT, WIDTH, draw_png

    data = draw_png(stats)
    if target == STDOUT:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    path = Path(target)
    try:
        _write_file(path, data)
    except OSError as exc:
        said = exc.strerror or str(exc)
        raise UserError(f"--png {printable(str(path))}: cannot write it ({said})") from None
    print(
        f"wrote the chart of {stats.first_day} to {stats.last_day} to {printable(str(path))} "
        f"({WIDTH}x{HEIGHT})",
        file=report,
    )


def _write_file(path: Path, data: bytes) -> None:
    try:
        found: os.stat_result | None = os.stat(path)  # through symlinks
    except FileNotFoundError:
        found = None  # new, or a symlink to a file yet to be made
    if found is not None and stat.S_ISDIR(found.st_mode):
        raise IsADirectoryError(errno.EISDIR, "it is a folder")
    if found is not None and not stat.S_ISREG(found.st_mode):
        with open(path, "wb") as device:  # /dev/stdout, a named pipe: nothing to replace
            device.write(data)
        return
    real = Path(os.path.realpath(path))
    # A short name of its own beside the target (a 255-byte name leaves no room for more),
    # made with O_EXCL: never written through something already there.
    fd, name = tempfile.mkstemp(dir=real.parent, prefix=".newsbot-", suffix=".png.tmp")
    temporary = Path(name)
    try:
        with open(fd, "wb") as file:
            file.write(data)
            os.fchmod(file.fileno(), _mode(found))
        os.replace(temporary, real)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _mode(found: os.stat_result | None) -> int:
    """An existing file's permission bits, or what a new file gets under the umask."""
    if found is not None:
        return stat.S_IMODE(found.st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def stats_json(stats: DeskStats) -> dict[str, Any]:
    """Everything `newsbot stats --json` prints; times in seconds."""
    return {
        "first_day": stats.first_day.isoformat(),
        "last_day": stats.last_day.isoformat(),
        "articles_in": stats.articles_in,
        "published": stats.published,
        "rejected": stats.rejected,
        "unpublished": stats.unpublished,
        "still_waiting": stats.waiting,
        "decided": stats.decided,
        "median_seconds_to_decision": stats.median_to_decision,
        "p90_seconds_to_decision": stats.p90_to_decision,
        "searches": stats.searches,
        "reviewers": [
            {
                "id": r.reviewer_id,
                "name": r.reviewer_name,
                "published": r.published,
                "rejected": r.rejected,
                "unpublished": r.unpublished,
            }
            for r in stats.reviewers
        ],
        "topics": [
            {"topic": t.name, "heat": t.heat, "previous_heat": t.previous_heat, "change": t.change}
            for t in stats.topics
        ],
        "days": [
            {
                "day": d.day.isoformat(),
                "articles_in": d.articles_in,
                "published": d.published,
                "median_seconds_to_decision": d.median_to_decision,
            }
            for d in stats.days
        ],
    }


def print_tables(stats: DeskStats, *, searches: str = "searches") -> None:
    from bot.render.stats import duration, sparkline

    table(
        ["figure", f"{stats.first_day} to {stats.last_day}"],
        [
            ["articles in", f"{stats.articles_in:,}"],
            ["published", f"{stats.published:,}"],
            ["rejected", f"{stats.rejected:,}"],
            ["unpublished", f"{stats.unpublished:,}"],
            ["still waiting (now)", f"{stats.waiting:,}"],
            ["first decided", f"{stats.decided:,}"],
            ["median time to decision", duration(stats.median_to_decision)],
            ["90th percentile", duration(stats.p90_to_decision)],
            [searches, f"{stats.searches:,}"],
        ],
    )
    table(
        ["day", "articles in", "published", "median to decision"],
        [
            [
                d.day.isoformat(),
                f"{d.articles_in:,}",
                f"{d.published:,}",
                duration(d.median_to_decision),
            ]
            for d in stats.days
        ],
    )
    print(f"articles in  {sparkline([d.articles_in for d in stats.days])}")
    print(f"published    {sparkline([d.published for d in stats.days])}")
    if stats.reviewers:
        table(
            ["reviewer", "published", "rejected", "unpublished"],
            [
                [
                    f"{r.reviewer_name} ({r.reviewer_id})",
                    str(r.published),
                    str(r.rejected),
                    str(r.unpublished),
                ]
                for r in stats.reviewers
            ],
        )
    if stats.topics:
        table(
            ["topic", "heat", "the period before", "change"],
            [
                [printable(t.name), f"{t.heat:,}", f"{t.previous_heat:,}", f"{t.change:+,}"]
                for t in stats.topics
            ],
        )
