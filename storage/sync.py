"""Incremental indexing of an articles folder into the database.

`sync()` walks the folder, skips files whose size and mtime (then content hash)
are unchanged, parses the rest on every core, and upserts by `webUrl`. A bad
file is reported, never raised: the last good version of its article stays.
Articles whose file is gone are marked missing, never deleted.

A run holds the database-wide index lock (`storage.db.index_lock`) from the
comparison to the last write, so two runs never interleave; and it writes a row
only while the row's version is the one it read first, so a review decision
made while the run read the file is never undone.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Engine, delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from storage.db import index_lock
from storage.errors import DatabaseError
from storage.follows import (
    RunFinds,
    config_channels,
    has_released,
    load_matcher,
    new_run_id,
    rearm_released,
)
from storage.matching import ArticleState, topic_keys
from storage.models import Article, ArticleTopic, IndexFailure, Topic
from storage.parse import ParseError, json_default, parse_bytes, read_file, topic_key
from storage.scan import Comparison, Folder, compare
from storage.types import ArticleRecord, Failure, FileStat, SyncReport

BATCH = 1000
# Below this many files to parse, starting the worker processes (a fresh interpreter
# that imports SQLAlchemy) costs more than parsing on two cores saves (BENCHMARKS.md).
PARALLEL_THRESHOLD = 5000


# The article columns an indexing run writes, in the order of `_Row.values`. The
# rows are built in the worker processes, JSON and dates already in the form the
# driver takes, so the one process that writes only hands tuples to executemany.
COLUMNS = (
    "web_url", "amp_web_url", "cdn_amp_web_url", "title", "excerpt", "category", "type",
    "quality", "heat", "published", "published_at", "provider_name", "provider_domain",
    "topics", "images", "related", "secured", "extra", "source_path", "size", "mtime_ns",
    "content_hash", "updated_at",
)  # fmt: skip
_TITLE, _EXCERPT = COLUMNS.index("title"), COLUMNS.index("excerpt")
_HEAT, _PUBLISHED_AT = COLUMNS.index("heat"), COLUMNS.index("published_at")
_PUBLISHED, _PROVIDER = COLUMNS.index("published"), COLUMNS.index("provider_domain")
_INSERT_COLUMNS = (*COLUMNS, "first_indexed_at", "missing", "rejected")


# Named tuples, not dataclasses: a worker sends one of each per file, and they
# pickle in half the time (BENCHMARKS.md).
class _Row(NamedTuple):
    """One article ready to write: identity, topics for the links, and the column values."""

    web_url: str
    source_path: str
    topics: tuple[str, ...]
    values: tuple[Any, ...]


class _Parsed(NamedTuple):
    """What a worker sends back for one file: a row, the same content, or a failure."""

    path: str
    stat: FileStat | None
    row: _Row | None = None
    reason: str | None = None


def _db_time(moment: datetime | None, sqlite: bool) -> Any:
    """A UTC datetime as the driver stores it for storage.models.UTCDateTime."""
    if moment is None:
        return None
    naive = moment.astimezone(UTC).replace(tzinfo=None)
    # SQLAlchemy's SQLite DATETIME storage format, so the ORM reads these back;
    # isoformat, as strftime writes the year 5 as "5", which it cannot read.
    return naive.isoformat(" ", "microseconds") if sqlite else naive


def to_row(record: ArticleRecord, *, sqlite: bool, now: datetime) -> _Row:
    """The record as a row of COLUMNS for the given backend."""
    values = (
        record.web_url, record.amp_web_url, record.cdn_amp_web_url, record.title,
        record.excerpt, record.category, record.type, record.quality, record.heat,
        record.published, _db_time(record.published_at, sqlite), record.provider_name,
        record.provider_domain, _json(record.topics, "topics"), _json(record.images, "images"),
        _json(record.related, "related"), record.secured, _json(record.extra, "extra"),
        record.source_path,
        record.size, record.mtime_ns, record.content_hash, _db_time(now, sqlite),
    )  # fmt: skip
    return _Row(record.web_url, record.source_path, tuple(record.topics), values)


# One encoder for every row: json.dumps with options builds a new one per call.
# No NaN or Infinity: PostgreSQL's json refuses them, and SQLite would keep what
# the other cannot.
_ENCODER = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), default=json_default, allow_nan=False
)


def _json(value: Any, name: str) -> str:
    if not value:
        return "{}" if isinstance(value, dict) else "[]"
    try:
        return _ENCODER.encode(value)
    except ValueError:  # the encoder's one refusal
        if name == "extra":  # unknown fields: name the one that holds it
            name = next((str(k) for k, v in value.items() if not _encodes(v)), name)
        raise ParseError(f"field {name}: holds .nan or .inf, which cannot be stored") from None


def _encodes(value: Any) -> bool:
    try:
        _ENCODER.encode(value)
    except ValueError:
        return False
    return True


def _load(job: tuple[str, str, str | None, bool, datetime]) -> _Parsed:
    """Worker: read one file; parse it unless its hash is the one already indexed."""
    root, rel, known_hash, sqlite, now = job
    try:
        data, stat = read_file(Path(root, rel))
    except ParseError as exc:
        return _Parsed(rel, None, reason=str(exc))
    if stat.content_hash == known_hash:
        return _Parsed(rel, stat)
    try:
        record = parse_bytes(data)
    except ParseError as exc:
        return _Parsed(rel, stat, reason=str(exc))
    except Exception as exc:
        # Whatever a file holds, it fails alone: the run and every other file go on.
        return _Parsed(rel, stat, reason=f"cannot be parsed ({type(exc).__name__})")
    record.source_path = rel
    record.size, record.mtime_ns, record.content_hash = stat.size, stat.mtime_ns, stat.content_hash
    try:
        return _Parsed(rel, stat, row=to_row(record, sqlite=sqlite, now=now))
    except ParseError as exc:
        return _Parsed(rel, stat, reason=str(exc))


def _parse_all(jobs: Sequence[tuple[str, str, str | None, bool, datetime]]) -> Iterator[_Parsed]:
    if len(jobs) < PARALLEL_THRESHOLD or (os.cpu_count() or 1) < 2:
        yield from map(_load, jobs)
        return
    # forkserver, not fork: sync also runs on the scheduler's thread inside `serve`.
    # The server imports this module once, so each worker starts with it loaded.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    with ProcessPoolExecutor(os.cpu_count(), mp_context=context) as pool:
        yield from pool.map(_load, jobs, chunksize=256)


def sync(
    session_factory: sessionmaker[Session],
    root: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
    found: Comparison | None = None,
    wait: bool = True,
    on_wait: Callable[[], None] | None = None,
) -> SyncReport:
    """Index the folder at `root`; commits in batches and reports every failure.

    `found` is the folder already compared with this database (by
    `storage.scan.quick_compare`), so that it is not walked twice; the database
    side is read again once the index lock is held. When another run holds the
    lock, `on_wait` is called once and this waits, or with `wait=False` raises
    `storage.db.IndexBusy`. A database failure raises `DatabaseError` with one
    sentence that holds no row values.
    """
    try:
        with index_lock(session_factory.kw["bind"], wait=wait, on_wait=on_wait):
            report = _sync_locked(session_factory, root, progress, found)
        if report.added + report.updated > max(1000, report.unchanged // 10):
            _refresh_statistics(session_factory)
    except SQLAlchemyError as exc:
        raise DatabaseError(_stopped(exc)) from None
    return report


def _stopped(exc: SQLAlchemyError) -> str:
    """The sentence for a run the database stopped: its error, never the row it refused.

    A driver's message can quote the row (PostgreSQL's DETAIL names the key and
    its value), so only a connection failure, which names no row, is quoted.
    """
    orig = exc.orig if isinstance(exc, DBAPIError) else None
    if isinstance(exc, OperationalError | InterfaceError) and orig is not None:
        first_line = str(orig).strip().splitlines()[0] if str(orig).strip() else ""
        return f"the index run stopped: the database failed ({first_line or type(orig).__name__})"
    name = type(orig or exc).__name__
    constraint = getattr(getattr(orig, "diag", None), "constraint_name", None)
    where = f" on {constraint}" if constraint else ""
    return (
        f"the index run stopped: the database refused a write ({name}{where}); "
        "what was written before stays, and the next run carries on"
    )


def _sync_locked(
    session_factory: sessionmaker[Session],
    root: Path,
    progress: Callable[[int, int], None] | None,
    found: Comparison | None,
) -> SyncReport:
    with session_factory() as session:
        conn = session.connection()
        sqlite = conn.dialect.name == "sqlite"
        cursor = conn.connection.cursor()
        try:
            walked = Folder(found.files, found.refused) if found is not None else None
            found = compare(cursor, root, walked)
        finally:
            cursor.close()
    files = found.files
    report = SyncReport(unchanged=found.unchanged, failures=[*found.failed_again, *found.refused])
    now = datetime.now(UTC)
    owners: dict[str, str] = {}  # web_url -> source path
    owner_ids: dict[str, int] = {}
    known: dict[str, tuple[int, str]] = {}  # source path -> id, content hash
    # Each row's version before any file is read: a row whose version moves on
    # meanwhile was changed by a review decision, and this run leaves it alone.
    versions: dict[int, int] = {}
    topics: dict[str, int] = {}
    if found.to_read or found.moved_or_changed:
        with session_factory() as session:
            rows = session.connection().exec_driver_sql(
                "SELECT id, web_url, source_path, content_hash, missing, version FROM articles"
            )
            for article_id, url, path, digest, missing, version in rows:
                owners[url], owner_ids[url] = path, article_id
                versions[article_id] = version
                if not missing:
                    known[path] = (article_id, digest)
            topics = {t.key: t.id for t in session.scalars(select(Topic))}
    # Articles whose file is not where and as it was are missing, unless that file
    # is only touched (same hash) or gone bad, or another file now has their URL.
    unaccounted = {known[path][0] for path in found.moved_or_changed if path in known}
    confirmed = {known[f.path][0] for f in (*found.failed_again, *found.refused) if f.path in known}
    jobs = [
        (str(root), rel, known[rel][1] if rel in known else None, sqlite, now)
        for rel in found.to_read
    ]

    finds = _follow_finds(session_factory) if jobs else None
    writer = _BatchWriter(session_factory, topics, owners, owner_ids, files, versions, finds)
    for done, parsed in enumerate(_parse_all(jobs), start=1):
        art = known.get(parsed.path)
        if parsed.row is None and parsed.reason is None:
            assert art is not None and parsed.stat is not None
            writer.touch(art[0], parsed.stat)
            confirmed.add(art[0])
            report.unchanged += 1
        elif parsed.reason is not None:
            report.failures.append(Failure(parsed.path, parsed.reason))
            writer.fail(parsed, None)
            if art:
                confirmed.add(art[0])
        else:
            assert parsed.row is not None
            outcome = writer.upsert(parsed.row)
            if isinstance(outcome, Failure):
                report.failures.append(outcome)
            elif outcome == "added":
                report.added += 1
            else:
                report.updated += 1
        if progress:
            progress(done, len(jobs))
    writer.flush()
    report.updated -= writer.deferred
    report.deferred = writer.deferred

    vanished = unaccounted - confirmed - writer.updated_ids
    stale_failures = found.stale_failures
    if vanished or stale_failures:
        with session_factory.begin() as session:
            for chunk in _chunks(sorted(vanished)):
                session.execute(
                    update(Article)
                    .where(Article.id.in_(chunk))
                    .values(missing=True, updated_at=now)
                )
            for chunk in _chunks(stale_failures):
                session.execute(delete(IndexFailure).where(IndexFailure.path.in_(chunk)))
    report.missing = len(vanished)
    report.failures.sort(key=lambda f: f.path)
    report.follow_finds = _record_finds(session_factory, finds)
    return report


def _follow_finds(session_factory: sessionmaker[Session]) -> RunFinds | None:
    """What the run finds for the follows, when there are any."""
    with session_factory() as session:
        matcher = load_matcher(session)
        if not matcher:
            return None
        postgres = session.get_bind().dialect.name == "postgresql"
        return RunFinds(matcher, postgres=postgres, keep_all=config_channels(session))


def _record_finds(session_factory: sessionmaker[Session], finds: RunFinds | None) -> int:
    """The run's finds as claims for the posters, and refused ones pending again.

    A run that wrote nothing still makes claims Slack refused pending again:
    the next run posts them even when no file changed.
    """
    if finds is None:
        with session_factory() as session:
            if not has_released(session):
                return 0
        with session_factory.begin() as session:
            return rearm_released(session, run=new_run_id())
    with session_factory.begin() as session:
        return finds.record(session)


def _refresh_statistics(session_factory: sessionmaker[Session]) -> None:
    """After a large change, let the query planner see the new table sizes.

    Without it PostgreSQL guesses a few hundred matches for any word and sorts
    thousands of rows where walking the heat index would stop after five.
    """
    with session_factory() as session:
        engine = session.get_bind()
    if isinstance(engine, Engine) and engine.dialect.name == "postgresql":
        # VACUUM as well: it marks the new rows visible to all in the visibility
        # map, without which the covering indexes (file state for every run,
        # topic search) still read the table itself. Autovacuum would, later,
        # where it is on. VACUUM cannot run inside a transaction.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE) articles, article_topics"))
        return
    with session_factory.begin() as session:
        # PRAGMA optimize on SQLite 3.40 skips `articles`; a sampled ANALYZE
        # costs well under a second at a million rows.
        session.execute(text("PRAGMA analysis_limit=2000"))
        session.execute(text("ANALYZE"))


def insert_records(session_factory: sessionmaker[Session], records: Iterable[ArticleRecord]) -> int:
    """Insert new articles straight from records, without files (bulk loads, benchmarks).

    Every record must have a webUrl that is not in the database yet.
    """
    with session_factory() as session:
        topics = {t.key: t.id for t in session.scalars(select(Topic))}
        sqlite = session.get_bind().dialect.name == "sqlite"
    writer = _BatchWriter(session_factory, topics, {}, {}, {}, {})
    now = datetime.now(UTC)
    count = 0
    for record in records:
        writer.upsert(to_row(record, sqlite=sqlite, now=now))
        count += 1
    writer.flush()
    _refresh_statistics(session_factory)
    return count


def _chunks(items: Sequence[Any], size: int = BATCH) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _state(article_id: int, row: _Row, before: ArticleState | None = None) -> ArticleState:
    """The article as this row writes it, for the follows (a rejection is the row's own)."""
    values = row.values
    return ArticleState(
        id=article_id,
        title=values[_TITLE],
        excerpt=values[_EXCERPT],
        heat=values[_HEAT],
        published=values[_PUBLISHED],
        provider_domain=values[_PROVIDER],
        topic_keys=topic_keys(row.topics),
        published_at=values[_PUBLISHED_AT],
        rejected=before.rejected if before is not None else False,
    )


class _BatchWriter:
    """Collects upserts and writes them a batch per transaction, with executemany.

    Decisions about duplicates are made as results arrive, in the order the
    files were sorted (oldest first), so the file that was there first keeps
    its article and a later copy is reported.

    An existing row is written only while its version is the one `versions`
    holds; the ones a review decision moved on are counted in `deferred`.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        topics: dict[str, int],
        owners: dict[str, str],
        owner_ids: dict[str, int],
        files: dict[str, tuple[int, int]],
        versions: dict[int, int],
        finds: RunFinds | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.topics = topics
        self.owners = owners  # web_url -> source path of the article that owns it
        self.owner_ids = owner_ids
        self.files = files
        self.versions = versions  # article id -> version read before its file was
        self.finds = finds
        self.deferred = 0
        self.updated_ids: set[int] = set()
        self.inserts: list[_Row] = []
        self.updates: list[tuple[int, _Row]] = []
        self.touches: list[tuple[int, int, int]] = []  # id, size, mtime_ns
        self.failed: list[tuple[_Parsed, str | None]] = []
        self.cleared: list[str] = []
        self.pending = 0

    def touch(self, article_id: int, stat: FileStat) -> None:
        self.touches.append((article_id, stat.size, stat.mtime_ns))
        self._tick()

    def fail(self, parsed: _Parsed, duplicate_of: str | None) -> None:
        self.failed.append((parsed, duplicate_of))
        self._tick()

    def upsert(self, row: _Row) -> str | Failure:
        """Queue a row: "added", "updated", or the duplicate failure."""
        owner = self.owners.get(row.web_url)
        if owner is not None and owner != row.source_path and owner in self.files:
            reason = f"duplicate webUrl {row.web_url}, already indexed from {owner}"
            size, mtime_ns = (
                row.values[COLUMNS.index("size")],
                row.values[COLUMNS.index("mtime_ns")],
            )
            stat = FileStat(size, mtime_ns, "")
            self.fail(_Parsed(row.source_path, stat, reason=reason), row.web_url)
            return Failure(row.source_path, reason)
        self.owners[row.web_url] = row.source_path
        self.cleared.append(row.source_path)
        article_id = self.owner_ids.get(row.web_url)
        if article_id is None:
            self.inserts.append(row)
            self._tick()
            return "added"
        self.updates.append((article_id, row))
        self.updated_ids.add(article_id)
        self._tick()
        return "updated"

    def _tick(self) -> None:
        self.pending += 1
        if self.pending >= BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        follow_finds: list[Any] = []
        with self.session_factory.begin() as session:
            conn = session.connection()
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            pairs: list[tuple[int, _Row]] = []
            old: dict[int, ArticleState] = {}
            if self.inserts:
                created_at = self.inserts[0].values[-1]  # the run's `now`, in driver form
                conn.exec_driver_sql(
                    f"INSERT INTO articles ({', '.join(_INSERT_COLUMNS)}) "
                    f"VALUES ({', '.join([mark] * len(_INSERT_COLUMNS))})",
                    [(*row.values, created_at, False, False) for row in self.inserts],
                )
                urls = [row.web_url for row in self.inserts]
                found = session.execute(
                    select(Article.web_url, Article.id).where(Article.web_url.in_(urls))
                )
                self.owner_ids.update((url, article_id) for url, article_id in found)
                pairs = [(self.owner_ids[row.web_url], row) for row in self.inserts]
                self.versions.update((article_id, 0) for article_id, _row in pairs)
                if conn.dialect.name == "sqlite":
                    # No trigger does this (migration 0003): one statement per batch
                    # is far cheaper than a trigger per row (BENCHMARKS.md).
                    conn.exec_driver_sql(
                        "INSERT INTO articles_fts(rowid, title, excerpt) VALUES (?, ?, ?)",
                        [(i, row.values[_TITLE], row.values[_EXCERPT]) for i, row in pairs],
                    )
                self._link_topics(session, pairs, first_indexed_at=created_at)
            if self.updates or self.touches:
                self._leave_decided_rows(session)
            if self.updates and self.finds is not None:
                old = self.finds.old_states(session, [i for i, _ in self.updates])
            if self.updates:
                assignments = ", ".join(f"{c} = {mark}" for c in COLUMNS)
                conn.exec_driver_sql(
                    f"UPDATE articles SET {assignments}, missing = {mark} "
                    f"WHERE id = {mark} AND version = {mark}",
                    [
                        (*row.values, False, article_id, self.versions[article_id])
                        for article_id, row in self.updates
                    ],
                )
                ids = [i for i, _ in self.updates]
                session.execute(delete(ArticleTopic).where(ArticleTopic.article_id.in_(ids)))
                self._link_topics(session, self.updates)
            if self.touches:
                conn.exec_driver_sql(
                    f"UPDATE articles SET size = {mark}, mtime_ns = {mark} "
                    f"WHERE id = {mark} AND version = {mark}",
                    [
                        (size, mtime_ns, article_id, self.versions[article_id])
                        for article_id, size, mtime_ns in self.touches
                    ],
                )
            if self.cleared:
                session.execute(delete(IndexFailure).where(IndexFailure.path.in_(self.cleared)))
            for parsed, duplicate_of in self.failed:
                session.merge(
                    IndexFailure(
                        path=parsed.path,
                        size=parsed.stat.size if parsed.stat else 0,
                        mtime_ns=parsed.stat.mtime_ns if parsed.stat else 0,
                        reason=parsed.reason or "",
                        duplicate_of=duplicate_of,
                        failed_at=datetime.now(UTC),
                    )
                )
            if self.finds is not None and (pairs or self.updates):
                follow_finds = self.finds.observe(
                    session,
                    [_state(i, row) for i, row in pairs],
                    [_state(i, row, old.get(i)) for i, row in self.updates],
                    old,
                    self.topics,
                )
        if self.finds is not None:  # committed: they count
            self.finds.accept(follow_finds)
        self.inserts, self.updates, self.touches, self.failed, self.cleared = [], [], [], [], []
        self.pending = 0

    def _leave_decided_rows(self, session: Session) -> None:
        """Drop the updates and touches of rows a review decision changed since the run began.

        The rows are locked until this batch commits (SQLite: the write lock the
        batch holds already), so no decision slips in between this look and the
        writes, which also check the version.
        """
        ids = [i for i, _ in self.updates] + [i for i, _s, _m in self.touches]
        rows = session.execute(
            select(Article.id, Article.version).where(Article.id.in_(ids)).with_for_update()
        )
        current = {article_id: version for article_id, version in rows}
        kept = [(i, row) for i, row in self.updates if current.get(i) == self.versions[i]]
        self.deferred += len(self.updates) - len(kept)
        self.updates = kept
        self.touches = [t for t in self.touches if current.get(t[0]) == self.versions[t[0]]]

    def _link_topics(
        self, session: Session, pairs: Sequence[tuple[int, _Row]], *, first_indexed_at: Any = None
    ) -> None:
        """Link the articles to their topics, heat and dates copied in.

        `first_indexed_at` is the new articles' (driver form); for articles
        already indexed it is left out and a trigger copies the article's.
        """
        keys = {name: topic_key(name) for _, row in pairs for name in row.topics}
        new = {key: name for name, key in keys.items() if key not in self.topics}
        if new:
            rows = [{"key": k, "name": n} for k, n in new.items()]
            created = session.execute(
                insert(Topic).returning(Topic.id, Topic.key, sort_by_parameter_order=True), rows
            )
            self.topics.update({key: topic_id for topic_id, key in created})
        links = [
            (
                article_id,
                self.topics[keys[name]],
                row.values[_HEAT],
                row.values[_PUBLISHED_AT],
                first_indexed_at,
            )
            for article_id, row in pairs
            for name in row.topics
        ]
        if links:
            conn = session.connection()
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            conn.exec_driver_sql(
                "INSERT INTO article_topics"
                " (article_id, topic_id, heat, published_at, first_indexed_at)"
                f" VALUES ({mark}, {mark}, {mark}, {mark}, {mark})",
                links,
            )
