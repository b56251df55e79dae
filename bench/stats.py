"""Desk insights: `desk_stats` for 30 days over 1M articles and 100k review decisions, p95
under 200 ms on SQLite and PostgreSQL; the weekly chart drawn in under 1 s.

The generated records are indexed at once; here each article gets a first_indexed_at a
few minutes after its publishedDateTime (so the 90 days of records arrive over 90 days),
and --decisions review decisions are made on them: most articles decided once, some
published, unpublished and published again, a few abandoned, after a delay of minutes
to days, by eight reviewers. --searches /news searches are logged over the same days.

    .venv/bin/python -m bench.stats
    .venv/bin/python -m bench.stats --database-url postgresql://postgres@127.0.0.1/test
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, inspect, select, text, update
from sqlalchemy.engine import make_url

from bench import harness
from storage.db import Database
from storage.models import Article, ReviewDecision, SearchLog
from storage.stats import last_days

TARGET = 0.200
CHART_TARGET = 1.0
REVIEWERS = [(f"U0REV{n:04d}", f"Reviewer {n}") for n in range(8)]
WORDS = [
    "quantum",
    "grid",
    "subsidy",
    "vaccine",
    "drone",
    "tariff",
    "strike",
    "lithium",
    "merger",
    "flood",
]


def main() -> None:
    parser = harness.parser(__doc__, size=1_000_000, rounds=50)
    parser.add_argument("--decisions", type=int, default=100_000, help="(default %(default)s)")
    parser.add_argument("--searches", type=int, default=100_000, help="(default %(default)s)")
    parser.add_argument("--days", type=int, default=30, help="the period (default %(default)s)")
    parser.add_argument("--timezone", default="Europe/Berlin", help="(default %(default)s)")
    parser.add_argument(
        "--spread-days",
        type=int,
        help="articles arrive evenly over this many days (default: after their publication)",
    )
    args = parser.parse_args()
    tz = ZoneInfo(args.timezone)
    with harness.Bench("stats", args) as bench:
        bench.step(f"records: {harness.short(args.size)} articles")
        url = own_copy(bench, bench.records_database(args.size))
        with harness.opened(url) as db:
            bench.step(f"{harness.short(args.decisions)} decisions, {args.searches} searches")
            prepare(db, args.decisions, args.searches, args.seed, args.spread_days)
            measure(bench, db, args, tz)


def own_copy(bench: harness.Bench, records: str) -> str:
    """The records to change: a copy of the shared SQLite file; PostgreSQL's are ours already."""
    if bench.postgres:
        return records
    url = bench.database()
    target = make_url(url).database
    assert target is not None
    harness.drop_database(url)
    shutil.copyfile(str(make_url(records).database), target)
    return url


def prepare(
    db: Database, decisions: int, searches: int, seed: int, spread_days: int | None = None
) -> None:
    """Arrival times, decisions and searches, the same for a seed on either backend.

    Articles arrive a few minutes after their publishedDateTime, so the last 30 of
    the records' 90 days hold 40% of them; or, with `spread_days`, evenly over
    that many days before the records' "now", in id order.
    """
    if "search_log" not in inspect(db.engine).get_table_names():
        raise SystemExit(
            "the records database predates the insights tables of migration 0006: "
            "run again with --fresh"
        )
    rng = random.Random(f"stats:{seed}")
    now = harness.RECORDS_NOW.replace(tzinfo=None)
    with db.Session() as session:
        last_id = session.scalar(select(func.max(Article.id))) or 0
    if spread_days:  # the newest article at `now`, each older one a step before
        step = spread_days * 86400 / max(last_id, 1)
        base, amount, unit = ":now", f"(articles.id - {last_id}) * {step!r}", "second"
    else:
        base, amount, unit = "COALESCE(published_at, :now)", "articles.id % 180", "minute"
    if db.dialect == "postgresql":
        arrival = f"{base} + ({amount}) * interval '1 {unit}'"
    else:  # SQLAlchemy's SQLite format: %f has milliseconds, the column microseconds
        arrival = f"strftime('%Y-%m-%d %H:%M:%f', {base}, ({amount}) || ' {unit}s') || '000'"
    with db.WriteSession.begin() as session:
        # The insights trigger copies each article's new time into its topic links.
        session.execute(text(f"UPDATE articles SET first_indexed_at = {arrival}"), {"now": now})
        session.execute(ReviewDecision.__table__.delete())
        session.execute(SearchLog.__table__.delete())
    with db.Session() as session:
        arrived = dict(
            session.execute(select(Article.id, Article.first_indexed_at).order_by(Article.id)).all()
        )
    made = list(_decisions(rng, arrived, decisions))
    with db.WriteSession.begin() as session:
        for chunk in _chunks(made, 10_000):
            session.execute(insert(ReviewDecision), chunk)
        last: dict[int, str] = {}
        for row in made:
            if row["status"] == "done":
                last[row["article_id"]] = row["action"]
        for chunk in _chunks(sorted(last.items()), 10_000):
            session.execute(
                update(Article),
                [
                    {"id": i, "published": action == "publish", "rejected": action == "reject"}
                    for i, action in chunk
                ],
            )
        start = harness.RECORDS_NOW - timedelta(days=harness.RECORDS_DAYS)
        for chunk in _chunks(list(_searches(rng, start, searches)), 10_000):
            session.execute(insert(SearchLog), chunk)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # Rewriting every first_indexed_at left these indexes half empty; the app writes
        # it once, in order, as rows arrive, which keeps them dense.
        for index in ("ix_articles_first_indexed_at", "ix_article_topics_indexed"):
            conn.execute(text(f"REINDEX {'INDEX ' if db.dialect == 'postgresql' else ''}{index}"))
        tables = "articles, article_topics, review_decisions, search_log"
        if db.dialect == "postgresql":  # this schema's tables, not the whole database
            conn.execute(text(f"VACUUM ANALYZE {tables}"))
        else:
            conn.execute(text("ANALYZE"))


