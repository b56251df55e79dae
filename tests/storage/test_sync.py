import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

import storage.sync
from storage.db import open_database
from storage.models import Article, ArticleTopic, IndexFailure, Topic
from storage.scan import FolderError
from storage.search import find_by_url, parse_query, search
from storage.sync import sync

# Everything an article holds except ids and times of this run.
ARTICLE_FIELDS = [
    column
    for name, column in Article.__table__.columns.items()
    if name not in ("id", "first_indexed_at", "updated_at")
]
CAMERAS = "https://www.harborcityherald.com/story/ai-traffic-cameras-pilot-results-4821907"


def article(db, url=CAMERAS):
    with db.Session() as session:
        return session.scalars(select(Article).where(Article.web_url == url)).one()


def count(db, *where):
    with db.Session() as session:
        return session.scalar(select(func.count()).select_from(Article).where(*where))


def cameras_file(folder: Path) -> Path:
    return next(folder.rglob("harbor-city-tests-ai-traffic-cameras.md"))


def test_first_run_adds_every_article_and_second_changes_nothing(db, articles_dir):
    first = sync(db.WriteSession, articles_dir)
    assert (first.added, first.updated, first.unchanged, first.failed) == (5, 0, 0, 0)
    again = sync(db.WriteSession, articles_dir)
    assert (again.added, again.updated, again.unchanged, again.missing) == (0, 0, 5, 0)
    assert count(db) == 5


def test_touched_but_identical_file_is_not_parsed_again(db, articles_dir):
    sync(db.WriteSession, articles_dir)
    path = cameras_file(articles_dir)
    os.utime(path, ns=(1, 1))
    report = sync(db.WriteSession, articles_dir)
    assert (report.updated, report.unchanged) == (0, 5)
    assert article(db).mtime_ns == 1  # the new mtime is remembered


def test_edited_file_updates_its_article(db, articles_dir):
    sync(db.WriteSession, articles_dir)
    path = cameras_file(articles_dir)
    path.write_text(path.read_text().replace("heat: 82", "heat: 91"))
    report = sync(db.WriteSession, articles_dir)
    assert (report.updated, report.unchanged) == (1, 4)
    assert article(db).heat == 91


def test_vanished_file_is_marked_missing_and_comes_back(db, articles_dir):
    sync(db.WriteSession, articles_dir)
    path = cameras_file(articles_dir)
    saved = path.read_bytes()
    path.unlink()
    report = sync(db.WriteSession, articles_dir)
    assert report.missing == 1
    assert article(db).missing
    assert count(db) == 5  # kept with its history, not deleted
    with db.Session() as session:
        assert "Harbor" not in str(search(session, parse_query("computer vision")).articles)
    path.write_bytes(saved)
    sync(db.WriteSession, articles_dir)
    assert not article(db).missing


def test_moved_file_keeps_its_article(db, articles_dir):
    sync(db.WriteSession, articles_dir)
    before = article(db)
    target = articles_dir / "elsewhere" / "renamed.md"
    target.parent.mkdir()
    cameras_file(articles_dir).rename(target)
    report = sync(db.WriteSession, articles_dir)
    assert (report.added, report.updated, report.missing) == (0, 1, 0)
    after = article(db)
    assert after.id == before.id
    assert after.source_path == "elsewhere/renamed.md"


def test_a_file_gone_bad_keeps_the_last_good_version(db, articles_dir):
    sync(db.WriteSession, articles_dir)
    path = cameras_file(articles_dir)
    path.write_text(path.read_text().replace("heat: 82", 'heat: "hot"'))
    report = sync(db.WriteSession, articles_dir)
    assert [str(f) for f in report.failures] == [
        "2026/11/harbor-city-tests-ai-traffic-cameras.md: field heat: expected integer, got 'hot'"
    ]
    assert not article(db).missing
    assert article(db).heat == 82
    with db.Session() as session:
        assert find_by_url(session, CAMERAS).heat == 82
    # Unchanged and still bad: reported again, not re-parsed, still not missing.
    again = sync(db.WriteSession, articles_dir)
    assert again.failed == 1 and again.missing == 0
    path.write_text(path.read_text().replace('heat: "hot"', "heat: 90"))
    fixed = sync(db.WriteSession, articles_dir)
    assert fixed.failed == 0 and article(db).heat == 90
    with db.Session() as session:
        assert session.scalar(select(func.count()).select_from(IndexFailure)) == 0


def test_second_file_with_the_same_url_is_a_duplicate(db, articles_dir):
    original = cameras_file(articles_dir)
    copy = articles_dir / "zz-copy.md"
    shutil.copy(original, copy)
    os.utime(copy, ns=(original.stat().st_mtime_ns + 10**9,) * 2)
    report = sync(db.WriteSession, articles_dir)
    assert report.added == 5
    assert [f.path for f in report.failures] == ["zz-copy.md"]
    assert "duplicate webUrl" in report.failures[0].reason
    assert original.name in report.failures[0].reason
    assert article(db).source_path.endswith(original.name)


