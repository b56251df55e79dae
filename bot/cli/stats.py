"""`newsbot stats [--since 7d] [--json] [--png FILE]`: the desk's numbers, as in /news stats."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from bot.cli import UserError, open_db
from bot.cli.output import json_line, printable, table
from bot.settings import Settings
from storage.types import DeskStats


def add_commands(commands: Any) -> None:
    stats = commands.add_parser("stats", help="the desk's numbers for a period, or its chart")
    stats.add_argument(
        "--since",
        default="7d",
        help="7d, 30d, a first day YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD (default 7d)",
    )
    stats.add_argument("--json", action="store_true", help="one JSON object")
    stats.add_argument("--png", type=Path, metavar="FILE", help="write the chart to FILE (PNG)")
    stats.set_defaults(handler=cmd_stats)


def cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    from bot.flows.stats import period_of
    from storage.stats import PeriodError, desk_stats

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
    if args.png:
        write_png(stats, args.png)
    if args.json:
        print(json_line(stats_json(stats), indent=2))
    elif not args.png:
        print_tables(stats)
    return 0


def write_png(stats: DeskStats, path: Path) -> None:
    """The chart into `path`, replaced whole: a reader never sees half a PNG."""
    from bot.render.chart import HEIGHT, WIDTH, draw_png

    data = draw_png(stats)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise UserError(f"--png {path}: cannot write it ({exc.strerror or exc})") from None
    print(f"wrote the chart of {stats.first_day} to {stats.last_day} to {path} ({WIDTH}x{HEIGHT})")


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


def print_tables(stats: DeskStats) -> None:
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
            ["searches", f"{stats.searches:,}"],
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
