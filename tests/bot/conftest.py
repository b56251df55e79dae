"""The real Bolt app, a Slack-like Web API on a local port, and a database of examples."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_bolt import App

from bot.app import create_app
from bot.settings import Settings
from storage.db import Database, open_database
from storage.sync import sync
from tests.slack_api import BOT_TOKEN, FakeSlack
from tests.slack_requests import SIGNING_SECRET

REVIEWER = "U0REVIEW"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    """The Web API stand-in. A test fails if the app sent blocks Slack would refuse."""
    with FakeSlack() as fake:
        fake.add_user(REVIEWER, "rita", "Rita Reviewer")
        yield fake
        assert fake.block_kit_violations == []


def make_settings(slack: FakeSlack, database_url: str, articles: Path, **env: str) -> Settings:
    return Settings.from_env(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "NEWSBOT_DATABASE_URL": database_url,
            "NEWSBOT_ARTICLES_DIR": str(articles),
            "NEWSBOT_REVIEWERS": REVIEWER,
            **env,
        }
    )


@pytest.fixture
def settings(slack: FakeSlack, sqlite_url: str, articles_dir: Path) -> Settings:
    return make_settings(slack, sqlite_url, articles_dir)


@pytest.fixture
def bot_db(settings: Settings) -> Iterator[Database]:
    """The examples, indexed."""
    db = open_database(settings.database_url)
    sync(db.WriteSession, settings.articles_dir)
    yield db
    db.dispose()


@pytest.fixture
def app(settings: Settings, bot_db: Database, slack: FakeSlack) -> App:
    """The real app; listeners run before the response so tests need not wait."""
    return create_app(settings, bot_db, process_before_response=True)