def test_hidden_folders_and_escaping_symlinks_are_skipped(db, articles_dir, tmp_path):
    hidden = articles_dir / ".drafts"
    hidden.mkdir()
    shutil.copy(cameras_file(articles_dir), hidden / "copy.md")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.md").write_text("not an article")
    (articles_dir / "link").symlink_to(outside, target_is_directory=True)
    (articles_dir / "loop").symlink_to(articles_dir, target_is_directory=True)
    (articles_dir / "notes.txt").write_text("ignored")
    report = sync(db.WriteSession, articles_dir)
    assert (report.added, report.failed) == (5, 0)


def test_every_bad_kind_is_reported_and_the_rest_indexed(db, tmp_path, make_articles):
    folder = tmp_path / "corpus"
    make_articles([str(folder), "--count", "60", "--bad", "10"])
    listed = [
        line.split("\t")[0]
        for line in (folder / "BAD_FILES.txt").read_text().splitlines()
        if not line.startswith("#")
    ]
    report = sync(db.WriteSession, folder)
    assert report.added == 60
    assert sorted(f.path for f in report.failures) == sorted(listed)
    assert all(f.reason for f in report.failures)


def test_yaml_that_cannot_be_stored_fails_only_its_own_file(db, articles_dir):
    head = "---\ntitle: {}\nwebUrl: https://x.example/{}\n"
    aliases = "".join(f"l{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 8))
    (articles_dir / "loop.md").write_text(head.format("Loop", 1) + "again: &a [*a]\n---\n")
    (articles_dir / "bomb.md").write_text(
        head.format("Bomb", 2) + f"l0: &a0 [x, x, x, x, x, x, x, x, x, x]\n{aliases}---\n"
    )
    report = sync(db.WriteSession, articles_dir)
    assert report.added == 5
    assert {f.path: f.reason.split(" (")[0] for f in report.failures} == {
        "bomb.md": "invalid YAML: aliases expand the frontmatter past 100,000 values",
        "loop.md": "invalid YAML: found an alias inside the value it names, which cannot be stored",
    }


def test_missing_folder_is_one_sentence(db, tmp_path):
    with pytest.raises(FolderError, match="does not exist"):
        sync(db.WriteSession, tmp_path / "nope")


def test_worker_processes_index_exactly_what_one_process_does(
    tmp_path, make_articles, monkeypatch, database_url
):
    folder = tmp_path / "many"
    make_articles([str(folder), "--count", "300", "--bad", "10"])

    def index(parallel_from: int, url: str) -> tuple[list[tuple], list[str]]:
        monkeypatch.setattr(storage.sync, "PARALLEL_THRESHOLD", parallel_from)
        database = open_database(url)
        try:
            report = sync(database.WriteSession, folder)
            with database.Session() as session:
                rows = session.execute(select(*ARTICLE_FIELDS).order_by(Article.web_url)).all()
                topics = session.execute(
                    select(Article.web_url, Topic.name)
                    .join(ArticleTopic, ArticleTopic.article_id == Article.id)
                    .join(Topic, Topic.id == ArticleTopic.topic_id)
                    .order_by(Article.web_url, Topic.name)
                ).all()
        finally:
            database.dispose()
        return [tuple(r) for r in rows + topics], [str(f) for f in report.failures]

    in_workers = index(1, database_url)
    in_one_process = index(10**9, f"sqlite:///{tmp_path / 'serial.db'}")
    assert len(in_workers[0]) > 300 and len(in_workers[1]) == 10
    assert in_workers == in_one_process


def test_insert_records_bulk_loads_searchable_articles_and_statistics(db, articles_dir):
    from dataclasses import replace

    from storage.parse import parse_article
    from storage.sync import insert_records

    templates = [parse_article(path) for path in sorted(articles_dir.rglob("*.md"))]
    records = [
        replace(t, web_url=f"{t.web_url}?copy={n}", source_path=f"copies/{n}/{t.source_path}")
        for n in range(3)
        for t in templates
    ]
    assert insert_records(db.WriteSession, records) == 15
    with db.Session() as session:
        assert len(search(session, parse_query("voter"), limit=10).articles) == 3
        assert search(session, parse_query("computer vision"), limit=10).mode == "topic"
        if db.engine.dialect.name == "postgresql":
            vacuumed = session.execute(
                text(
                    "SELECT last_vacuum FROM pg_stat_user_tables"
                    " WHERE relname = 'articles' AND schemaname = current_schema()"
                )
            ).scalar()
            assert vacuumed is not None  # index-only scans need the visibility map
        else:
            stats = session.execute(text("SELECT count(*) FROM sqlite_stat1")).scalar()
            assert stats > 0
