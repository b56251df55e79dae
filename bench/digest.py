"""Daily digest build (`bot.digest.build`: selection + rendering) at 1M articles, with a baseline.

    .venv/bin/python bench/digest.py                      # 100k baseline, then 1M; 100 builds each
    .venv/bin/python bench/digest.py --analyze            # + the 1M runs again after ANALYZE
    .venv/bin/python bench/digest.py --count 200000 --baseline-count 20000 --runs 30   # quick
    .venv/bin/python bench/digest.py --database-url postgresql://postgres@127.0.0.1/test
    .venv/bin/python bench/digest.py --json               # JSON summary on stdout

The articles come from shared/corpus/make_articles.py's own generator (`ArticleMaker`,
imported, no files written), validated by the indexer's parser and stored with
`storage.sync.insert_records`: heat median ~20 and ~10% >= 50, 1-4 Zipf topics,
300 providers, dates over 90 days with ~10% in the last 24 h. The last 24 h end at
--now (default 2026-11-26 09:00 UTC = the default digest time), so "today"'s digest
window holds ~10% of all articles. About a quarter of the articles that list related
items get one pointing at a hot article of the same day, so related folding runs.
Generation runs in a worker process while the main process inserts.

Steps:

1. a database of `--baseline-count` articles, plus 30 days of posted digests for three
   channels (claimed and marked as `post_digest` does), so "not in an earlier digest"
   has rows to check; then `--runs` timed `build(settings, db, channel, local_date)`
   calls, half for today and half for earlier dates, over four channels;
2. the same database grown to `--count` articles, and the same runs again.

With `--analyze` (SQLite), the 1M runs are repeated after a full ANALYZE, a what-if for
the suggested fix; the statistics the app had are put back afterwards.

For each run the pieces are timed too: `plan_digest` alone (the selection), the
rendering alone, and the bare candidate SQL (the first `SELECT ... ORDER BY heat`
the selection sends, re-run on the raw DBAPI connection).

SQLite databases live in the work dir as digest-n<count>-s<seed>.db and are reused
when complete (`--fresh` rebuilds); the 1M one starts as a copy of the baseline one.
With a PostgreSQL `--database-url`, a dedicated schema (`--pg-schema`) is dropped,
re-created and grown in place, and nothing is reused. Settings are the defaults:
NEWSBOT_DIGEST_TIME 09:00, NEWSBOT_TIMEZONE UTC, size 8, min heat 50.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import multiprocessing
import pstats
import random
import shutil
import sys
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # `python bench/digest.py` puts bench/ first, not the repo
CORPUS = REPO.parent / "shared" / "corpus"
sys.path.insert(0, str(CORPUS))

from sqlalchemy import event, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.common import (  # noqa: E402
    Stats,
    command_line,
    load_now,
    log,
    machine_info,
    pick_workdir,
    render_table,
    stats,
    verdict,
)
from bench.index_search import prepare_database, shown_url  # noqa: E402
from bot import render  # noqa: E402
from bot.digest import build, due_at, select_articles  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage.db import Database, open_database  # noqa: E402
from storage.digest import claim_digest, mark_posted  # noqa: E402
from storage.models import Article  # noqa: E402
from storage.parse import ArticleRecord, _validate  # noqa: E402
from storage.sync import insert_records  # noqa: E402

TARGET_P95_MS = 100.0
CHUNK = 10_000  # records per generated chunk; chunk k is the same whatever --count is
HISTORY_DAYS = 30
HISTORY_CHANNELS = ("CDIGEST01", "CDIGEST02", "CDIGEST03")
CHANNELS = (*HISTORY_CHANNELS, "CDIGEST04")  # the last one never had a digest
RELATED_LINK_P = 0.25
HOT = 50


# --- the articles ---------------------------------------------------------------------


def make_chunk(job: tuple[int, int, str, int]) -> list[ArticleRecord]:
    """Chunk k: CHUNK records from its own seeded stream (worker process)."""
    import make_articles  # shared/corpus, on sys.path in the worker too

    k, seed, now_iso, days = job
    now = datetime.fromisoformat(now_iso)
    maker = make_articles.ArticleMaker(random.Random(f"digest:{seed}:{k}"), now, days)
    related_ids = iter(range(50_000_000 + k * CHUNK * 4, 50_000_000 + (k + 1) * CHUNK * 4))
    rng = random.Random(f"links:{seed}:{k}")
    hot_by_window: dict[date, list[tuple[str, str, dict[str, Any]]]] = {}
    records = []
    for j in range(CHUNK):
        art_id = 1_000_000 + k * CHUNK + j
        fm, _body, when, slug = maker.article(art_id, related_ids.__next__)
        # The digest window for local date D runs from D-1 09:00 to D 09:00 (UTC).
        window = (when + timedelta(hours=15)).date()
        hot = hot_by_window.setdefault(window, [])
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
        # The indexer's own validation of the frontmatter, without the YAML round trip.
        record = _validate(fm)
        record.source_path = f"{when:%Y/%m}/{slug}-{art_id}.md"
        record.size, record.mtime_ns = 2300, int(when.timestamp()) * 1_000_000_000
        record.content_hash = hashlib.sha256(record.web_url.encode()).hexdigest()
        records.append(record)
    return records


def generated(
    first: int, last: int, seed: int, now: datetime, days: int
) -> Iterator[ArticleRecord]:
    """Records of chunks [first, last), made in a worker process, at most 3 chunks ahead."""
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        ahead: deque[Future[list[ArticleRecord]]] = deque()
        jobs = iter(range(first, last))
        for k in jobs:
            ahead.append(pool.submit(make_chunk, (k, seed, now.isoformat(), days)))
            if len(ahead) == 3:
                break
        while ahead:
            records = ahead.popleft().result()
            nxt = next(jobs, None)
            if nxt is not None:
                ahead.append(pool.submit(make_chunk, (nxt, seed, now.isoformat(), days)))
            yield from records


def article_count(db: Database) -> int:
    with db.Session() as session:
        return int(session.scalar(select(func.count()).select_from(Article)) or 0)


def grow(db: Database, target: int, seed: int, now: datetime, days: int) -> tuple[int, float]:
    """Insert chunks until the database holds `target` articles: (inserted, seconds)."""
    have = article_count(db)
    if have % CHUNK or target % CHUNK:
        raise SystemExit(f"article counts must be multiples of {CHUNK} (have {have})")
    if target <= have:
        return 0, 0.0
    log(f"inserting {target - have:,} articles ({have:,} -> {target:,})")
    start = time.perf_counter()
    inserted = insert_records(
        db.WriteSession, generated(have // CHUNK, target // CHUNK, seed, now, days)
    )
    seconds = time.perf_counter() - start
    log(f"  {inserted:,} rows in {seconds:.0f} s = {inserted / seconds:,.0f} rows/s")
    return inserted, seconds


def seed_history(db: Database, settings: Settings, anchor: date) -> int:
    """30 days of posted digests for three channels, as post_digest records them."""
    runs = 0
    for back in range(HISTORY_DAYS, 0, -1):
        day = anchor - timedelta(days=back)
        due = due_at(settings, day)
        for channel in HISTORY_CHANNELS:
            with db.WriteSession.begin() as session:
                plan = select_articles(settings, session, channel=channel, local_date=day)
                run = claim_digest(session, channel=channel, local_date=day, late=False)
                if run is None:
                    continue
                ts = f"{int(due.timestamp())}.{runs:06d}"
                mark_posted(
                    session, run.id, message_ts=ts, article_ids=[a.id for a in plan.articles]
                )
                runs += 1
    return runs


# --- measuring -------------------------------------------------------------------------


@dataclass
class Scale:
    articles: int
    variant: str  # "" = the database as the app leaves it; "ANALYZE" = with planner statistics
    candidates_today: int  # heat >= min heat in today's window
    candidates_other_median: int
    inserted: int
    insert_s: float
    db_mb: float
    build: Stats
    build_p95_by_kind_ms: dict[str, float]
    selection: Stats  # plan_digest alone
    rendering: Stats  # render.digest_messages alone
    candidate_sql: Stats  # the first candidate SELECT, raw DBAPI, all rows fetched
    items_median: int
    related_folded: int  # "+N related" notes over all runs
    query_plan: list[str]
    load_at_start: float
    profile_top: list[str] = field(default_factory=list)


@dataclass
class Results:
    machine: dict[str, str]
    command: str
    workdir: str
    database: str
    now: str
    runs: int
    scales: list[Scale] = field(default_factory=list)


class CandidateSql:
    """Catches the candidate SELECT plan_digest sends, to re-run it bare."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.caught: list[tuple[str, Any]] = []
        self.on = False
        event.listen(db.engine, "before_cursor_execute", self._before)

    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if self.on and "FROM articles" in statement and "ORDER BY articles.heat DESC" in statement:
            self.caught.append((statement, parameters))

    def first(self) -> tuple[str, Any]:
        statement = self.caught[0]
        self.caught.clear()
        return statement

    def time_bare(self, statement: str, parameters: Any) -> float:
        raw = self.db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            start = time.perf_counter()
            cursor.execute(statement, parameters)
            cursor.fetchall()
            seconds = time.perf_counter() - start
            cursor.close()
            raw.rollback()
        finally:
            raw.close()
        return seconds

    def plan(self, statement: str, parameters: Any) -> list[str]:
        raw = self.db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            if self.db.dialect == "sqlite":
                cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
                lines = [str(row[-1]) for row in cursor.fetchall()]
            else:
                cursor.execute("EXPLAIN ANALYZE " + statement, parameters)
                lines = [str(row[0]) for row in cursor.fetchall()]
            cursor.close()
            raw.rollback()
        finally:
            raw.close()
        return lines


