"""The digest day that tests of the digest flow, its scheduler and its command share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.settings import Settings
from storage.db import Database
from tests.builders import digest_settings, indexed, write_story
from tests.slack_api import FakeSlack


@pytest.fixture
def digest_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "digest-articles"
    folder.mkdir()
    return folder


@pytest.fixture
def digest(
    slack: FakeSlack, digest_dir: Path, database_url: str
) -> Iterator[tuple[Settings, Database]]:
    """Four stories before the digest is due (heat 95, 80, 70, 20), indexed; and settings that
    post the digest (on SQLite, and on PostgreSQL when configured)."""
    for n, heat in enumerate([95, 80, 70, 20]):
        write_story(digest_dir, f"s{n}", heat=heat)
    with indexed(database_url, digest_dir) as db:
        yield digest_settings(slack, database_url, digest_dir), db
