"""How docs/desk-insights.png is made: `.venv/bin/python docs/make_desk_chart.py`.

The bundled examples/articles are indexed into a scratch SQLite database as if
each had come in ten minutes after its publishedDateTime, three review decisions
are recorded a few hours after, and `newsbot stats --png` draws the week.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from bot.cli import main
from storage.db import open_database
from storage.models import Article, ReviewDecision
from storage.sync import sync

REPO = Path(__file__).resolve().parents[1]
DECISIONS = [  # article file, action, hours after it came in, reviewer
    ("harbor-city-tests-ai-traffic-cameras.md", "publish", 2, ("U0RITA", "Rita")),
    ("zurich-heat-pump-subsidy.md", "publish", 5, ("U0SAM", "Sam")),
    ("clinic-scheduling-ransomware.md", "reject", 20, ("U0RITA", "Rita")),
]


def make(target: Path) -> int:
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work, "articles")
        shutil.copytree(REPO / "examples" / "articles", folder)
        url = f"sqlite:///{work}/newsbot.db"
        db = open_database(url)
        sync(db.WriteSession, folder)
        with db.WriteSession.begin() as session:
            for article in session.scalars(select(Article)):
                article.first_indexed_at = article.published_at + timedelta(minutes=10)
            for name, action, hours, (reviewer, reviewer_name) in DECISIONS:
                article = session.scalars(
                    select(Article).where(Article.source_path.endswith(name))
                ).one()
                session.add(
                    ReviewDecision(
                        article_id=article.id,
                        action=action,
                        reviewer_id=reviewer,
                        reviewer_name=reviewer_name,
                        decided_at=article.first_indexed_at + timedelta(hours=hours),
                    )
                )
                session.execute(
                    update(Article)
                    .where(Article.id == article.id)
                    .values(published=action == "publish", rejected=action == "reject")
                )
        db.dispose()
        os.environ.update(NEWSBOT_DATABASE_URL=url, NEWSBOT_TIMEZONE="UTC")
        return main(["stats", "--since", "2026-11-20..2026-11-26", "--png", str(target)])


if __name__ == "__main__":
    sys.exit(make(REPO / "docs" / "desk-insights.png"))