def _decisions(
    rng: random.Random, arrived: dict[int, datetime], count: int
) -> Iterator[dict[str, object]]:
    ids = rng.sample(sorted(arrived), min(count, len(arrived)))
    made = 0
    for article_id in ids:
        when = arrived[article_id]
        # Mostly a few hours, sometimes days: a lognormal delay with a 3-hour median.
        when += timedelta(minutes=min(rng.lognormvariate(5.2, 1.2), 20 * 24 * 60))
        roll = rng.random()
        steps = ["publish"] if roll < 0.4 else ["reject"]
        if roll > 0.95:
            steps = ["publish", "unpublish", "publish"]
        for step in steps:
            if made >= count:
                return
            if when > harness.RECORDS_NOW:
                break
            reviewer, name = rng.choice(REVIEWERS)
            status = "abandoned" if rng.random() < 0.01 else "done"
            yield {
                "article_id": article_id,
                "action": step,
                "reviewer_id": reviewer,
                "reviewer_name": name,
                "old_value": "false",
                "new_value": "true",
                "decided_at": when,
                "status": status,
            }
            made += 1
            when += timedelta(minutes=rng.randint(5, 600))


def _searches(rng: random.Random, start: datetime, count: int) -> Iterator[dict[str, object]]:
    seconds = int((harness.RECORDS_NOW - start).total_seconds())
    for _ in range(count):
        words = " ".join(rng.sample(WORDS, rng.randint(1, 2)))
        yield {
            "searched_at": start + timedelta(seconds=rng.randrange(seconds)),
            "query": words,
            "results": rng.choice([0, 0, 1, 2, 5, 40, 1000]),
        }


def _chunks(items: list, size: int) -> Iterator[list]:
    for n in range(0, len(items), size):
        yield items[n : n + size]


def measure(bench: harness.Bench, db: Database, args, tz: ZoneInfo) -> None:
    from bot.render.chart import draw_png
    from storage.stats import desk_stats

    today: date = harness.RECORDS_NOW.astimezone(tz).date()
    period = last_days(args.days, today)
    with db.Session() as session:
        stats = desk_stats(session, period, tz)
    bench.report.data["figures"] = {
        "articles_in": stats.articles_in,
        "published": stats.published,
        "rejected": stats.rejected,
        "unpublished": stats.unpublished,
        "decided": stats.decided,
        "waiting": stats.waiting,
    }
    harness.log(
        f"  {args.days} days: {stats.articles_in:,} in, {stats.published:,} published, "
        f"{stats.rejected:,} rejected, {stats.decided:,} first decided, {stats.waiting:,} waiting"
    )
    bench.step(f"desk_stats, {args.days} days, {args.rounds} rounds")
    series = harness.Series()
    for _ in range(args.rounds):
        with db.Session() as session:
            series.add(harness.clock(lambda s=session: desk_stats(s, period, tz))[0])
    bench.report.data[f"stats_{args.days}d"] = series.summary()
    arrivals = f"arriving over {args.spread_days} days" if args.spread_days else "as published"
    bench.report.add(
        f"/news stats {args.days}d p95 ({harness.short(args.size)} articles {arrivals}, "
        f"{harness.short(stats.articles_in)} in the period; {harness.short(args.decisions)} "
        "decisions)",
        harness.ms(series.p(95)),
        baseline=f"p50 {harness.ms(series.p(50))}",
        target=f"<= {harness.ms(TARGET)}",
        ok=series.p(95) <= TARGET,
    )

    week = last_days(7, today)
    with db.Session() as session:
        weekly = desk_stats(session, week, tz)
    bench.step("chart, 20 rounds")
    first = harness.clock(lambda: draw_png(weekly))[0]  # imports matplotlib, once a process
    charts = harness.Series()
    for _ in range(20):
        charts.add(harness.clock(lambda: draw_png(weekly))[0])
    bench.report.data["chart"] = charts.summary() | {"first_ms": round(first * 1000, 2)}
    bench.report.add(
        "weekly chart drawn (PNG) p95",
        harness.ms(charts.p(95)),
        baseline=f"first in a process {harness.ms(first)} (imports matplotlib)",
        target=f"<= {harness.ms(CHART_TARGET)}",
        ok=charts.p(95) <= CHART_TARGET and first <= CHART_TARGET,
    )


if __name__ == "__main__":
    main()
