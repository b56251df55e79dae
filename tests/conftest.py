"""Fixtures shared by the whole suite: databases, article folders, the corpus generator, and
the real app with a Slack-like Web API on a local port (tests/builders.py builds the rest)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from slack_bolt import App
from sqlalchemy import create_engine, text

from bot.app import create_app
from bot.settings import Settings
from storage.db import Database, open_database
from tests import depth  # noqa: F401  (loads the Hypothesis profile)
from tests.builders import REPO, REVIEWER, indexed, make_settings
from tests.corpus import make_articles as generator
from tests.slack_api import FakeSlack

EXAMPLES = REPO / "examples" / "articles"
PG_URL = os.environ.get("NEWSBOT_TEST_DATABASE_URL")
PG_SKIP = (
    "PostgreSQL tests need NEWSBOT_TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1/test)"
)


def _pg_schema_url(schema: str) -> str:
    separator = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    if not PG_URL:
        pytest.skip(PG_SKIP)
    schema = f"newsbot_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield _pg_schema_url(schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database: SQLite always, PostgreSQL when configured."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'newsbot.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'newsbot.db'}"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = open_database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def articles_dir(tmp_path: Path) -> Path:
    """A copy of the five example articles, safe to edit."""
    target = tmp_path / "articles"
    shutil.copytree(EXAMPLES, target)
    return target


@pytest.fixture(scope="session")
def make_articles() -> Callable[[list[str]], int]:
    """The corpus generator's `main` (tests/corpus/make_articles.py, a copy of shared/'s)."""
    return generator.main


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    """The Web API stand-in. A test fails if the app sent blocks Slack would refuse."""
    with FakeSlack() as fake:
        fake.add_user(REVIEWER, "rita", "Rita Reviewer")
        yield fake
        assert fake.block_kit_violations == []


@pytest.fixture
def settings(slack: FakeSlack, sqlite_url: str, articles_dir: Path) -> Settings:
    return make_settings(slack, sqlite_url, articles_dir)


@pytest.fixture
def bot_db(settings: Settings) -> Iterator[Database]:
    """The examples, indexed."""
    with indexed(settings.database_url, settings.articles_dir) as db:
        yield db


@pytest.fixture
def app(settings: Settings, bot_db: Database, slack: FakeSlack) -> App:
    """The real app; listeners run before the response so tests need not wait."""
    return create_app(settings, bot_db, process_before_response=True)
