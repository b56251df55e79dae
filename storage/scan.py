"""What changed in the articles folder since the last run, with the standard library only.

`compare` lists the folder, stats every article file and sets each against the
size and mtime the database holds; `storage.sync` reads and writes what it finds.

`quick_compare` makes the same comparison through the database driver alone,
so that `newsbot index` run again and again (from cron, say) answers a run
with nothing to write without importing SQLAlchemy, a third of such a run.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storage.schema import HEAD

# Both read through the DBAPI cursor, as the driver's own tuples: at 100,000
# articles, wrapping each row would cost more than all the rest of a run where
# nothing changed. The first reads only the covering index ix_articles_file_state.
_FILE_STATES = "SELECT source_path, size, mtime_ns FROM articles WHERE NOT missing"
_FAILURES = "SELECT path, size, mtime_ns, reason, duplicate_of FROM index_failures"


class FolderError(Exception):
    """The articles folder itself cannot be read."""


@dataclass(frozen=True, slots=True)
class Failure:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(slots=True)
class SyncReport:
    """What one indexing run did, with every failure and its reason."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    missing: int = 0
    failures: list[Failure] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.failures)

    def summary(self) -> str:
        return (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.missing} missing, {self.failed} failed"
        )


@dataclass(frozen=True, slots=True)
class StoredFailure:
    """A file that failed before, as `index_failures` remembers it."""

    size: int
    mtime_ns: int
    reason: str
    duplicate_of: str | None


@dataclass(slots=True)
class Comparison:
    """The folder set against the database."""

    files: dict[str, tuple[int, int]]  # every article file: path -> (size, mtime_ns)
    unchanged: int  # files whose article has the same size and mtime on record
    # Paths on record whose file is gone or different now.
    moved_or_changed: list[str]
    # Files to read, oldest first: of two files with one webUrl, the first keeps it.
    to_read: list[str]
    # Files that failed before and are untouched since: reported, not read again.
    failed_again: list[Failure]
    failures: dict[str, StoredFailure]  # every failure on record, by path

    @property
    def stale_failures(self) -> list[str]:
        """Failures on record for files that are gone."""
        return [path for path in self.failures if path not in self.files]

    def needs_writing(self) -> bool:
        failed_again = {failure.path for failure in self.failed_again}
        return bool(
            self.to_read
            or self.stale_failures
            or any(path not in failed_again for path in self.moved_or_changed)
        )

    def report(self) -> SyncReport:
        """The report of a run that finds nothing to write."""
        return SyncReport(unchanged=self.unchanged, failures=sorted(self.failed_again, key=_path))


def _path(failure: Failure) -> str:
    return failure.path


def compare(cursor: Any, root: Path) -> Comparison:
    """Walk `root` and set it against the database `cursor` (DBAPI) reads from."""
    files = article_files(root)
    cursor.execute(_FILE_STATES)
    stored = cursor.fetchall()
    moved_or_changed = [row[0] for row in stored if files.get(row[0]) != row[1:]]
    cursor.execute(_FAILURES)
    failures = {path: StoredFailure(*rest) for path, *rest in cursor.fetchall()}

    unchanged = len(stored) - len(moved_or_changed)
    if unchanged == len(files):
        new_or_changed: list[str] = []  # the usual case, found without a set of every path
    else:
        stale = set(moved_or_changed)
        same = {row[0] for row in stored if row[0] not in stale}
        new_or_changed = [path for path in files if path not in same]

    to_read: list[tuple[int, str]] = []
    failed_again: list[Failure] = []
    for path in new_or_changed:
        size, mtime_ns = files[path]
        old = failures.get(path)
        if old and not old.duplicate_of and (old.size, old.mtime_ns) == (size, mtime_ns):
            failed_again.append(Failure(path, old.reason))
        else:
            to_read.append((mtime_ns, path))
    to_read.sort()
    return Comparison(
        files=files,
        unchanged=unchanged,
        moved_or_changed=moved_or_changed,
        to_read=[path for _mtime, path in to_read],
        failed_again=failed_again,
        failures=failures,
    )


def quick_compare(database_url: str, root: Path) -> Comparison | None:
    """`compare` through the database driver alone, without SQLAlchemy.

    For `sqlite:///FILE` (sqlite3) and `postgresql://` URLs (psycopg, which reads
    the same URL). None when the database is not there yet, is not at HEAD, or
    cannot be read: the caller then opens it as usual, which creates or migrates
    it, or says what is wrong in one sentence.
    """
    scheme, _, rest = database_url.partition("://")
    if scheme == "sqlite":
        return _quick_sqlite(rest.removeprefix("/"), root)
    if scheme in ("postgresql", "postgresql+psycopg"):
        return _quick_postgres(f"postgresql://{rest}", root)
    return None


def _quick_sqlite(path: str, root: Path) -> Comparison | None:
    if not path or "?" in path or "%" in path:
        return None  # in-memory, or options only SQLAlchemy reads
    if not os.path.isfile(path):
        return None  # sqlite3 would create it empty
    try:
        with closing(sqlite3.connect(path, timeout=30)) as connection:
            return _compare_at_head(connection.cursor(), root)
    except sqlite3.Error:
        return None


def _quick_postgres(conninfo: str, root: Path) -> Comparison | None:
    import psycopg

    try:
        with psycopg.connect(conninfo, autocommit=True) as connection:
            return _compare_at_head(connection.cursor(), root)
    except psycopg.Error:
        return None


def _compare_at_head(cursor: Any, root: Path) -> Comparison | None:
    cursor.execute("SELECT version_num FROM alembic_version")
    if cursor.fetchall() != [(HEAD,)]:
        return None
    return compare(cursor, root)


def article_files(root: Path) -> dict[str, tuple[int, int]]:
    """Every `*.md` file below root: relative path with '/' -> (size, mtime_ns).

    Hidden files and folders are skipped, and so are symlinks that lead out of
    the folder (or back into a folder already walked).
    """
    if not root.is_dir():
        raise FolderError(f"the articles folder {root} does not exist or is not a folder")
    real_root = root.resolve()
    seen_dirs = {real_root}
    found: dict[str, tuple[int, int]] = {}
    stack = [(root, "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            # Listed through a descriptor, so each stat below looks up one name,
            # not the whole path again: a fifth less time for a run with no changes.
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as exc:
            if not prefix:
                raise FolderError(
                    f"cannot read the articles folder {root}: {exc.strerror}"
                ) from None
            continue
        try:
            with os.scandir(fd) as listing:
                entries = [entry for entry in listing if not entry.name.startswith(".")]
            others = []
            for entry in entries:
                if entry.is_file(follow_symlinks=False):
                    if entry.name.endswith(".md"):
                        try:
                            st = entry.stat()
                        except OSError:
                            continue  # vanished since the listing: it is simply not there
                        found[prefix + entry.name] = (st.st_size, st.st_mtime_ns)
                else:
                    others.append(entry.name)
        finally:
            os.close(fd)
        for name in others:  # folders and symlinks
            path = folder / name
            try:
                real = path.resolve()
                if not real.is_relative_to(real_root):
                    continue
                if path.is_dir():
                    if real not in seen_dirs:
                        seen_dirs.add(real)
                        stack.append((path, f"{prefix}{name}/"))
                elif name.endswith(".md"):
                    st = path.stat()  # a dangling link raises, and is skipped
                    found[prefix + name] = (st.st_size, st.st_mtime_ns)
            except OSError:
                continue
    return found
