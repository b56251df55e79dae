"""What every benchmark in bench/ shares: the corpus, the databases, timing, the report.

A benchmark is one short module, run from the repository root:

    parser = harness.parser(__doc__, size=1_000_000, rounds=100)
    args = parser.parse_args()
    with harness.Bench("name", args) as bench:
        with harness.opened(bench.records_database(args.size)) as db:
            series = harness.Series()
            for _ in range(args.rounds):
                series.add(harness.clock(lambda: work(db))[0])
        bench.report.add("work p95", harness.ms(series.p(95)), target="<= 100 ms",
                         ok=series.p(95) <= 0.1)

The article files and the generated records both come from
../shared/corpus/make_articles.py, the one thing outside the repository the
benchmarks need (the tests never import this module). Everything lives in one
work dir, /dev/shm/newsbot-bench when tmpfs has room, else bench/.data/: the
article trees and the SQLite record databases stay there to be reused by the next
run and by the other benchmarks (delete the folder to free the RAM). With
--database-url or NEWSBOT_BENCH_DATABASE_URL set to PostgreSQL, each benchmark
works in its own schema, newsbot_bench_<name>, dropped first and at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import multiprocessing
import os
import platform
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from storage.db import Database, open_database
from storage.models import Article
from storage.parse import topic_key, validate_fields
from storage.search import topic_counts
from storage.sync import insert_records
from storage.types import ArticleRecord

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
DATABASE_ENV = "NEWSBOT_BENCH_DATABASE_URL"
# The generated records' "now": the end of the digest window for 2026-11-26 at
# the default NEWSBOT_DIGEST_TIME (09:00 UTC), so "today" has ~10% of them.
RECORDS_NOW = datetime.fromisoformat("2026-11-26T09:00:00+00:00")
RECORDS_DAYS = 90
CHUNK = 10_000  # records per generated chunk; chunk k is the same whatever the size
HOT = 50
RELATED_LINK_P = 0.25
# Bytes of work dir per article (file plus its share of a database with indexes and
# FTS), used only to decide whether /dev/shm has room.
BYTES_PER_ARTICLE = 8_000


# --- the command line ------------------------------------------------------------------


def parser(
    doc: str, *, size: int, rounds: int, rounds_help: str = "", baseline_size: int | None = None
) -> argparse.ArgumentParser:
    """The flags every benchmark takes; a script adds its own before parse_args().

    `baseline_size` adds --baseline-size, for a measure compared with itself on a
    smaller database in the same run.
    """
    p = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--size", type=int, default=size, help="articles (default %(default)s)")
    if baseline_size is not None:
        p.add_argument(
            "--baseline-size",
            type=int,
            default=baseline_size,
            help="articles for the baseline (default %(default)s)",
        )
    p.add_argument(
        "--rounds",
        type=int,
        default=rounds,
        help=(rounds_help or "timed repetitions") + " (default %(default)s)",
    )
    p.add_argument("--seed", type=int, default=1, help="corpus seed (default 1)")
    p.add_argument(
        "--database-url",
        default=os.environ.get(DATABASE_ENV) or None,
        help=f"PostgreSQL to use instead of SQLite files (default ${DATABASE_ENV})",
    )
    p.add_argument("--workdir", type=Path, help="default /dev/shm/newsbot-bench or bench/.data")
    p.add_argument("--fresh", action="store_true", help="rebuild the reused record databases")
    p.add_argument("--keep", action="store_true", help="keep this run's databases afterwards")
    p.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    return p


# --- timing ------------------------------------------------------------------------------


def clock(fn: Callable[[], T]) -> tuple[float, T]:
    """(wall seconds, result) of one call."""
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


@dataclass
class Series:
    """Seconds of one repeated measurement.

    `best` is for whole runs (as timeit: a neighbour on this shared machine only
    ever adds time); percentiles are for latencies, where the tail is the point.
    """

    seconds: list[float] = field(default_factory=list)

    def add(self, seconds: float) -> None:
        self.seconds.append(seconds)

    @property
    def best(self) -> float:
        return min(self.seconds)

    def p(self, q: float) -> float:
        """Nearest-rank percentile, in seconds."""
        ordered = sorted(self.seconds)
        return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]

    def summary(self) -> dict[str, float]:
        """For --json: count, best, p50, p95, p99 and max, in milliseconds."""
        if not self.seconds:
            return {"n": 0}
        points = {"best": self.best, "p50": self.p(50), "p95": self.p(95), "p99": self.p(99)}
        points["max"] = max(self.seconds)
        return {"n": len(self.seconds)} | {k: round(v * 1000, 2) for k, v in points.items()}


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def short(n: int) -> str:
    """100000 -> 100k, 1000000 -> 1M."""
    if n >= 1_000_000:
        return f"{n / 1e6:g}M"
    return f"{n / 1000:g}k" if n >= 1000 else str(n)


# --- the report ---------------------------------------------------------------------------


@dataclass
class Row:
    measure: str
    value: str
    baseline: str = "-"  # what the value is compared with, measured in the same run
    target: str = "-"
    result: str = "-"  # PASS / MISS / -


@dataclass
class Report:
    """One table per run: measure, value, baseline, target, result; plus raw data for --json."""

    name: str
    rows: list[Row] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def add(
        self,
        measure: str,
        value: str,
        *,
        baseline: str = "-",
        target: str = "-",
        ok: bool | None = None,
    ) -> None:
        result = "-" if ok is None else "PASS" if ok else "MISS"
        self.rows.append(Row(measure, value, baseline, target, result))

    def table(self) -> str:
        headers = ("measure", "value", "baseline (same run)", "target", "result")
        cells = [
            headers,
            *((r.measure, r.value, r.baseline, r.target, r.result) for r in self.rows),
        ]
        widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

        def line(row: Sequence[str]) -> str:
            return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

        rule = "| " + " | ".join("-" * w for w in widths) + " |"
        return "\n".join([line(headers), rule, *map(line, cells[1:])])


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- one run -------------------------------------------------------------------------------


class Bench:
    """One benchmark run: its work dir, its databases, the load as each step began, the report.

    Used as a context manager: on the way out it drops the databases it made (unless
    --keep) and prints the report, flagged if storage/ or bot/ changed meanwhile.
    """

    def __init__(self, name: str, args: argparse.Namespace) -> None:
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise ValueError(f"benchmark name {name!r} must be a lower-case identifier")
        self.name, self.args = name, args
        url = args.database_url
        if url and make_url(url).get_backend_name() != "postgresql":
            raise SystemExit(f"--database-url / ${DATABASE_ENV}: expected PostgreSQL, got {url}")
        self.postgres: str | None = url
        self.workdir = (args.workdir or default_workdir(args.size * BYTES_PER_ARTICLE)).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.report = Report(name)
        self.load: dict[str, float] = {}
        self.machine = machine_info(url)
        self._made: set[str] = set()  # URLs of databases to drop at the end
        self._rebuilt: set[int] = set()
        log(f"{name}: work dir {self.workdir}, commit {self.machine['commit']}")

    def __enter__(self) -> Bench:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self.args.keep:
            for url in sorted(self._made):
                drop_database(url)
        if kind is None:
            if (now := code_version()) != self.machine["commit"]:
                log(f"WARNING: the code changed during the run: {self.machine['commit']} -> {now}")
                self.machine["commit"] += f" (changed during the run to {now})"
            self.print()

    def step(self, name: str) -> None:
        """Log a step and note the 1-minute load average as it begins."""
        self.load[name] = round(os.getloadavg()[0], 2)
        log(f"{name} (load {self.load[name]:g})")

    # --- the corpus

    def articles(self, size: int | None = None) -> Path:
        """The article files of make_articles.py for (size, --seed), generated unless there."""
        return article_tree(self.workdir, size or self.args.size, self.args.seed)

    # --- databases

    def database(self) -> str:
        """The URL of an empty database: a fresh SQLite file or PostgreSQL schema."""
        if self.postgres:
            url = postgres_schema(self.postgres, f"newsbot_bench_{self.name}")
        else:
            url = f"sqlite:///{self.workdir / f'{self.name}.db'}"
        drop_database(url, recreate=True)
        self._made.add(url)
        return url

    def records_database(self, size: int) -> str:
        """The URL of a database holding `size` generated articles (no files).

        SQLite: records-n<size>-s<seed>.db in the work dir, reused across runs and
        benchmarks, started as a copy of the largest smaller one. PostgreSQL: this
        benchmark's schema, grown in place (so call it with growing sizes).
        """
        if size % CHUNK:
            raise SystemExit(f"--size: record databases come in multiples of {CHUNK}")
        if self.postgres:
            url = postgres_schema(self.postgres, f"newsbot_bench_{self.name}")
            if url not in self._made:
                drop_database(url, recreate=True)
                self._made.add(url)
            with opened(url) as db:
                fill(db, size, self.args.seed)
            return url
        fresh = self.args.fresh and size not in self._rebuilt
        self._rebuilt.add(size)
        return sqlite_records(self.workdir, size, self.args.seed, fresh=fresh)

    # --- the report

    def print(self) -> None:
        out = sys.stderr if self.args.json else sys.stdout
        machine = ", ".join(f"{k} {v}" for k, v in self.machine.items())
        load = ", ".join(f"{k} {v:g}" for k, v in self.load.items())
        print(f"\n{command_line()}\n{machine}\nload average as each step began: {load}", file=out)
        print(f"work dir {self.workdir}\n\n{self.report.table()}", file=out)
        if self.args.json:
            doc = {
                "bench": self.name,
                "command": command_line(),
                "machine": self.machine,
                "load_at_start": self.load,
                "rows": [r.__dict__ for r in self.report.rows],
                "data": self.report.data,
            }
            print(json.dumps(doc, indent=2, default=str))


# --- the machine ---------------------------------------------------------------------------


def machine_info(postgres: str | None) -> dict[str, str]:
    cpu = "unknown"
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    info = {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "ram": f"{_meminfo('MemTotal') / 1024**3:.1f} GiB",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }
    if postgres:
        engine = create_engine(make_url(postgres).set(drivername="postgresql+psycopg"))
        with engine.connect() as conn:
            info["postgresql"] = conn.execute(text("SHOW server_version")).scalar_one()
        engine.dispose()
    info["commit"] = code_version()
    return info


def code_version() -> str:
    """The commit under test, flagged when storage/ or bot/ differ from it."""
    git = ["git", "-C", str(REPO)]
    try:
        commit = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        changed = subprocess.run(
            [*git, "status", "--porcelain", "--", "storage", "bot"], capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{commit or 'unknown'}{' + uncommitted changes in storage/ or bot/' if changed else ''}"


def command_line() -> str:
    python = Path(sys.executable)
    if python.is_relative_to(REPO):
        python = python.relative_to(REPO)
    module = Path(sys.argv[0]).resolve().relative_to(REPO).with_suffix("")
    return " ".join([str(python), "-m", ".".join(module.parts), *sys.argv[1:]])


def _meminfo(key: str) -> int:
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith(f"{key}:"):
                return int(line.split()[1]) * 1024
    return 0


def default_workdir(need_bytes: int) -> Path:
    """/dev/shm/newsbot-bench when tmpfs and RAM have twice the room needed, else bench/.data."""
    shm = Path("/dev/shm")
    if (
        shm.is_dir()
        and os.access(shm, os.W_OK)
        and shutil.disk_usage(shm).free > 2 * need_bytes
        and _meminfo("MemAvailable") > 2 * need_bytes
    ):
        return shm / "newsbot-bench"
    return REPO / "bench" / ".data"


# --- article files ---------------------------------------------------------------------------


def list_articles(root: Path) -> list[Path]:
    return sorted(root.rglob("*.md"))


def article_tree(workdir: Path, size: int, seed: int) -> Path:
    """articles-n<size>-s<seed> in the work dir, from make_articles.py unless a clean one is there.

    A benchmark that edits files marks the tree unclean first (`edited_tree`), so one
    that died half-way is generated again rather than reused.
    """
    root = workdir / f"articles-n{size}-s{seed}"
    marker = root.with_suffix(".json")
    if marker.exists() and root.is_dir():
        meta = json.loads(marker.read_text())
        if meta.get("clean") and len(list_articles(root)) == size:
            log(f"reusing {root}")
            return root
    script = CORPUS / "make_articles.py"
    if not script.exists():
        raise SystemExit(f"{script} is missing: the benchmarks generate their articles with it")
    log(f"generating {size} articles into {root}")
    shutil.rmtree(root, ignore_errors=True)
    cmd = [sys.executable, str(script), str(root), "--count", str(size), "--seed", str(seed)]
    # make_articles reports on stdout; stdout is kept for the report or the JSON.
    seconds, _ = clock(lambda: subprocess.run(cmd, check=True, stdout=sys.stderr))
    found = len(list_articles(root))
    if found != size:
        raise SystemExit(f"make_articles wrote {found} files, expected {size}")
    marker.write_text(json.dumps({"size": size, "seed": seed, "seconds": seconds, "clean": True}))
    return root


_HEAT_LINE = re.compile(rb"^heat: (\d+)$", re.MULTILINE)


@contextmanager
def edited_tree(root: Path, files: Sequence[Path], how_many: int, seed: int) -> Iterator[None]:
    """`how_many` of the files get heat + 1 and a later mtime; put back on the way out."""
    originals: dict[Path, tuple[bytes, int]] = {}
    _set_clean(root, False)
    try:
        for path in random.Random(seed).sample(list(files), how_many):
            data, st = path.read_bytes(), path.stat()
            originals[path] = (data, st.st_mtime_ns)
            new = _HEAT_LINE.sub(lambda m: b"heat: %d" % (int(m.group(1)) + 1), data, count=1)
            if new == data:  # no heat line: append to the body instead, still a valid file
                new = data + b"\nEdited by the benchmark.\n"
            path.write_bytes(new)
            mtime = max(time.time_ns(), st.st_mtime_ns + 1_000_000_000)
            os.utime(path, ns=(mtime, mtime))
        yield
    finally:
        for path, (data, mtime_ns) in originals.items():
            path.write_bytes(data)
            os.utime(path, ns=(mtime_ns, mtime_ns))
        _set_clean(root, True)


def _set_clean(root: Path, clean: bool) -> None:
    marker = root.with_suffix(".json")
    marker.write_text(json.dumps(json.loads(marker.read_text()) | {"clean": clean}))


# --- the real CLI -------------------------------------------------------------------------------

_SUMMARY = re.compile(r"(\d+) added, (\d+) updated, (\d+) unchanged, (\d+) missing, (\d+) failed")


def newsbot_index(root: Path, url: str, **expected: int) -> float:
    """Seconds of `python -m bot index root`, run as the operator would.

    Warns (does not stop) when the CLI's counts are not the `expected` ones.
    """
    cmd = [sys.executable, "-m", "bot", "index", str(root)]
    env = os.environ | {"NEWSBOT_DATABASE_URL": url}
    seconds, done = clock(
        lambda: subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    summary = (done.stdout.strip().splitlines() or [""])[-1]
    match = _SUMMARY.search(summary)
    names = ("added", "updated", "unchanged", "missing", "failed")
    got = dict(zip(names, map(int, match.groups()), strict=True)) if match else {}
    if any(got.get(k) != v for k, v in expected.items()):
        log(f"WARNING: index reported {summary!r}; expected {expected}")
    log(f"  {seconds:.2f} s: {summary}")
    return seconds


# --- databases --------------------------------------------------------------------------------


def postgres_schema(url: str, schema: str) -> str:
    """`url` with every connection working in `schema` (search_path)."""
    scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return scoped.render_as_string(hide_password=False)


def drop_database(url: str, *, recreate: bool = False) -> None:
    """Delete the SQLite file, or drop (and maybe re-create) the PostgreSQL schema."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)
        return
    schema = parsed.query["options"].removeprefix("-csearch_path=")
    engine = create_engine(
        parsed.set(drivername="postgresql+psycopg").difference_update_query(["options"])
    )
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        if recreate:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()


def shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@contextmanager
def opened(url: str) -> Iterator[Database]:
    """`with opened(url) as db:` the database, migrated, disposed of on the way out."""
    db = open_database(url)
    try:
        yield db
    finally:
        db.dispose()


def article_count(db: Database) -> int:
    with db.Session() as session:
        return int(session.scalar(select(func.count()).select_from(Article)) or 0)


def sqlite_records(workdir: Path, size: int, seed: int, *, fresh: bool) -> str:
    path = workdir / f"records-n{size}-s{seed}.db"
    marker = path.with_suffix(".json")
    if not fresh and marker.exists():
        meta = json.loads(marker.read_text())
        if meta.get("complete") and meta.get("now") == RECORDS_NOW.isoformat():
            log(f"reusing {path}")
            return f"sqlite:///{path}"
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), marker):
        stale.unlink(missing_ok=True)
    smaller = [
        (meta["size"], p.with_suffix(".db"))
        for p in workdir.glob(f"records-n*-s{seed}.json")
        if (meta := json.loads(p.read_text())).get("complete")
        and meta.get("now") == RECORDS_NOW.isoformat()
        and meta["size"] < size
    ]
    if smaller:
        _, start = max(smaller)
        log(f"copying {start.name} to {path.name}")
        shutil.copyfile(start, path)
    url = f"sqlite:///{path}"
    with opened(url) as db:
        fill(db, size, seed)
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # one file to copy
    marker.write_text(json.dumps({"size": size, "now": RECORDS_NOW.isoformat(), "complete": True}))
    return url


