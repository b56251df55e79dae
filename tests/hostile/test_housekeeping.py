"""What serve tidies on its own: handled request ids, unconfirmed posts, write-back leftovers."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import make_client
from bot.scheduler import (
    FINISH_DECISIONS_JOB,
    FORGET_JOB,
    REINDEX_JOB,
    create_scheduler,
    start_up,
)
from bot.settings import Settings
from storage.db import Database
from storage.decisions import LEASE
from storage.models import Article, HandledRequest, IndexFailure, PendingPost, utcnow
from storage.sync import sync
from storage.writeback import TEMP_MARKER
from tests.builders import REPO, VOTER_FILE, make_settings, run_until_killed
from tests.slack_api import FakeSlack

WRITEBACK_CRASH = REPO / "tests" / "storage" / "writeback_crash_helper.py"


@pytest.fixture
def settings(slack: FakeSlack, database_url: str, articles_dir: Path) -> Settings:
    return make_settings(slack, database_url, articles_dir, NEWSBOT_REINDEX_MINUTES="0")


@pytest.fixture
def db(bot_db: Database) -> Database:
    """The examples, indexed (on SQLite, and on PostgreSQL when configured)."""
    return bot_db


def test_handled_request_ids_are_pruned_with_the_reindex_off(settings, db):
    scheduler = create_scheduler(settings, db, make_client(settings))
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert REINDEX_JOB not in jobs and {FORGET_JOB, FINISH_DECISIONS_JOB} <= set(jobs)
    now = utcnow()
    with db.WriteSession.begin() as session:
        session.add(HandledRequest(key="action:old", handled_at=now - timedelta(days=2)))
        session.add(HandledRequest(key="action:new", handled_at=now))
        for age in (timedelta(days=2), timedelta(0)):
            session.add(
                PendingPost(
                    channel="C1",
                    kind="share",
                    text="t",
                    blocks=[],
                    cards={},
                    created_at=now - age,
                )
            )

    forget = jobs[FORGET_JOB]
    forget.func(*forget.args, **forget.kwargs)

    with db.Session() as session:
        assert session.scalars(select(HandledRequest.key)).all() == ["action:new"]
        (kept,) = session.scalars(select(PendingPost)).all()
        assert kept.created_at > now - timedelta(days=1)


def leave_a_leftover(path: Path) -> Path:
    """Kill a write-back of `path` after its temporary file is written; that file."""
    run_until_killed(WRITEBACK_CRASH, str(path), "true", "temp-synced")
    (leftover,) = [p for p in path.parent.iterdir() if TEMP_MARKER in p.name]
    return leftover


def test_write_back_leftovers_are_never_indexed_and_swept_at_start(settings, db):
    root = settings.articles_dir
    leftover = leave_a_leftover(root / VOTER_FILE)
    assert b"published: true" in leftover.read_bytes()  # a whole article, hidden by its name
    # A leftover whose name even ends in .md is hidden all the same.
    lookalike = root / f".x.md{TEMP_MARKER}abcdefgh.md"
    lookalike.write_bytes(leftover.read_bytes().replace(b"5530871", b"9999999"))

    report = sync(db.WriteSession, root)

    assert (report.added, report.failed) == (0, 0)
    with db.Session() as session:
        paths = session.scalars(select(Article.source_path)).all()
        assert not any(TEMP_MARKER in p for p in paths)
        assert session.scalars(select(IndexFailure)).all() == []
        voter = session.scalars(select(Article).where(Article.source_path == VOTER_FILE)).one()
        assert voter.published is False

    young = root / "2026" / f".fresh.md{TEMP_MARKER}young123"
    young.write_bytes(b"a replica's write in progress")
    old = time.time() - LEASE.total_seconds() - 60
    for path in (leftover, lookalike):
        os.utime(path, (old, old))

    start_up(settings, db)

    assert not leftover.exists() and not lookalike.exists()
    assert young.exists()  # too young to be sure nobody is writing it
    assert sorted(p.name for p in (root / "2026" / "11").iterdir() if p.name.startswith(".")) == []