def run_plan(anchor: date, runs: int, seed: int) -> list[tuple[str, date, str]]:
    """(kind, local_date, channel): half today, half one of the 89 earlier days."""
    rng = random.Random(seed)
    plan = []
    for i in range(runs):
        channel = CHANNELS[i % len(CHANNELS)]
        if i % 2 == 0:
            plan.append(("today", anchor, channel))
        else:
            plan.append(("earlier", anchor - timedelta(days=rng.randrange(1, 90)), channel))
    return plan


def candidates(db: Database, settings: Settings, day: date) -> int:
    due = due_at(settings, day)
    with db.Session() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Article)
                .where(
                    Article.published_at >= due - timedelta(hours=24),
                    Article.published_at < due,
                    Article.heat >= settings.digest_min_heat,
                )
            )
            or 0
        )


def measure(
    db: Database,
    settings: Settings,
    anchor: date,
    runs: int,
    seed: int,
    *,
    profile: bool,
) -> dict[str, Any]:
    """Warm up, then time `runs` builds and, for each, selection / rendering / bare SQL."""
    sql = CandidateSql(db)
    schedule = run_plan(anchor, runs, seed)
    for _kind, day, channel in run_plan(anchor, 6, seed + 1):  # warm-up, untimed
        build(settings, db, channel=channel, local_date=day)
    builds: list[float] = []
    by_kind: dict[str, list[float]] = {}
    selection: list[float] = []
    rendering: list[float] = []
    bare: list[float] = []
    items: list[int] = []
    folded = 0
    query_plan: list[str] = []
    load = load_now()
    for kind, day, channel in schedule:
        start = time.perf_counter()
        plan, _messages = build(settings, db, channel=channel, local_date=day)
        seconds = time.perf_counter() - start
        builds.append(seconds)
        by_kind.setdefault(kind, []).append(seconds)
        items.append(len(plan.articles))
        folded += sum(plan.related_counts.values())

        sql.on = True
        start = time.perf_counter()
        with db.Session() as session:
            plan = select_articles(settings, session, channel=channel, local_date=day)
        selection.append(time.perf_counter() - start)
        sql.on = False
        statement, parameters = sql.first()
        bare.append(sql.time_bare(statement, parameters))
        if not query_plan and kind == "today":
            query_plan = sql.plan(statement, parameters)

        start = time.perf_counter()
        render.digest_messages(
            local_date=day,
            articles=plan.articles,
            related_counts=plan.related_counts,
            late=False,
            tz=settings.timezone,
        )
        rendering.append(time.perf_counter() - start)
    top: list[str] = []
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _kind, day, channel in schedule[:10]:
            build(settings, db, channel=channel, local_date=day)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
        top = out.getvalue().splitlines()
    event.remove(db.engine, "before_cursor_execute", sql._before)
    return {
        "build": stats(builds),
        "build_p95_by_kind_ms": {k: stats(v).p95_ms for k, v in sorted(by_kind.items())},
        "selection": stats(selection),
        "rendering": stats(rendering),
        "candidate_sql": stats(bare),
        "items_median": sorted(items)[len(items) // 2],
        "related_folded": folded,
        "query_plan": query_plan,
        "load_at_start": load,
        "profile_top": top,
    }


def measure_scale(
    db: Database,
    settings: Settings,
    anchor: date,
    args: argparse.Namespace,
    inserted: int,
    insert_s: float,
    db_mb: float,
    variant: str = "",
) -> Scale:
    n = article_count(db)
    others = sorted(candidates(db, settings, anchor - timedelta(days=d)) for d in (3, 20, 45, 80))
    log(f"measuring {args.runs} builds at {n:,} articles" + (f" ({variant})" if variant else ""))
    m = measure(db, settings, anchor, args.runs, args.seed, profile=args.profile)
    scale = Scale(
        articles=n,
        variant=variant,
        candidates_today=candidates(db, settings, anchor),
        candidates_other_median=others[len(others) // 2],
        inserted=inserted,
        insert_s=round(insert_s, 1),
        db_mb=round(db_mb, 1),
        **m,
    )
    log(
        f"  build {scale.build}; selection p95 {scale.selection.p95_ms} ms, "
        f"rendering p95 {scale.rendering.p95_ms} ms, bare SQL p95 {scale.candidate_sql.p95_ms} ms"
    )
    return scale


# --- databases -------------------------------------------------------------------------


def with_statistics(
    db: Database, settings: Settings, anchor: date, args: argparse.Namespace, db_mb: float
) -> Scale:
    """What-if for the suggested fix: ANALYZE, measure again, then put the statistics back.

    The app itself only runs `PRAGMA optimize` after large changes (which, on a fresh
    database, leaves `articles` without statistics), so whatever sqlite_stat1 held before
    is restored afterwards: a reused database stays as the app would have it.
    """
    with db.engine.connect() as conn:
        had = conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'"
        ).first()
        saved = conn.exec_driver_sql("SELECT tbl, idx, stat FROM sqlite_stat1").all() if had else []
    log(f"ANALYZE (what-if: planner statistics; {len(saved)} sqlite_stat1 rows saved)")
    start = time.perf_counter()
    with db.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    log(f"  {time.perf_counter() - start:.1f} s")
    db.engine.dispose()  # new connections load the statistics
    try:
        return measure_scale(db, settings, anchor, args, 0, 0.0, db_mb, variant="ANALYZE")
    finally:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS sqlite_stat4")
            if had:
                conn.exec_driver_sql("DELETE FROM sqlite_stat1")
                for row in saved:
                    conn.exec_driver_sql("INSERT INTO sqlite_stat1 VALUES (?, ?, ?)", tuple(row))
            else:
                conn.exec_driver_sql("DROP TABLE IF EXISTS sqlite_stat1")
        db.engine.dispose()


def sqlite_file(url: str) -> Path:
    return Path(make_url(url).database or "")


def db_megabytes(db: Database) -> float:
    if db.dialect == "sqlite":
        path = sqlite_file(str(db.engine.url))
        return (
            sum(
                Path(f"{path}{s}").stat().st_size
                for s in ("", "-wal")
                if Path(f"{path}{s}").exists()
            )
            / 1e6
        )
    with db.engine.connect() as conn:
        return (
            float(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one())
            / 1e6
        )


def checkpoint(db: Database) -> None:
    if db.dialect == "sqlite":
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    else:
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))


