"""Runs one step of the editorial workflow in a process of its own, for the tests that need two
processes at once on PostgreSQL. Settings come from the environment, as for `newsbot`.

    python -m tests.bot.flows.editorial_worker remind 2026-11-30T09:05:00+00:00
    python -m tests.bot.flows.editorial_worker publish-due 2026-11-30T09:05:00+00:00
    python -m tests.bot.flows.editorial_worker approve ARTICLE_ID FINGERPRINT USER NAME

Prints what happened, one word.
"""

from __future__ import annotations

import sys
from datetime import datetime

from bot.app import make_client
from bot.cli import load_settings
from bot.flows.reminders import post_reminder
from bot.flows.schedule import run_due
from storage.db import open_database
from storage.decisions import decide


def main(argv: list[str]) -> None:
    settings = load_settings()
    db = open_database(settings.database_url)
    client = make_client(settings, retry_connections=False)
    command, *rest = argv
    if command == "remind":
        print(post_reminder(settings, db, client, now=datetime.fromisoformat(rest[0])).status)
    elif command == "publish-due":
        ran = run_due(settings, db, client, now=datetime.fromisoformat(rest[0]))
        print(",".join(status for _id, status in ran) or "nothing")
    elif command == "approve":
        article_id, fingerprint, user, name = rest
        outcome = decide(
            db.WriteSession,
            article_id=int(article_id),
            action="publish",
            fingerprint=fingerprint,
            reviewer_id=user,
            reviewer_name=name,
            root=settings.articles_dir,
            two_reviewers=settings.two_reviewers,
        )
        print(outcome.status)
    db.dispose()


if __name__ == "__main__":
    main(sys.argv[1:])
