"""`newsbot follows`: every follow of every channel."""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli import open_db
from bot.cli.output import json_line, table
from bot.settings import Settings


def add_commands(commands: Any) -> None:
    follows = commands.add_parser("follows", help="list every channel's follows")
    follows.add_argument("--json", action="store_true", help="one JSON object per line")
    follows.set_defaults(handler=cmd_follows)


def cmd_follows(args: argparse.Namespace, settings: Settings) -> int:
    from storage.follows import active_follows

    db = open_db(settings)
    try:
        with db.Session() as session:
            follows = active_follows(session)
    finally:
        db.dispose()
    if args.json:
        for f in follows:
            print(
                json_line(
                    {
                        "channel": f.channel,
                        "number": f.number,
                        "query": f.query,
                        "source": f.source,
                        "createdBy": f.created_by,
                        "createdByName": f.created_by_name,
                        "createdAt": f.created_at.isoformat().replace("+00:00", "Z"),
                        "cards": f.cards,
                    }
                )
            )
        return 0
    if not follows:
        print("no channel follows anything: type /news follow QUERY in a channel")
        return 0
    table(
        ["channel", "#", "query", "by", "since", "cards"],
        [
            [
                f.channel,
                str(f.number),
                f.query,
                "configuration" if f.configured else f"{f.created_by_name} ({f.created_by})",
                f.created_at.astimezone(settings.timezone).strftime("%Y-%m-%d %H:%M"),
                str(f.cards),
            ]
            for f in follows
        ],
    )
    return 0