def marker(path: Path) -> Path:
    return path.with_suffix(".json")


def sqlite_stage(
    workdir: Path,
    n: int,
    seed: int,
    now: datetime,
    days: int,
    previous: Path | None,
    fresh: bool,
) -> tuple[str, int, float]:
    """A complete SQLite database of n articles (reused when its marker says so)."""
    path = workdir / f"digest-n{n}-s{seed}.db"
    meta_path = marker(path)
    if not fresh and path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("complete") and meta.get("now") == now.isoformat():
            log(f"reusing {path} ({n:,} articles)")
            return f"sqlite:///{path}", meta["inserted"], meta["insert_s"]
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), meta_path):
        stale.unlink(missing_ok=True)
    if previous is not None:
        log(f"copying {previous.name} to {path.name}")
        shutil.copyfile(previous, path)
    url = f"sqlite:///{path}"
    db = open_database(url)
    try:
        inserted, seconds = grow(db, n, seed, now, days)
        if previous is None:
            log(f"posting {HISTORY_DAYS} days of digests for {len(HISTORY_CHANNELS)} channels")
            seed_history(db, settings_for(url), now.date())
        checkpoint(db)
    finally:
        db.dispose()
    meta_path.write_text(
        json.dumps(
            {
                "articles": n,
                "seed": seed,
                "now": now.isoformat(),
                "inserted": inserted,
                "insert_s": seconds,
                "complete": True,
            }
        )
    )
    return url, inserted, seconds


