"""Incremental indexing of an articles folder into the database.

`sync()` walks the folder, skips files whose size and mtime (then content hash)
are unchanged, parses the rest on every core, and upserts by `webUrl`. A bad
file is reported, never raised: the last good version of its article stays.
Articles whose file is gone are marked missing, never deleted.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Article, ArticleTopic, IndexFailure, Topic
from storage.parse import ArticleRecord, FileStat, ParseError, parse_bytes, read_file, topic_key

BATCH = 1000
# Below this many files to parse, starting worker processes costs more than it saves.
PARALLEL_THRESHOLD = 400


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


class FolderError(Exception):
    """The articles folder itself cannot be read."""


@dataclass(frozen=True, slots=True)
class _Known:
    id: int
    web_url: str
    size: int
    mtime_ns: int
    content_hash: str


@dataclass(frozen=True, slots=True)
class _Parsed:
    """What a worker sends back for one file: a record, the same content, or a failure."""

    path: str
    stat: FileStat | None
    record: ArticleRecord | None = None
    reason: str | None = None


def article_files(root: Path) -> Iterator[tuple[str, os.stat_result]]:
    """Every `*.md` file below root with its stat, relative paths with '/'.

    Hidden files and folders are skipped, and so are symlinks that lead out of
    the folder (or back into a folder already walked).
    """
    real_root = root.resolve()
    seen_dirs = {real_root}
    stack = [(root, "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            if not prefix:
                raise FolderError(
                    f"cannot read the articles folder {root}: {exc.strerror}"
                ) from None
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            rel = prefix + entry.name
            try:
                if entry.is_symlink():
                    target = Path(entry.path).resolve()
                    if not target.is_relative_to(real_root):
                        continue
                if entry.is_dir():
                    real = Path(entry.path).resolve()
                    if real not in seen_dirs:
                        seen_dirs.add(real)
                        stack.append((Path(entry.path), rel + "/"))
                elif entry.name.endswith(".md") and entry.is_file():
                    yield rel, entry.stat()
            except OSError:
                continue  # vanished between listing and stat: it is simply not there


def _load(job: tuple[str, str, str | None]) -> _Parsed:
    """Worker: read one file; parse it unless its hash is the one already indexed."""
    root, rel, known_hash = job
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
    record.source_path = rel
    record.size, record.mtime_ns, record.content_hash = stat.size, stat.mtime_ns, stat.content_hash
    return _Parsed(rel, stat, record=record)


def _parse_all(root: Path, jobs: Sequence[tuple[str, str, str | None]]) -> Iterator[_Parsed]:
    if len(jobs) < PARALLEL_THRESHOLD or (os.cpu_count() or 1) < 2:
        yield from map(_load, jobs)
        return
    # forkserver, not fork: sync also runs on the scheduler's thread inside `serve`.
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(os.cpu_count(), mp_context=context) as pool:
        yield from pool.map(_load, jobs, chunksize=64)


def sync(
    session_factory: sessionmaker[Session],
    root: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> SyncReport:
    """Index the folder at `root`; commits in batches and reports every failure."""
    if not root.is_dir():
        raise FolderError(f"the articles folder {root} does not exist or is not a folder")
    files = dict(article_files(root))
    report = SyncReport()
    with session_factory() as session:
        known = _known_articles(session)
        failures = {f.path: f for f in session.scalars(select(IndexFailure))}
        live_ids = set(session.scalars(select(Article.id).where(Article.missing.is_(False))))
        owners: dict[str, str] = {}
        owner_ids: dict[str, int] = {}
        for url, path, article_id in session.execute(
            select(Article.web_url, Article.source_path, Article.id)
        ):
            owners[url], owner_ids[url] = path, article_id
        topics = {t.key: t.id for t in session.scalars(select(Topic))}

    confirmed: set[int] = set()
    jobs: list[tuple[str, str, str | None]] = []
    for rel, st in sorted(files.items(), key=lambda item: (item[1].st_mtime_ns, item[0])):
        art = known.get(rel)
        if art and (art.size, art.mtime_ns) == (st.st_size, st.st_mtime_ns):
            confirmed.add(art.id)
            report.unchanged += 1
            continue
        old = failures.get(rel)
        if (
            old
            and not old.duplicate_of
            and (old.size, old.mtime_ns) == (st.st_size, st.st_mtime_ns)
        ):
            report.failures.append(Failure(rel, old.reason))
            if art:
                confirmed.add(art.id)
            continue
        jobs.append((str(root), rel, art.content_hash if art else None))

    writer = _BatchWriter(session_factory, topics, owners, owner_ids, files)
    for done, parsed in enumerate(_parse_all(root, jobs), start=1):
        art = known.get(parsed.path)
        if parsed.record is None and parsed.reason is None:
            assert art is not None and parsed.stat is not None
            writer.touch(art.id, parsed.stat)
            confirmed.add(art.id)
            report.unchanged += 1
        elif parsed.reason is not None:
            report.failures.append(Failure(parsed.path, parsed.reason))
            writer.fail(parsed, None)
            if art:
                confirmed.add(art.id)
        else:
            outcome = writer.upsert(parsed.record)
            if isinstance(outcome, Failure):
                report.failures.append(outcome)
            elif outcome == "added":
                report.added += 1
            else:
                report.updated += 1
        if progress:
            progress(done, len(jobs))
    writer.flush()

    vanished = live_ids - confirmed - writer.updated_ids
    stale_failures = [path for path in failures if path not in files]
    with session_factory.begin() as session:
        now = datetime.now(UTC)
        for chunk in _chunks(sorted(vanished)):
            session.execute(
                update(Article).where(Article.id.in_(chunk)).values(missing=True, updated_at=now)
            )
        for chunk in _chunks(stale_failures):
            session.execute(delete(IndexFailure).where(IndexFailure.path.in_(chunk)))
    report.missing = len(vanished)
    report.failures.sort(key=lambda f: f.path)
    return report


def insert_records(session_factory: sessionmaker[Session], records: Iterable[ArticleRecord]) -> int:
    """Insert new articles straight from records, without files (bulk loads, benchmarks).

    Every record must have a webUrl that is not in the database yet.
    """
    with session_factory() as session:
        topics = {t.key: t.id for t in session.scalars(select(Topic))}
    writer = _BatchWriter(session_factory, topics, {}, {}, {})
    count = 0
    for record in records:
        writer.upsert(record)
        count += 1
    writer.flush()
    return count


def _known_articles(session: Session) -> dict[str, _Known]:
    rows = session.execute(
        select(
            Article.source_path,
            Article.id,
            Article.web_url,
            Article.size,
            Article.mtime_ns,
            Article.content_hash,
        ).where(Article.missing.is_(False))
    )
    return {path: _Known(*rest) for path, *rest in rows}


def _chunks(items: Sequence[Any], size: int = BATCH) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _BatchWriter:
    """Collects upserts and writes them a batch per transaction.

    Decisions about duplicates are made as results arrive, in the order the
    files were sorted (oldest first), so the file that was there first keeps
    its article and a later copy is reported.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        topics: dict[str, int],
        owners: dict[str, str],
        owner_ids: dict[str, int],
        files: dict[str, os.stat_result],
    ) -> None:
        self.session_factory = session_factory
        self.topics = topics
        self.owners = owners  # web_url -> source path of the article that owns it
        self.owner_ids = owner_ids
        self.files = files
        self.updated_ids: set[int] = set()
        self.inserts: list[ArticleRecord] = []
        self.updates: list[tuple[int, ArticleRecord]] = []
        self.touches: list[dict[str, Any]] = []
        self.failed: list[tuple[_Parsed, str | None]] = []
        self.cleared: list[str] = []
        self.pending = 0

    def touch(self, article_id: int, stat: FileStat) -> None:
        self.touches.append({"id": article_id, "size": stat.size, "mtime_ns": stat.mtime_ns})
        self._tick()

    def fail(self, parsed: _Parsed, duplicate_of: str | None) -> None:
        self.failed.append((parsed, duplicate_of))
        self._tick()

    def upsert(self, record: ArticleRecord) -> str | Failure:
        """Queue a record: "added", "updated", or the duplicate failure."""
        owner = self.owners.get(record.web_url)
        if owner is not None and owner != record.source_path and owner in self.files:
            reason = f"duplicate webUrl {record.web_url}, already indexed from {owner}"
            stat = FileStat(record.size, record.mtime_ns, record.content_hash)
            self.fail(_Parsed(record.source_path, stat, reason=reason), record.web_url)
            return Failure(record.source_path, reason)
        self.owners[record.web_url] = record.source_path
        self.cleared.append(record.source_path)
        article_id = self.owner_ids.get(record.web_url)
        if article_id is None:
            self.inserts.append(record)
            self._tick()
            return "added"
        self.updates.append((article_id, record))
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
        now = datetime.now(UTC)
        with self.session_factory.begin() as session:
            if self.inserts:
                rows = [_row(r, now) | {"first_indexed_at": now} for r in self.inserts]
                ids = session.scalars(
                    insert(Article).returning(Article.id, sort_by_parameter_order=True), rows
                ).all()
                for article_id, record in zip(ids, self.inserts, strict=True):
                    self.owner_ids[record.web_url] = article_id
                self._link_topics(session, list(zip(ids, self.inserts, strict=True)))
            if self.updates:
                session.execute(
                    update(Article),
                    [{"id": i} | _row(r, now) | {"missing": False} for i, r in self.updates],
                )
                ids = [i for i, _ in self.updates]
                session.execute(delete(ArticleTopic).where(ArticleTopic.article_id.in_(ids)))
                self._link_topics(session, self.updates)
            if self.touches:
                session.execute(update(Article), self.touches)
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
                        failed_at=now,
                    )
                )
        self.inserts, self.updates, self.touches, self.failed, self.cleared = [], [], [], [], []
        self.pending = 0

    def _link_topics(self, session: Session, pairs: Sequence[tuple[int, ArticleRecord]]) -> None:
        new = {
            topic_key(n): n for _, r in pairs for n in r.topics if topic_key(n) not in self.topics
        }
        if new:
            rows = [{"key": k, "name": n} for k, n in new.items()]
            created = session.execute(
                insert(Topic).returning(Topic.id, Topic.key, sort_by_parameter_order=True), rows
            )
            self.topics.update({key: topic_id for topic_id, key in created})
        links = [
            {
                "article_id": article_id,
                "topic_id": self.topics[topic_key(name)],
                "heat": record.heat,
                "published_at": record.published_at,
            }
            for article_id, record in pairs
            for name in record.topics
        ]
        if links:
            session.execute(insert(ArticleTopic), links)


def _row(record: ArticleRecord, now: datetime) -> dict[str, Any]:
    return {
        "web_url": record.web_url,
        "amp_web_url": record.amp_web_url,
        "cdn_amp_web_url": record.cdn_amp_web_url,
        "title": record.title,
        "excerpt": record.excerpt,
        "category": record.category,
        "type": record.type,
        "quality": record.quality,
        "heat": record.heat,
        "published": record.published,
        "published_at": record.published_at,
        "provider_name": record.provider_name,
        "provider_domain": record.provider_domain,
        "topics": record.topics,
        "images": record.images,
        "related": record.related,
        "secured": record.secured,
        "extra": record.extra,
        "source_path": record.source_path,
        "size": record.size,
        "mtime_ns": record.mtime_ns,
        "content_hash": record.content_hash,
        "updated_at": now,
    }
