"""One process posting the weekly report: `python -m tests.bot.flows.report_race URL API NOW`.

Run twice at once by tests/bot/flows/test_report.py; prints what post_report did.
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

from bot.app import make_client
from bot.flows.report import post_report
from bot.settings import Settings
from storage.db import open_database
from tests.slack_api import BOT_TOKEN


def main(url: str, api_url: str, now: str) -> None:
    settings = Settings.from_env(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_API_URL": api_url,
            "NEWSBOT_DATABASE_URL": url,
            "NEWSBOT_ARTICLES_DIR": str(Path.cwd()),
            "NEWSBOT_REPORT_CHANNEL": "C0REPORT",
        }
    )
    db = open_database(url)
    try:
        result = post_report(
            settings,
            db,
            make_client(settings, retry_connections=False),
            channel="C0REPORT",
            report_date=date(2026, 11, 23),
            now=datetime.fromisoformat(now),
        )
    finally:
        db.dispose()
    print(result.status)


if __name__ == "__main__":
    main(*sys.argv[1:4])