def settings_for(url: str) -> Settings:
    """The default settings (09:00 UTC, 8 items, heat >= 50) for this database."""
    return Settings.from_env({"NEWSBOT_DATABASE_URL": url})


# --- report ------------------------------------------------------------------------------


def short(n: int) -> str:
    return f"{n / 1e6:g}M" if n >= 1_000_000 else f"{n // 1000}k"


def table_rows(r: Results) -> list[tuple[str, str, str, str]]:
    """(measure, value, target, PASS/MISS/-); the target applies at the largest scale."""
    rows: list[tuple[str, str, str, str]] = []
    largest = max(s.articles for s in r.scales)
    for s in r.scales:
        at = f"@{short(s.articles)}" + (f" + {s.variant} (what-if)" if s.variant else "")
        graded = s.articles == largest

        def row(
            label: str, value: str, p95: float | None = None, at: str = at, graded: bool = graded
        ) -> tuple[str, str, str, str]:
            if p95 is None or not graded:
                return (f"{at}: {label}", value, "-", "-")
            ok = verdict(p95 <= TARGET_P95_MS)
            return (f"{at}: {label}", value, f"<= {TARGET_P95_MS:g} ms", ok)

        if s.inserted:
            rate = s.inserted / s.insert_s
            rows.append(
                row(
                    f"insert_records {s.inserted:,} rows",
                    f"{s.insert_s:.0f} s = {rate:,.0f} rows/s",
                )
            )
        if not s.variant:
            value = f"{s.candidates_today:,} / {s.candidates_other_median:,}"
            rows.append(row("candidates (heat >= 50) today / other day", value))
        rows.append(row("build p50", f"{s.build.p50_ms:.1f} ms"))
        rows.append(row(f"build p95 ({r.runs} runs)", f"{s.build.p95_ms:.1f} ms", s.build.p95_ms))
        for kind, p95 in s.build_p95_by_kind_ms.items():
            rows.append(row(f"build p95, {kind} only", f"{p95:.1f} ms", p95))
        rows += [
            row(
                "selection only (plan_digest) p50 / p95",
                f"{s.selection.p50_ms:.1f} / {s.selection.p95_ms:.1f} ms",
            ),
            row(
                "bare candidate SQL p50 / p95",
                f"{s.candidate_sql.p50_ms:.1f} / {s.candidate_sql.p95_ms:.1f} ms",
            ),
            row(
                "rendering only p50 / p95",
                f"{s.rendering.p50_ms:.1f} / {s.rendering.p95_ms:.1f} ms",
            ),
        ]
    return rows


