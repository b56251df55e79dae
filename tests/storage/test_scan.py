"""`quick_compare`: the answer of a run with nothing to write, without the ORM."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.db import open_database
from storage.scan import FolderError, quick_compare
from storage.sync import sync
from storage.types import SyncReport

REPO = Path(__file__).resolve().parents[2]
BROKEN = "---\ntitle: x\nwebUrl: https://x.example/1\nheat: hot\n---\n"


def unchanged_report(database_url: str, root: Path) -> SyncReport | None:
    """What `newsbot index` prints without opening the database through SQLAlchemy."""
    found = quick_compare(database_url, root)
    return None if found is None or found.needs_writing() else found.report()


@pytest.fixture
def indexed(database_url, articles_dir):
    """The examples plus one bad file, indexed once: the state a cron run finds."""
    (articles_dir / "broken.md").write_text(BROKEN)
    db = open_database(database_url)
    sync(db.WriteSession, articles_dir)
    yield db
    db.dispose()


def test_nothing_changed_gives_the_report_a_full_run_gives(indexed, database_url, articles_dir):
    quick = unchanged_report(database_url, articles_dir)
    full = sync(indexed.WriteSession, articles_dir)
    assert quick is not None
    assert quick == full
    assert quick.summary() == "0 added, 0 updated, 5 unchanged, 0 missing, 1 failed"
    assert [str(f) for f in quick.failures] == [
        "broken.md: field heat: expected integer, got 'hot'"
    ]


def touch(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda folder: touch(next(folder.rglob("*.md"))), id="touched"),
        pytest.param(lambda folder: (folder / "new.md").write_text(BROKEN), id="added"),
        pytest.param(lambda folder: next(folder.rglob("2026/**/*.md")).unlink(), id="deleted"),
        pytest.param(lambda folder: (folder / "broken.md").unlink(), id="failure-gone"),
        pytest.param(lambda folder: touch(folder / "broken.md"), id="failure-touched"),
        pytest.param(
            lambda folder: shutil.move(folder / "2026", folder / "moved"), id="folder-moved"
        ),
    ],
)
def test_anything_to_write_leaves_it_to_the_full_run(indexed, database_url, articles_dir, change):
    change(articles_dir)
    found = quick_compare(database_url, articles_dir)
    assert found is not None and found.needs_writing()
    # The full run takes the comparison as it is, and writes what changed ...
    sync(indexed.WriteSession, articles_dir, found=found)
    assert unchanged_report(database_url, articles_dir) is not None  # ... so nothing is left.


def test_a_database_at_another_revision_is_left_to_the_full_run(
    indexed, database_url, articles_dir
):
    with indexed.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0002'"))
    assert quick_compare(database_url, articles_dir) is None


def test_urls_it_cannot_vouch_for_are_left_to_the_full_run(articles_dir, tmp_path):
    assert quick_compare(f"sqlite:///{tmp_path / 'absent.db'}", articles_dir) is None
    assert not (tmp_path / "absent.db").exists()  # not created empty by the check
    assert quick_compare(f"sqlite:///{tmp_path / 'x.db'}?timeout=5", articles_dir) is None
    assert quick_compare("sqlite://", articles_dir) is None
    assert quick_compare("postgresql+asyncpg://nobody@127.0.0.1/x", articles_dir) is None
    # Refused or unreachable: the full run says so, in one sentence.
    assert quick_compare("postgresql://nobody@127.0.0.1:9/x", articles_dir) is None


def test_a_missing_folder_is_the_same_sentence(indexed, database_url, tmp_path):
    with pytest.raises(FolderError, match=f"the articles folder {tmp_path / 'nope'} does not"):
        quick_compare(database_url, tmp_path / "nope")


def test_the_cli_answers_a_run_with_nothing_to_write_without_the_indexer(
    indexed, database_url, articles_dir
):
    probe = (
        "import sys\n"
        "from bot.cli import main\n"
        "code = main(['index', sys.argv[1]])\n"
        "print('indexer loaded:', 'storage.sync' in sys.modules)\n"
        "sys.exit(code)\n"
    )
    env = os.environ | {"NEWSBOT_DATABASE_URL": database_url}

    def run() -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", probe, str(articles_dir)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.splitlines()

    assert run() == [
        "failed: broken.md: field heat: expected integer, got 'hot'",
        "0 added, 0 updated, 5 unchanged, 0 missing, 1 failed",
        "indexer loaded: False",
    ]
    (articles_dir / "broken.md").unlink()
    assert run() == [
        "0 added, 0 updated, 5 unchanged, 0 missing, 0 failed",
        "indexer loaded: True",
    ]


def test_on_sqlite_the_cli_does_not_even_import_sqlalchemy(sqlite_url, articles_dir):
    probe = (
        "import sys\n"
        "from bot.cli import main\n"
        "main(['index', sys.argv[1]])\n"
        "print('sqlalchemy loaded:', 'sqlalchemy' in sys.modules)\n"
    )
    db = open_database(sqlite_url)
    sync(db.WriteSession, articles_dir)
    db.dispose()
    done = subprocess.run(
        [sys.executable, "-c", probe, str(articles_dir)],
        cwd=REPO,
        env=os.environ | {"NEWSBOT_DATABASE_URL": sqlite_url},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.splitlines()[-1] == "sqlalchemy loaded: False"
