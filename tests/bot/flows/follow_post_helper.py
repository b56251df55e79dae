"""Post the waiting follow cards once, in a process of its own, and print how many.

    python -m tests.bot.flows.follow_post_helper DATABASE_URL API_URL FOLDER [MINUTES_AHEAD]

MINUTES_AHEAD runs this poster's clock that far ahead: a replica that sees every
lease as run out. Its log goes to stderr, from INFO up.
"""

from __future__ import annotations

import logging
import sys
from datetime import timedelta

from bot.app import make_client
from bot.flows.follows import post_pending
from bot.settings import Settings
from storage.db import open_database
from storage.models import utcnow
from tests.slack_api import BOT_TOKEN


def main(argv: list[str]) -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    url, api_url, folder = argv[0], argv[1], argv[2]
    ahead = timedelta(minutes=int(argv[3])) if len(argv) > 3 else timedelta(0)
    settings = Settings.from_env(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_API_URL": api_url,
            "NEWSBOT_DATABASE_URL": url,
            "NEWSBOT_ARTICLES_DIR": folder,
        }
    )
    db = open_database(url)
    try:
        client = make_client(settings, retry_connections=False)
        print(post_pending(settings, db, client, now=utcnow() + ahead), flush=True)
    finally:
        db.dispose()


if __name__ == "__main__":
    main(sys.argv[1:])
