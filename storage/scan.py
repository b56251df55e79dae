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
import stat
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from storage.migrations import HEAD
from storage.types import Failure, SyncReport

# Both read through the DBAPI cursor, as the driver's own tuples: at 100,000
# articles, wrapping each row would cost more than all the rest of a run where
# nothing changed. The first reads only the covering index ix_articles_file_state.
_FILE_STATES = "SELECT source_path, size, mtime_ns FROM articles WHERE NOT missing"
_FAILURES = "SELECT path, size, mtime_ns, reason, duplicate_of FROM index_failures"
# Follow cards Slack refused wait for an index run to make them pending again.
_RELEASED = (
    "SELECT 1 FROM follow_claims WHERE status = 'released' "
    "UNION ALL SELECT 1 FROM follow_extras WHERE status = 'released' LIMIT 1"
)


class FolderError(Exception):
    """The articles folder itself cannot be read."""


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
    # Entries that are never opened: names that are not UTF-8, named pipes, sockets ...
    refused: list[Failure] = field(default_factory=list)
    released: bool = False  # follow cards wait to be made pending again

    @property
    def stale_failures(self) -> list[str]:
        """Failures on record for files that are gone."""
        return [path for path in self.failures if path not in self.files]

    def needs_writing(self) -> bool:
        # An article whose file went bad keeps its last good version: nothing to write.
        bad = {failure.path for failure in self.failed_again}
        bad.update(failure.path for failure in self.refused)
        return bool(
            self.to_read
            or self.released
            or self.stale_failures
            or any(path not in bad for path in self.moved_or_changed)
        )

    def report(self) -> SyncReport:
        """The report of a run that finds nothing to write."""
        failures = sorted([*self.failed_again, *self.refused], key=_path)
        return SyncReport(unchanged=self.unchanged, failures=failures)


def _path(failure: Failure) -> str:
    return failure.path


def compare(cursor: Any, root: Path, folder: Folder | None = None) -> Comparison:
    """Walk `root` and set it against the database `cursor` (DBAPI) reads from.

    `folder` is `root` already walked: only the database is read again.
    """
    files, refused = folder if folder is not None else walk(root)
    cursor.execute(_FILE_STATES)
    stored = cursor.fetchall()
    moved_or_changed = [row[0] for row in stored if files.get(row[0]) != row[1:]]
    cursor.execute(_FAILURES)
    failures = {path: StoredFailure(*rest) for path, *rest in cursor.fetchall()}
    cursor.execute(_RELEASED)
    released = bool(cursor.fetchall())

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
        refused=refused,
        released=released,
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


class Folder(NamedTuple):
    """The articles folder as one walk found it."""

    files: dict[str, tuple[int, int]]  # every article file: relative path -> (size, mtime_ns)
    refused: list[Failure]  # what looks like an article file but is never opened


_KINDS = (
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
)


def not_regular(mode: int, *, linked: bool) -> str:
    """Why an entry that is not a regular file is refused, naming what it is."""
    kind = next((name for test, name in _KINDS if test(mode)), "an unknown kind of file")
    return f"not a regular file ({'it links to' if linked else 'it is'} {kind})"


def _utf8(name: str) -> bool:
    # os.listdir hands back undecodable bytes as lone surrogates, which no database stores.
    return name.isascii() or not any("\udc80" <= c <= "\udcff" for c in name)


def _escaped(path: str) -> str:
    """An undecodable path, readable: caf\\xe9.md for the Latin-1 bytes of café.md."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def walk(root: Path) -> Folder:
    """Every `*.md` regular file below root, by relative path with '/'.

    Hidden files and folders are skipped, and so are symlinks that lead out of
    the folder (or back into a folder already walked). An article name that is
    not UTF-8, or a `*.md` that is not a regular file (a named pipe, a socket, a
    device), is refused with its reason and never opened: reading a pipe waits
    forever. A folder that is not UTF-8 or cannot be listed is refused whole.
    """
    if not root.is_dir():
        raise FolderError(f"the articles folder {root} does not exist or is not a folder")
    real_root = Path(os.path.realpath(root))
    seen_dirs = {real_root}
    found: dict[str, tuple[int, int]] = {}
    refused: list[Failure] = []
    stack = [(root, "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            # Listed through a descriptor, so each stat below looks up one name,
            # not the whole path again (BENCHMARKS.md).
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as exc:
            if not prefix:
                raise FolderError(
                    f"cannot read the articles folder {root}: {exc.strerror}"
                ) from None
            refused.append(Failure(prefix, f"folder cannot be read ({exc.strerror})"))
            continue
        try:
            with os.scandir(fd) as listing:
                entries = [entry for entry in listing if not entry.name.startswith(".")]
            others = []
            for entry in entries:
                name = entry.name
                if entry.is_file(follow_symlinks=False):  # a regular file, from the listing
                    if name.endswith(".md"):
                        if not _utf8(name):
                            refused.append(
                                Failure(_escaped(prefix + name), "file name is not valid UTF-8")
                            )
                            continue
                        try:
                            st = entry.stat()
                        except OSError:
                            continue  # vanished since the listing: it is simply not there
                        found[prefix + name] = (st.st_size, st.st_mtime_ns)
                elif entry.is_dir(follow_symlinks=False) or entry.is_symlink():
                    if _utf8(name):
                        others.append(name)
                    elif entry.is_dir():
                        refused.append(
                            Failure(
                                f"{_escaped(prefix + name)}/",
                                "folder name is not valid UTF-8, so nothing in it is indexed",
                            )
                        )
                    elif name.endswith(".md"):
                        refused.append(
                            Failure(_escaped(prefix + name), "file name is not valid UTF-8")
                        )
                elif name.endswith(".md"):  # a pipe, a socket or a device
                    shown = prefix + name if _utf8(name) else _escaped(prefix + name)
                    try:
                        mode = entry.stat(follow_symlinks=False).st_mode
                    except OSError:
                        continue
                    refused.append(Failure(shown, not_regular(mode, linked=False)))
        finally:
            os.close(fd)
        for name in others:  # folders and symlinks
            path = folder / name
            try:
                # realpath, not Path.resolve: on a symlink loop resolve raises RuntimeError
                # (Python 3.11), realpath gives a path whose stat fails like a dangling link's.
                real = Path(os.path.realpath(path))
                if not real.is_relative_to(real_root):
                    continue
                if path.is_dir():
                    if real not in seen_dirs:
                        seen_dirs.add(real)
                        stack.append((path, f"{prefix}{name}/"))
                elif name.endswith(".md"):
                    st = path.stat()  # a dangling link raises, and is skipped
                    if stat.S_ISREG(st.st_mode):
                        found[prefix + name] = (st.st_size, st.st_mtime_ns)
                    else:
                        refused.append(Failure(prefix + name, not_regular(st.st_mode, linked=True)))
            except OSError:
                continue
    return Folder(found, refused)
