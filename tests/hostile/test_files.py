"""Files that are not articles: whatever sits in the folder, it fails alone and the run goes on.

Real files on disk (undecodable names through bytes paths, named pipes, sockets,
devices), real SQLite and PostgreSQL, and the real `newsbot index` process where
a hang or a crash would show.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.db import Database
from storage.models import Article
from storage.parse import MAX_NAME_LENGTH, MAX_URL_LENGTH, ParseError, read_file
from storage.scan import quick_compare
from storage.search import find_by_url, parse_query, search
from storage.sync import sync
from tests.builders import REPO, run_newsbot

CAMERAS = "https://www.harborcityherald.com/story/ai-traffic-cameras-pilot-results-4821907"


def article(url: str, extra: str = "") -> str:
    return f"---\ntitle: A good article\nwebUrl: {url}\n{extra}---\nBody.\n"


def urls(db: Database) -> set[str]:
    with db.Session() as session:
        return set(session.scalars(select(Article.web_url).where(Article.missing.is_(False))))


def index_cli(database_url: str, folder: Path) -> subprocess.CompletedProcess[str]:
    """The real `newsbot index`, which a hang would stop the test at, not the suite."""
    env = os.environ | {"NEWSBOT_DATABASE_URL": database_url}
    return run_newsbot("index", str(folder), env=env, cwd=REPO, timeout=120)


def test_undecodable_names_are_named_and_every_good_file_is_indexed(db, database_url, tmp_path):
    folder = tmp_path / "articles"
    (folder / "2026" / "11").mkdir(parents=True)
    (folder / "2026" / "11" / "good.md").write_text(article("https://x.example/good"))
    (folder / "top.md").write_text(article("https://x.example/top"))
    base = os.fsencode(folder)
    with open(base + b"/2026/11/caf\xe9.md", "wb") as fh:  # café.md in Latin-1
        fh.write(article("https://x.example/latin-1").encode())
    with open(base + b"/\xff\xfe.md", "wb") as fh:
        fh.write(article("https://x.example/not-utf8-at-all").encode())
    os.mkdir(base + b"/r\xe9sum\xe9s")
    with open(base + b"/r\xe9sum\xe9s/inside.md", "wb") as fh:
        fh.write(article("https://x.example/inside-a-latin-1-folder").encode())
    # A name that is UTF-8 but not NFC, and one with a newline: both are fine names.
    (folder / "cafe\u0301.md").write_text(article("https://x.example/decomposed"))
    (folder / "two\nlines.md").write_text("---\ntitle: x\n---\n")

    expected = sorted(
        [
            "2026/11/caf\\xe9.md: file name is not valid UTF-8",
            "r\\xe9sum\\xe9s/: folder name is not valid UTF-8, so nothing in it is indexed",
            "two\\nlines.md: field webUrl: missing (every article needs its URL)",
            "\\xff\\xfe.md: file name is not valid UTF-8",
        ]
    )
    for _ in range(2):  # and the same again when nothing changed
        report = sync(db.WriteSession, folder)
        assert sorted(str(f) for f in report.failures) == expected
        assert urls(db) == {
            "https://x.example/good",
            "https://x.example/top",
            "https://x.example/decomposed",
        }

    done = index_cli(database_url, folder)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert sorted(lines[:-1]) == [f"failed: {line}" for line in expected]
    assert lines[-1] == "0 added, 0 updated, 3 unchanged, 0 missing, 4 failed"
    assert done.stderr == ""


def test_a_new_folder_with_such_a_name_loses_nothing_already_indexed(db, articles_dir):
    sync(db.WriteSession, articles_dir)
    os.mkdir(os.fsencode(articles_dir) + b"/\xe9t\xe9")
    with open(os.fsencode(articles_dir) + b"/\xe9t\xe9/new.md", "wb") as fh:
        fh.write(article("https://x.example/summer").encode())
    cameras = next(articles_dir.rglob("harbor-city-tests-ai-traffic-cameras.md"))
    cameras.write_text(cameras.read_text().replace("heat: 82", "heat: 83"))

    report = sync(db.WriteSession, articles_dir)
    assert (report.updated, report.unchanged, report.missing) == (1, 4, 0)
    assert [str(f) for f in report.failures] == [
        "\\xe9t\\xe9/: folder name is not valid UTF-8, so nothing in it is indexed"
    ]
    with db.Session() as session:
        assert find_by_url(session, CAMERAS).heat == 83


def test_anything_that_is_not_a_regular_file_is_named_and_never_opened(
    database_url, articles_dir, tmp_path, monkeypatch
):
    os.mkfifo(articles_dir / "pipe.md")  # reading it would wait for a writer forever
    (articles_dir / "to-the-pipe.md").symlink_to("pipe.md")
    monkeypatch.chdir(articles_dir)  # a socket's path must be short
    listener = socket.socket(socket.AF_UNIX)
    listener.bind("socket.md")
    (articles_dir / "null.md").symlink_to("/dev/null")  # leads out of the folder: skipped
    os.mkfifo(articles_dir / "pipe.txt")  # not an article name: ignored
    (articles_dir / "folder.md").mkdir()  # a folder is walked, not read
    (articles_dir / "folder.md" / "inside.md").write_text(article("https://x.example/inside"))
    expected = [
        "failed: pipe.md: not a regular file (it is a named pipe)",
        "failed: socket.md: not a regular file (it is a socket)",
        "failed: to-the-pipe.md: not a regular file (it links to a named pipe)",
    ]
    if os.geteuid() == 0:  # a device node inside the folder: only root can make one
        os.mknod(articles_dir / "device.md", stat.S_IFCHR | 0o600, os.makedev(1, 3))
        expected.insert(0, "failed: device.md: not a regular file (it is a device)")

    try:
        first = index_cli(database_url, articles_dir)
        again = index_cli(database_url, articles_dir)
    finally:
        listener.close()
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        *expected,
        f"6 added, 0 updated, 0 unchanged, 0 missing, {len(expected)} failed",
    ]
    assert again.stdout.splitlines() == [
        *expected,
        f"0 added, 0 updated, 6 unchanged, 0 missing, {len(expected)} failed",
    ]


def test_symlinks_in_a_loop_are_skipped_and_every_good_file_is_indexed(db, database_url, tmp_path):
    folder = tmp_path / "articles"
    (folder / "2026").mkdir(parents=True)
    (folder / "2026" / "good.md").write_text(article("https://x.example/good"))
    (folder / "top.md").write_text(article("https://x.example/top"))
    (folder / "2026" / "self").symlink_to("self")  # a folder-looking link to itself
    (folder / "loop.md").symlink_to("loop.md")  # an article-looking one
    (folder / "ping.md").symlink_to("pong.md")  # two links pointing at each other
    (folder / "pong.md").symlink_to("ping.md")
    (folder / "2026" / "up").symlink_to("..")  # back into a folder already walked

    result = index_cli(database_url, folder)

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.splitlines() == ["2 added, 0 updated, 0 unchanged, 0 missing, 0 failed"]
    assert urls(db) == {"https://x.example/good", "https://x.example/top"}


def test_an_article_whose_file_became_a_pipe_keeps_its_last_good_version(db, articles_dir):
    sync(db.WriteSession, articles_dir)
    cameras = next(articles_dir.rglob("harbor-city-tests-ai-traffic-cameras.md"))
    cameras.unlink()
    os.mkfifo(cameras)
    report = sync(db.WriteSession, articles_dir)
    assert [str(f) for f in report.failures] == [
        "2026/11/harbor-city-tests-ai-traffic-cameras.md: not a regular file (it is a named pipe)"
    ]
    assert (report.unchanged, report.missing) == (4, 0)
    assert CAMERAS in urls(db)  # not marked missing: still searchable


def test_a_file_swapped_for_a_pipe_after_the_scan_is_refused_when_read(db, database_url, tmp_path):
    """Defence in depth: the walk saw a file, the read finds a pipe, and does not wait."""
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.md").write_text(article("https://x.example/a"))
    (folder / "b.md").write_text(article("https://x.example/b"))
    found = quick_compare(database_url, folder)  # what `newsbot index` walks first
    assert found is not None and found.to_read == ["a.md", "b.md"]
    (folder / "b.md").unlink()
    os.mkfifo(folder / "b.md")

    outcome: list[object] = []
    run = threading.Thread(
        target=lambda: outcome.append(sync(db.WriteSession, folder, found=found)), daemon=True
    )
    run.start()
    run.join(timeout=120)
    assert not run.is_alive(), "the run is stuck reading a named pipe"
    (report,) = outcome
    assert [str(f) for f in report.failures] == ["b.md: not a regular file (it is a named pipe)"]
    assert urls(db) == {"https://x.example/a"}


@pytest.mark.parametrize("kind", ["fifo", "directory", "socket"])
def test_read_file_refuses_what_is_not_a_regular_file(tmp_path, monkeypatch, kind):
    monkeypatch.chdir(tmp_path)
    listener = socket.socket(socket.AF_UNIX)
    if kind == "fifo":
        os.mkfifo("x.md")
    elif kind == "directory":
        os.mkdir("x.md")
    else:
        listener.bind("x.md")
    errors: list[ParseError] = []

    def read() -> None:
        try:
            read_file(tmp_path / "x.md")
        except ParseError as exc:
            errors.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=60)
    listener.close()
    assert not reader.is_alive(), "read_file waits on a named pipe"
    (error,) = errors
    assert (
        str(error)
        == {
            "fifo": "not a regular file (it is a named pipe)",
            "directory": "is a directory, not a file",
            "socket": "file cannot be opened (No such device or address)",
        }[kind]
    )


# --- YAML aliases ---------------------------------------------------------------------


def test_aliases_that_expand_past_two_mib_are_refused_and_the_last_good_version_stays(
    db, articles_dir
):
    sync(db.WriteSession, articles_dir)
    cameras = next(articles_dir.rglob("harbor-city-tests-ai-traffic-cameras.md"))
    head, _, rest = cameras.read_text().partition("\n")
    blob = "x" * 100_000
    # 100 KB on disk, 94 MB once every alias is expanded: the example of the issue.
    cameras.write_text(f'{head}\nblob: &b "{blob}"\nmany: [{", ".join(["*b"] * 940)}]\n{rest}')
    # The same through keys, lists and mappings nested in aliases, a file of 20 KB.
    nested = (
        "---\ntitle: Nested\nwebUrl: https://x.example/nested\n"
        f"a: &a {{k: [{', '.join([repr('y' * 1000)] * 10)}]}}\n"
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
        "d: [*c, *c, *c]\n---\n"
    )
    (articles_dir / "nested.md").write_text(nested)
    # Under the bound: a 600 KB value used twice, and a 900 KB file without aliases.
    (articles_dir / "twice.md").write_text(
        f'---\ntitle: Twice\nwebUrl: https://x.example/twice\na: &a "{"z" * 600_000}"\nb: *a\n---\n'
    )
    (articles_dir / "big.md").write_text(
        f'---\ntitle: Big\nwebUrl: https://x.example/big\nexcerpt: "{"w" * 900_000}"\n---\n'
    )

    report = sync(db.WriteSession, articles_dir)
    assert sorted(str(f) for f in report.failures) == [
        "2026/11/harbor-city-tests-ai-traffic-cameras.md: invalid YAML: aliases expand the"
        " frontmatter past 2 MiB (line 3 of the file)",
        "nested.md: invalid YAML: aliases expand the frontmatter past 2 MiB (line 7 of the file)",
    ]
    assert report.added == 2
    with db.Session() as session:
        kept = find_by_url(session, CAMERAS)
        assert kept is not None and kept.heat == 82  # the last good version
        assert find_by_url(session, "https://x.example/twice") is not None
        assert session.scalar(select(func.count()).select_from(Article)) == 7


# --- values a database cannot store ----------------------------------------------------


@pytest.mark.parametrize(
    ("field", "reason"),
    [
        ('excerpt: "nul \\0 inside"\n', "field excerpt: holds a NUL character (\\0)"),
        ('topics: ["a\\x00b"]\n', "field topics: a topic holds a NUL character (\\0)"),
        (
            "heat: 3000000000\n",
            "field heat: expected an integer from -2147483648 to 2147483647, got 3000000000",
        ),
        (
            f"quality: {'9' * 30}\n",
            "field quality: expected an integer from -2147483648 to 2147483647,"
            " got a number of 30 digits",
        ),
        (f"extra: {'9' * 5000}\n", "invalid YAML: a number has more than 4,300 digits"),
        (
            f"ampWebUrl: https://x.example/{'a' * MAX_URL_LENGTH}\n",
            "field ampWebUrl: longer than 2,048 characters",
        ),
        (
            f"topics: [{'t' * (MAX_NAME_LENGTH + 1)}]\n",
            "field topics: a topic is longer than 255 characters",
        ),
        # casefold makes "ß" two letters: the key would not fit where the name does
        (f"topics: [{'ß' * 200}]\n", "field topics: a topic is longer than 255 characters"),
        (
            f"provider: {{name: P, domain: {'d' * 256}.example}}\n",
            "field provider.domain: longer than 255 characters",
        ),
        (
            "publishedDateTime: 0001-01-01T00:30:00+01:00\n",
            "field publishedDateTime: out of range (in UTC it falls outside years 1 to 9999)",
        ),
        ("rating: .nan\n", "field rating: holds .nan or .inf, which cannot be stored"),
        ("images: [{url: 'https://x.example/i', width: .inf}]\n", "field images: holds .nan"),
        ("ts: !!timestamp 2026-02-30\n", "invalid YAML: a value cannot be read"),
    ],
)
def test_a_value_the_database_cannot_store_fails_only_its_own_file(db, articles_dir, field, reason):
    (articles_dir / "odd.md").write_text(article("https://x.example/odd", extra=field))
    report = sync(db.WriteSession, articles_dir)
    assert [f.path for f in report.failures] == ["odd.md"]
    assert str(report.failures[0]).startswith(f"odd.md: {reason}")
    assert report.added == 5
    with db.Session() as session:
        assert len(search(session, parse_query("ai"), limit=5).articles) == 1


def test_a_date_in_the_first_centuries_is_stored_and_read_back(db, articles_dir):
    (articles_dir / "old.md").write_text(
        article("https://x.example/old", extra="publishedDateTime: 0005-03-01T00:00:00Z\n")
    )
    assert sync(db.WriteSession, articles_dir).added == 6
    with db.Session() as session:
        found = search(session, parse_query(""), limit=10).articles
        assert any(a.published_at and a.published_at.year == 5 for a in found)