def print_report(r: Results, *, as_json: bool) -> None:
    out = sys.stderr if as_json else sys.stdout
    machine = ", ".join(f"{k} {v}" for k, v in r.machine.items())
    print(f"\n{r.command}\n{machine}", file=out)
    print(f"work dir {r.workdir}, database {r.database}, corpus now {r.now}", file=out)
    for s in r.scales:
        print(
            f"@{short(s.articles)}{' + ' + s.variant if s.variant else ''}: "
            f"load {s.load_at_start:g}, db {s.db_mb:,.0f} MB, "
            f"{s.items_median} items (median), {s.related_folded} related folded; "
            f"candidate query plan (today): {' / '.join(s.query_plan)}",
            file=out,
        )
    print("", file=out)
    print(render_table(table_rows(r)), file=out)
    if any(s.profile_top for s in r.scales):
        print("\nprofile of 10 builds at the largest scale:", file=sys.stderr)
        print("\n".join(r.scales[-1].profile_top), file=sys.stderr)
    if as_json:
        print(json.dumps(asdict(r), indent=2))


# --- main ----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--count",
        type=int,
        default=1_000_000,
        help="articles for the measured run (default 1000000)",
    )
    parser.add_argument(
        "--baseline-count",
        type=int,
        default=100_000,
        help="articles for the baseline run (default 100000; 0 = none)",
    )
    parser.add_argument(
        "--runs", type=int, default=100, help="timed builds per scale (default 100)"
    )
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument(
        "--now",
        default="2026-11-26T09:00:00+00:00",
        help="corpus 'now' = end of today's digest window (default %(default)s)",
    )
    parser.add_argument("--days", type=int, default=90, help="dates spread over (default 90)")
    parser.add_argument("--database-url", help="default: SQLite files in the work dir")
    parser.add_argument(
        "--pg-schema",
        default="newsbot_bench_digest",
        help="PostgreSQL schema to drop, re-create and use (default %(default)s)",
    )
    parser.add_argument(
        "--workdir", type=Path, help="default /dev/shm/newsbot-bench-digest or bench/.data/..."
    )
    parser.add_argument("--fresh", action="store_true", help="rebuild SQLite databases")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile 10 builds at each scale (printed on stderr)",
    )
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="SQLite: also measure the largest scale after ANALYZE (the suggested fix), "
        "then put the app's own statistics back",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    args = parser.parse_args(argv)
    if args.count < CHUNK or args.count % CHUNK or args.baseline_count % CHUNK:
        parser.error(f"--count and --baseline-count must be multiples of {CHUNK}")
    if args.baseline_count >= args.count:
        parser.error("--baseline-count must be below --count")
    if args.runs < 2:
        parser.error("--runs must be >= 2")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    now = datetime.fromisoformat(args.now).astimezone(UTC)
    anchor = now.date()
    workdir = (args.workdir or pick_workdir("newsbot-bench-digest", args.count * 5_000)).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    log(f"work dir {workdir}")
    stages = [n for n in (args.baseline_count, args.count) if n]
    results = Results(
        machine=machine_info(args.database_url or "sqlite"),
        command=command_line("bench/digest.py"),
        workdir=str(workdir),
        database="",
        now=now.isoformat(),
        runs=args.runs,
    )
    if args.database_url is None or make_url(args.database_url).get_backend_name() == "sqlite":
        previous: Path | None = None
        for n in stages:
            url, inserted, seconds = sqlite_stage(
                workdir, n, args.seed, now, args.days, previous, args.fresh
            )
            previous = sqlite_file(url)
            db = open_database(url)
            try:
                results.database = shown_url(url)
                mb = db_megabytes(db)
                settings = settings_for(url)
                results.scales.append(
                    measure_scale(db, settings, anchor, args, inserted, seconds, mb)
                )
                if args.analyze and n == stages[-1]:
                    results.scales.append(with_statistics(db, settings, anchor, args, mb))
            finally:
                db.dispose()
    else:
        url = prepare_database(args.database_url, workdir, args.pg_schema)
        results.database = shown_url(url)
        db = open_database(url)
        try:
            for i, n in enumerate(stages):
                inserted, seconds = grow(db, n, args.seed, now, args.days)
                if i == 0:
                    seed_history(db, settings_for(url), anchor)
                checkpoint(db)
                results.scales.append(
                    measure_scale(
                        db, settings_for(url), anchor, args, inserted, seconds, db_megabytes(db)
                    )
                )
        finally:
            db.dispose()
    print_report(results, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
