"""`newsbot` run in this process, against a copy of the examples."""

from __future__ import annotations

from pathlib import Path

import pytest

SLACK_VARIABLES = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str, articles_dir: Path) -> Path:
    """The environment of one `newsbot` run, with no Slack credentials; the articles folder."""
    for name in SLACK_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NEWSBOT_DATABASE_URL", database_url)
    monkeypatch.setenv("NEWSBOT_ARTICLES_DIR", str(articles_dir))
    monkeypatch.chdir(articles_dir.parent)  # no .env there
    return articles_dir