def fill(db: Database, size: int, seed: int) -> None:
    """Insert generated records with `storage.sync.insert_records` up to `size` articles."""
    have = article_count(db)
    if have % CHUNK:
        raise SystemExit(f"the database holds {have} articles, not a multiple of {CHUNK}")
    if size <= have:
        return
    log(f"inserting {size - have:,} records ({have:,} -> {size:,})")
    seconds, inserted = clock(
        lambda: insert_records(db.WriteSession, generated(have // CHUNK, size // CHUNK, seed))
    )
    log(f"  {inserted:,} rows in {seconds:.0f} s = {inserted / seconds:,.0f} rows/s")


def make_chunk(job: tuple[int, int]) -> list[ArticleRecord]:
    """Chunk k of the generated records, from its own seeded stream (in a worker process).

    make_articles.py's ArticleMaker writes the frontmatter, the indexer's own
    validation makes the record (no YAML round trip). About a quarter of the
    articles that list related items point one of them at a hot article of the same
    digest window, so the digest's related folding has work to do.
    """
    if str(CORPUS) not in sys.path:
        sys.path.insert(0, str(CORPUS))
    import make_articles  # ../shared/corpus

    k, seed = job
    maker = make_articles.ArticleMaker(
        random.Random(f"digest:{seed}:{k}"), RECORDS_NOW, RECORDS_DAYS
    )
    related_ids = iter(range(50_000_000 + k * CHUNK * 4, 50_000_000 + (k + 1) * CHUNK * 4))
    rng = random.Random(f"links:{seed}:{k}")
    hot_by_window: dict[date, list[tuple[str, str, dict[str, Any]]]] = {}
    records = []
    for j in range(CHUNK):
        art_id = 1_000_000 + k * CHUNK + j
        fm, _body, when, slug = maker.article(art_id, related_ids.__next__)
        # The digest window for local date D runs from D-1 09:00 to D 09:00 (UTC).
        hot = hot_by_window.setdefault((when + timedelta(hours=15)).date(), [])
        if fm.get("related") and hot and rng.random() < RELATED_LINK_P:
            title, url, provider = rng.choice(hot)
            fm["related"][0] = {
                **fm["related"][0],
                "title": title,
                "webUrl": url,
                "provider": provider,
            }
        if fm["heat"] >= HOT:
            hot.append((fm["title"], fm["webUrl"], fm["provider"]))
            del hot[:-20]
        record = validate_fields(fm)
        record.source_path = f"{when:%Y/%m}/{slug}-{art_id}.md"
        record.size, record.mtime_ns = 2300, int(when.timestamp()) * 1_000_000_000
        record.content_hash = hashlib.sha256(record.web_url.encode()).hexdigest()
        records.append(record)
    return records


def generated(first: int, last: int, seed: int) -> Iterator[ArticleRecord]:
    """Records of chunks [first, last), made in one worker process at most 3 chunks ahead."""
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        jobs = iter(range(first, last))
        ahead: deque[Future[list[ArticleRecord]]] = deque(
            pool.submit(make_chunk, (k, seed)) for k in itertools.islice(jobs, 3)
        )
        while ahead:
            records = ahead.popleft().result()
            if (k := next(jobs, None)) is not None:
                ahead.append(pool.submit(make_chunk, (k, seed)))
            yield from records


# --- search queries --------------------------------------------------------------------------

# Words nobody searches for: PostgreSQL's English stop list (plainto_tsquery drops
# them, so on PostgreSQL they would find nothing) plus a few more.
_STOPWORDS = """i me my myself we our ours ourselves you your yours yourself yourselves he him
    his himself she her hers herself it its itself they them their theirs themselves what which
    who whom this that these those am is are was were be been being have has had having do does
    did doing a an the and but if or because as until while of at by for with about against
    between into through during before after above below to from up down in out on off over
    under again further then once here there when where why how all any both each few more most
    other some such no nor not only own same so than too very s t can will just don should now
    could would may also new one two"""
STOPWORDS = frozenset(_STOPWORDS.split())


@dataclass(frozen=True)
class Queries:
    topic: list[str]
    text: list[tuple[str, str]]  # (kind, query): kind is common / rare / pair


def draw_queries(db: Database, n: int, seed: int, sample_docs: int = 5000) -> Queries:
    """n topic names and n title/excerpt queries from the database, with a fixed seed.

    Topics are drawn uniformly from all topics, so rare ones come up as often as
    "AI". Text queries are a third common words (the 50 most frequent in a sample
    of articles), a third rare words (the 50 least frequent) and a third two
    adjacent title words; none is a topic name, so search runs them as full text.
    """
    rng = random.Random(seed)
    with db.Session() as session:
        names = sorted(tc.name for tc in topic_counts(session))
        ids = session.scalars(select(Article.id).order_by(Article.id)).all()
        chosen = sorted(rng.sample(ids, min(sample_docs, len(ids))))
        docs: list[tuple[str, str]] = []
        for start in range(0, len(chosen), 500):
            chunk = chosen[start : start + 500]
            docs += session.execute(
                select(Article.title, Article.excerpt)
                .where(Article.id.in_(chunk))
                .order_by(Article.id)
            ).all()
    keys = {topic_key(name) for name in names}

    def usable(words: Sequence[str]) -> bool:
        return topic_key(" ".join(words)) not in keys and all(
            w.isalpha() and len(w) >= 3 and w not in STOPWORDS for w in words
        )

    freq = Counter(w for t, e in docs for w in re.findall(r"\w+", f"{t} {e}".lower()))
    ranked = sorted((w for w in freq if usable([w])), key=lambda w: (-freq[w], w))
    common, rare = ranked[:50], ranked[-50:]
    pairs = sorted(
        {
            f"{a} {b}"
            for title, _ in docs
            for a, b in itertools.pairwise(re.findall(r"\w+", title.lower()))
            if usable([a, b])
        }
    )
    text_queries = [("common", rng.choice(common)) for _ in range(n // 3)]
    text_queries += [("rare", rng.choice(rare)) for _ in range(n // 3)]
    text_queries += [("pair", rng.choice(pairs)) for _ in range(n - len(text_queries))]
    rng.shuffle(text_queries)
    return Queries([rng.choice(names) for _ in range(n)], text_queries)
