"""Index runs that overlap each other or a review decision.

Two real `newsbot index` processes at once, the serve re-index beside a held
lock, and a run paused between reading a file and writing its row while a
decision is applied through `storage.decisions.decide`; on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.scheduler import reindex_job
from bot.settings import Settings
from storage.db import Database, IndexBusy, index_lock
from storage.decisions import decide
from storage.errors import DatabaseError
from storage.hashing import content_hash
from storage.models import Article
from storage.sync import sync
from tests.builders import REPO

CAMERAS = "https://www.harborcityherald.com/story/ai-traffic-cameras-pilot-results-4821907"
VOTERS = "https://www.lakeviewledger.com/politics/5530871/voter-roll-privacy-audit"
WAITING = "newsbot: waiting for another index run to finish"
SECURED = re.compile(r'^secured: "?([^"\n]+)"?$', re.MULTILINE)


@pytest.fixture
def corpus(tmp_path: Path, make_articles, articles_dir: Path) -> Path:
    """The examples and 1,500 generated articles, every one with a `secured` blob."""
    make_articles([str(articles_dir / "generated"), "--count", "1500"])
    return articles_dir


def secured_values(folder: Path) -> list[str]:
    values = [m[1] for p in folder.rglob("*.md") for m in SECURED.finditer(p.read_text())]
    assert len(values) > 1000
    return values


def start_index(database_url: str, folder: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "index", str(folder)],
        cwd=REPO,
        env=os.environ | {"NEWSBOT_DATABASE_URL": database_url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=300)
    return process.returncode, out, err


def articles(db: Database) -> tuple[int, int]:
    with db.Session() as session:
        rows = session.scalar(select(func.count()).select_from(Article))
        urls = session.scalar(select(func.count(func.distinct(Article.web_url))))
    return rows, urls


def added(out: str) -> int:
    return int(re.search(r"^(\d+) added, ", out, re.MULTILINE)[1])


def test_two_index_processes_at_once_index_every_article_once(db, database_url, corpus):
    files = len(list(corpus.rglob("*.md")))
    first, second = start_index(database_url, corpus), start_index(database_url, corpus)
    results = [finish(first), finish(second)]

    assert [code for code, _out, _err in results] == [0, 0], results
    assert sorted(added(out) for _code, out, _err in results) == [0, files]
    assert articles(db) == (files, files)
    output = "".join(out + err for _code, out, err in results)
    assert "IntegrityError" not in output and "Traceback" not in output
    assert not [value for value in secured_values(corpus) if value in output]


def test_a_run_that_finds_the_lock_taken_says_so_once_and_waits(db, database_url, corpus):
    files = len(list(corpus.rglob("*.md")))
    with index_lock(db.engine):
        first, second = start_index(database_url, corpus), start_index(database_url, corpus)
        # Each says once that it waits, and does nothing while the lock is held.
        assert first.stderr.readline().rstrip("\n") == WAITING
        assert second.stderr.readline().rstrip("\n") == WAITING
        assert articles(db) == (0, 0)
    results = [finish(first), finish(second)]

    assert [code for code, _out, _err in results] == [0, 0], results
    assert [err for _code, _out, err in results] == ["", ""]  # nothing more than the line
    assert sorted(added(out) for _code, out, _err in results) == [0, files]
    assert articles(db) == (files, files)


def test_the_serve_reindex_skips_with_one_line_while_another_run_holds_the_lock(
    db, database_url, articles_dir, caplog
):
    settings = Settings.from_env(
        {"NEWSBOT_DATABASE_URL": database_url, "NEWSBOT_ARTICLES_DIR": str(articles_dir)}
    )
    caplog.set_level(logging.INFO, logger="bot.scheduler")
    with index_lock(db.engine):
        reindex_job(settings, db)
        with pytest.raises(IndexBusy):
            sync(db.WriteSession, articles_dir, wait=False)
    assert [r.getMessage() for r in caplog.records] == [
        "re-index skipped: another index run is in progress"
    ]
    assert articles(db) == (0, 0)

    caplog.clear()
    reindex_job(settings, db)  # the lock is free again: the next interval indexes
    assert articles(db) == (5, 5)
    assert "re-indexed" in caplog.records[-1].getMessage()


def test_a_database_error_is_one_sentence_without_row_values(db, articles_dir, caplog):
    """A write refused mid-run (here a row another writer slipped in) names no value."""
    secrets = secured_values_of_examples(articles_dir)
    from storage.parse import parse_article
    from storage.sync import insert_records

    cameras = next(articles_dir.rglob("harbor-city-tests-ai-traffic-cameras.md"))
    intruder = parse_article(cameras, "elsewhere.md")

    def slip_in(done: int, total: int) -> None:
        if done == total:  # every file read, nothing written yet
            insert_records(db.WriteSession, [intruder])

    with pytest.raises(DatabaseError) as stopped:
        sync(db.WriteSession, articles_dir, progress=slip_in)
    sentence = str(stopped.value)
    assert sentence.startswith("the index run stopped: the database refused a write (")
    assert "\n" not in sentence and CAMERAS not in sentence
    assert not [value for value in secrets if value in sentence]

    # The engine itself keeps parameters out of every error it raises.
    with pytest.raises(IntegrityError) as raw, db.WriteSession.begin() as session:
        session.add(
            Article(
                web_url=intruder.web_url,
                title="a second row for the same URL",
                secured=secrets[0],
                source_path="again.md",
                size=1,
                mtime_ns=1,
                content_hash="0",
            )
        )
    assert secrets[0] not in str(raw.value)
    assert not [value for value in secrets if value in caplog.text]


def secured_values_of_examples(folder: Path) -> list[str]:
    return [m[1] for p in folder.rglob("*.md") for m in SECURED.finditer(p.read_text())]


# --- a review decision while a run reads the file --------------------------------------


def row(db: Database, url: str) -> Article:
    with db.Session() as session:
        return session.scalars(select(Article).where(Article.web_url == url)).one()


def apply(db: Database, root: Path, url: str, action: str) -> None:
    outcome = decide(
        db.WriteSession,
        article_id=row(db, url).id,
        action=action,
        fingerprint=None,
        reviewer_id="U0REVIEW",
        reviewer_name="rita",
        root=root,
    )
    assert outcome.status == "done", outcome


def read_in_this_order(*paths: Path) -> None:
    """New mtimes, so the next run reads these files, in this order (oldest first)."""
    base = max(path.stat().st_mtime_ns for path in paths)
    for n, path in enumerate(paths, start=1):
        os.utime(path, ns=(base + n * 10**9, base + n * 10**9))


def test_a_decision_made_while_a_run_reads_the_file_is_not_undone(db, articles_dir):
    sync(db.WriteSession, articles_dir)
    cameras = next(articles_dir.rglob("harbor-city-tests-ai-traffic-cameras.md"))
    voters = next(articles_dir.rglob("voter-roll-privacy-audit.md"))
    read_in_this_order(voters, cameras)

    def decisions(done: int, total: int) -> None:
        if done == 1:  # after the first file, before the run reads cameras
            apply(db, articles_dir, CAMERAS, "unpublish")
        if done == 2:  # the run holds cameras as a draft; a reviewer publishes it again
            apply(db, articles_dir, CAMERAS, "publish")

    report = sync(db.WriteSession, articles_dir, progress=decisions)
    assert (report.updated, report.deferred) == (0, 1)
    assert report.summary().endswith(
        "; 1 changed by a review decision during the run, left for the next run"
    )
    assert "published: true" in cameras.read_text()
    stored = row(db, CAMERAS)
    assert stored.published
    assert stored.content_hash == content_hash(cameras.read_bytes())

    again = sync(db.WriteSession, articles_dir)
    assert (again.updated, again.deferred, again.failed) == (0, 0, 0)
    assert row(db, CAMERAS).published
    assert row(db, CAMERAS).content_hash == content_hash(cameras.read_bytes())


def test_a_row_left_alone_for_a_decision_is_read_again_by_the_next_run(db, articles_dir):
    sync(db.WriteSession, articles_dir)
    voters = next(articles_dir.rglob("voter-roll-privacy-audit.md"))
    voters.write_text(voters.read_text().replace("heat: ", "heat: 1", 1))
    heat = row(db, VOTERS).heat

    def reject(done: int, total: int) -> None:  # the file is read, its row not yet written
        apply(db, articles_dir, VOTERS, "reject")

    report = sync(db.WriteSession, articles_dir, progress=reject)
    assert report.deferred == 1
    assert (row(db, VOTERS).heat, row(db, VOTERS).rejected) == (heat, True)

    again = sync(db.WriteSession, articles_dir)
    assert (again.updated, again.deferred) == (1, 0)
    assert (row(db, VOTERS).heat, row(db, VOTERS).rejected) == (int(f"1{heat}"), True)
