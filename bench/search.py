"""Topic and text search latency at 1M articles, against the same queries at 100k.

    .venv/bin/python -m bench.search                     # 100k, then 1M; 200 queries of each
    .venv/bin/python -m bench.search --size 200000 --baseline-size 20000 --rounds 50   # quick

Measures: `storage.search.search(session, parse_query(q), limit=5)` in-process, each
query in its own session as a request runs it, after a warm-up with other queries.
Topic queries are drawn uniformly from all topics; text queries are a third common
words, a third rare words and a third two adjacent title words (none a topic).
Baseline: the same queries on a database of --baseline-size articles, same run.
Targets: topic p95 <= 10 ms at both sizes; text p95 <= 50 ms at 100k, <= 300 ms at 1M.

The databases hold generated records (`harness.records_database`), shared with the
digest benchmark.
"""

from __future__ import annotations

from collections import Counter
from functools import partial
from typing import Any

from bench import harness
from storage.db import Database
from storage.search import parse_query, search
from storage.types import SearchPage

QUERY_SEED = 2026
TOPIC_MS = 10


def one(db: Database, typed: str) -> SearchPage:
    with db.Session() as session:
        return search(session, parse_query(typed), limit=5)


def run(db: Database, queries: list[tuple[str, str]]) -> tuple[harness.Series, dict[str, Any]]:
    """Time each query; also count the search modes and the empty answers."""
    series, by_kind = harness.Series(), {}
    seen: Counter[str] = Counter()
    for kind, typed in queries:
        seconds, page = harness.clock(partial(one, db, typed))
        series.add(seconds)
        by_kind.setdefault(kind, harness.Series()).add(seconds)
        seen[page.mode] += 1
        seen["empty"] += not page.articles
    detail = {k: s.summary() for k, s in sorted(by_kind.items())}
    return series, series.summary() | detail | {"modes": dict(seen)}


def main() -> None:
    parser = harness.parser(
        __doc__,
        size=1_000_000,
        rounds=200,
        rounds_help="queries of each kind",
        baseline_size=100_000,
    )
    args = parser.parse_args()
    with harness.Bench("search", args) as bench:
        with harness.opened(bench.records_database(args.baseline_size)) as db:
            queries = harness.draw_queries(db, args.rounds, QUERY_SEED)
            warmup = harness.draw_queries(db, max(10, args.rounds // 10), QUERY_SEED + 1)
        first: dict[str, str] = {}
        for size, text_ms in ((args.baseline_size, 50), (args.size, 300)):
            at = harness.short(size)
            with harness.opened(bench.records_database(size)) as db:
                bench.step(f"search @{at}")
                run(db, [("topic", q) for q in warmup.topic] + warmup.text)
                topic, bench.report.data[f"topic@{at}"] = run(
                    db, [("topic", q) for q in queries.topic]
                )
                text, bench.report.data[f"text@{at}"] = run(db, queries.text)
            for kind, series, target_ms in (("topic", topic, TOPIC_MS), ("text", text, text_ms)):
                p95 = series.p(95)
                bench.report.add(
                    f"{kind} search p95 @{at}",
                    harness.ms(p95),
                    baseline=first.get(kind, "-"),
                    target=f"<= {target_ms} ms",
                    ok=p95 * 1000 <= target_ms,
                )
                first.setdefault(kind, f"@{at}: {harness.ms(p95)}")


if __name__ == "__main__":
    main()
