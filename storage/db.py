"""Engines, sessions and schema migrations for SQLite and PostgreSQL."""

from __future__ import annotations

import fcntl
import os
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Engine, create_engine, event, inspect, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

from storage.errors import DatabaseError, redacted
from storage.migrations import HEAD

if TYPE_CHECKING:
    from storage.models import Base

MIGRATIONS = Path(__file__).parent / "migrations"

# Any 64-bit number will do; it only has to be the same for every replica.
_PG_MIGRATION_LOCK = 0x6E657773626F74
# The index lock takes the two-key form, (this, the schema): a separate key space,
# and two newsbot installations in one database do not wait for each other.
_PG_INDEX_LOCK = 0x6E657773  # "news"
_MEMORY_LOCK = threading.Lock()  # an in-memory SQLite database lives in one process


class IndexBusy(Exception):
    """Another index run holds the index lock, and this one would not wait."""


@dataclass(frozen=True)
class Database:
    """An engine and its two session factories.

    `Session` opens a deferred transaction (reads, and writes that do not race);
    `WriteSession` takes SQLite's write lock up front, so two writers queue on
    the busy timeout instead of one failing with "database is locked" when it
    upgrades a read lock. On PostgreSQL both are the same.
    """

    engine: Engine
    Session: sessionmaker[OrmSession]
    WriteSession: sessionmaker[OrmSession]

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def create_db_engine(url: str) -> Engine:
    """An engine for a SQLAlchemy URL, with SQLite tuned for several processes."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise DatabaseError(
            f"NEWSBOT_DATABASE_URL: {redacted(url)!r} is not a database URL "
            "(try sqlite:///newsbot.db or postgresql://user@host/db)"
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    # No row values in any error message or log line: `secured` is among them.
    kwargs: dict[str, Any] = {"hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
    elif parsed.get_backend_name() == "postgresql":
        kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
    try:
        engine = create_engine(parsed, **kwargs)
    except (ArgumentError, ImportError, SQLAlchemyError) as exc:
        raise DatabaseError(f"NEWSBOT_DATABASE_URL: cannot use {_safe(url)!r}: {exc}") from None
    if engine.dialect.name == "sqlite":
        _tune_sqlite(engine)
    return engine


def _tune_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling skips BEGIN before DDL and cannot take
    # the write lock early; the SQLAlchemy docs' recipe is to emit BEGIN ourselves.
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Any) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get("sqlite_write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


def open_database(url: str, *, migrate: bool = True) -> Database:
    """Connect, and bring the schema up to date unless `migrate` is false."""
    engine = create_db_engine(url)
    try:
        if migrate:
            upgrade(engine)
        else:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        engine.dispose()
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise DatabaseError(f"cannot open the database {_safe(url)}: {reason}") from None
    writer = engine.execution_options(sqlite_write=True)
    return Database(
        engine=engine,
        Session=sessionmaker(engine, expire_on_commit=False),
        WriteSession=sessionmaker(writer, expire_on_commit=False),
    )


def alembic_config(connection: Any = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def current_revision(engine: Engine) -> str | None:
    """The schema's migration revision, None for an empty database."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations; replicas starting together take turns on a lock."""
    if revision == "head" and current_revision(engine) == HEAD:
        return
    from alembic import command

    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            conn.commit()
        try:
            command.upgrade(alembic_config(conn), revision)
            conn.commit()
        finally:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK})
                conn.commit()


@contextmanager
def index_lock(
    engine: Engine, *, wait: bool = True, on_wait: Callable[[], None] | None = None
) -> Iterator[None]:
    """Hold the database-wide lock under which an index run compares and writes.

    Two runs that overlap (cron's `newsbot index` and the re-index of `serve`,
    or two replicas) would both insert the same new article. PostgreSQL: a
    session-level advisory lock on a connection of its own, which the server
    also drops if this process dies. SQLite: an exclusive `flock` on a file
    beside the database, dropped by the kernel when the process dies. When the
    lock is taken, `on_wait` is called once, then this waits for it; with
    `wait=False` it raises `IndexBusy` instead.
    """
    if engine.dialect.name == "postgresql":
        with _pg_index_lock(engine, wait=wait, on_wait=on_wait):
            yield
        return
    path = _sqlite_lock_path(engine)
    if path is None:
        if not _MEMORY_LOCK.acquire(blocking=False):
            if not wait:
                raise IndexBusy
            if on_wait:
                on_wait()
            _MEMORY_LOCK.acquire()
        try:
            yield
        finally:
            _MEMORY_LOCK.release()
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise DatabaseError(f"cannot create the index lock file {path}: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise IndexBusy from None
            if on_wait:
                on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the last descriptor releases the lock


@contextmanager
def _pg_index_lock(
    engine: Engine, *, wait: bool, on_wait: Callable[[], None] | None
) -> Iterator[None]:
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        schema = conn.execute(text("SELECT current_schema()")).scalar() or ""
        keys = {"a": _PG_INDEX_LOCK, "b": zlib.crc32(schema.encode()) - 2**31}
        if not conn.execute(text("SELECT pg_try_advisory_lock(:a, :b)"), keys).scalar():
            if not wait:
                raise IndexBusy
            if on_wait:
                on_wait()
            conn.execute(text("SELECT pg_advisory_lock(:a, :b)"), keys)
        try:
            yield
        finally:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:a, :b)"), keys)
            except SQLAlchemyError:
                # The session is gone, and its lock with it; never pool this connection.
                conn.invalidate()
    finally:
        conn.close()


def _sqlite_lock_path(engine: Engine) -> str | None:
    """`FILE-index-lock` beside the database file; None for an in-memory database."""
    database = engine.url.database or ""
    if engine.url.query.get("uri") in ("true", "1") or database.startswith("file:"):
        database = database.removeprefix("file:").split("?")[0]
    if not database or database == ":memory:":
        return None
    return f"{database}-index-lock"


def _safe(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return redacted(url)


def insert_if_absent(session: OrmSession, model: type[Base], **values: Any) -> bool:
    """INSERT one row unless its key exists; True when this call inserted it.

    The database decides, so two processes (or replicas) racing for the same
    key get exactly one True between them.
    """
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):  # pragma: no cover - the two supported ones
        raise DatabaseError(f"unsupported database {dialect}")
    # RETURNING rather than rowcount: ORM-enabled inserts report rowcount -1 on psycopg.
    key = inspect(model).primary_key
    if dialect == "postgresql":
        pg = postgresql.insert(model).values(**values).on_conflict_do_nothing()
        return session.execute(pg.returning(*key)).first() is not None
    lite = sqlite.insert(model).values(**values).on_conflict_do_nothing()
    return session.execute(lite.returning(*key)).first() is not None


def update_won(
    session: OrmSession,
    model: type[Base],
    *where: ColumnElement[bool],
    **values: Any,
) -> bool:
    """One conditional UPDATE of `model`'s rows matching `where`; True when it changed a row.

    The database decides, so of several processes (or replicas) claiming the
    same row with the same condition, exactly one gets True.
    """
    key = inspect(model).primary_key
    statement = update(model).where(*where).values(**values).returning(*key)
    return session.execute(statement).first() is not None
