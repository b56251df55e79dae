"""Follows: a cold `newsbot index` with 1,000 follows against one with none, and matching
one index run's 100 changed articles against them.

    .venv/bin/python -m bench.follows                    # 100k files, 3 rounds
    .venv/bin/python -m bench.follows --size 20000 --rounds 2   # quick

Measures: (1) the real CLI, `python -m bot index DIR`, into an empty database holding
1,000 follows over 50 channels (20 each: topics with and without `heat>=N`, common and
rare words, word pairs, `published`/`unpublished`, `provider:`), which the run matches
every new article against and leaves the claims of; (2) in-process, what an index run
adds for the follows when it changes 100 articles (heat +30, one topic more): loading
the follows, reading the rows as they were, matching old and new, and writing the
claims (rolled back, so every round finds the same), --match-rounds times.
Baseline: (1) the same cold index with no follows, taking turns in the same rounds,
the best of each counting, in wall time (the target) and in CPU time of the CLI's own
process, where the matching runs; (2) none; both wall and CPU time shown.
Targets: (1) at most 1.10x the cold index without follows; (2) p95 under 50 ms.
"""

from __future__ import annotations

import random
import resource
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from sqlalchemy import func, select

from bench import harness
from storage.db import Database
from storage.follows import RunFinds, add_follow, load_matcher
from storage.matching import article_states
from storage.models import Article, FollowClaim, Topic

FOLLOW_SEED = 2026
CHANNELS = 50
PER_CHANNEL = 20
CHANGED = 100


def follow_queries(db: Database, n: int, seed: int) -> list[str]:
    """n follow queries drawn from what the database holds, as a desk would write them."""
    rng = random.Random(seed)
    drawn = harness.draw_queries(db, n, seed)
    with db.Session() as session:
        domains = sorted(
            d for d in session.scalars(select(Article.provider_domain).distinct()) if d
        )
    queries: dict[str, None] = {}  # distinct: a channel follows a query once
    while len(queries) < n:
        i = rng.randrange(n)
        kind = rng.random()
        if kind < 0.5:
            terms = drawn.topic[i]
        elif kind < 0.85:
            terms = drawn.text[i][1]
        else:
            terms = f"{drawn.topic[i]} provider:{rng.choice(domains)}"
        filters = []
        if rng.random() < 0.6:
            filters.append(f"heat>={rng.choice([30, 50, 70, 80])}")
        if rng.random() < 0.2:
            filters.append(rng.choice(["published", "unpublished"]))
        queries[" ".join([terms, *filters]).casefold()] = None
    return list(queries)


def add_follows(url: str, queries: Sequence[str]) -> None:
    with harness.opened(url) as db, db.WriteSession.begin() as session:
        for i, typed in enumerate(queries):
            add_follow(
                session,
                channel=f"C{i % CHANNELS:08d}",
                typed=typed,
                user_id="U0BENCH",
                user_name="bench",
            )


def match_once(db: Database, ids: list[int], topics: list[str], rng: random.Random) -> int:
    """What an index run that changed these articles does for the follows; claims rolled back.

    The changed rows are the articles hotter by 30 and with one topic more.
    """
    with db.Session() as session:
        finds = RunFinds(load_matcher(session), postgres=db.dialect == "postgresql")
    with db.WriteSession() as session, session.begin():
        old = finds.old_states(session, ids)
        new = [
            replace(s, heat=s.heat + 30, topic_keys=s.topic_keys | {rng.choice(topics)})
            for s in article_states(session, ids).values()
        ]
        finds.accept(finds.observe(session, [], new, old, topics))
        found = finds.found
        finds.record(session)
        session.rollback()
    return found


def index_cpu(root: Path, url: str, expected: int, cpu: harness.Series) -> float:
    """`harness.newsbot_index`, also noting the CPU seconds of the CLI's own process.

    The parse workers are the forkserver's children and are not counted: this is
    the process that writes and matches, steadier to compare than wall time when
    neighbours keep the cores busy.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds = harness.newsbot_index(root, url, added=expected, failed=0)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu.add(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    harness.log(f"  {cpu.seconds[-1]:.1f} s of CPU")
    return seconds


def main() -> None:
    parser = harness.parser(__doc__, size=100_000, rounds=3, rounds_help="rounds of cold indexes")
    parser.add_argument("--match-rounds", type=int, default=50, help="runs of 100 changed (50)")
    args = parser.parse_args()
    with harness.Bench("follows", args) as bench:
        root = bench.articles()
        files = harness.list_articles(root)
        for path in files:
            path.read_bytes()
        without, with_follows = harness.Series(), harness.Series()
        cpu_without, cpu_with = harness.Series(), harness.Series()
        queries: list[str] = []
        url = ""
        for number in range(1, args.rounds + 1):
            url = bench.database()
            bench.step(f"cold{number}, no follows")
            without.add(index_cpu(root, url, len(files), cpu_without))
            if not queries:
                with harness.opened(url) as db:
                    queries = follow_queries(db, CHANNELS * PER_CHANNEL, FOLLOW_SEED)
            url = bench.database()
            add_follows(url, queries)
            bench.step(f"cold{number}, {len(queries)} follows")
            with_follows.add(index_cpu(root, url, len(files), cpu_with))

        bench.step(f"matching {CHANGED} changed articles x {args.match_rounds}")
        rng = random.Random(FOLLOW_SEED)
        matching, matching_cpu = harness.Series(), harness.Series()
        finds = []
        with harness.opened(url) as db:
            with db.Session() as session:
                ids = list(session.scalars(select(Article.id)))
                topics = list(session.scalars(select(Topic.key)))
                claims = session.scalar(select(func.count()).select_from(FollowClaim))
            for _ in range(args.match_rounds):
                chosen = rng.sample(ids, CHANGED)
                started = time.process_time()
                seconds, found = harness.clock(lambda c=chosen: match_once(db, c, topics, rng))
                matching_cpu.add(time.process_time() - started)
                matching.add(seconds)
                finds.append(found)

        ratio = with_follows.best / without.best
        at = harness.short(len(files))
        r = bench.report
        r.add(
            f"cold `newsbot index` @{at} with {len(queries)} follows over {CHANNELS} channels",
            f"{ratio:.3f}x ({with_follows.best:.1f} s)",
            baseline=f"no follows: {without.best:.1f} s",
            target="<= 1.10x",
            ok=ratio <= 1.10,
        )
        cpu_ratio = cpu_with.best / cpu_without.best
        r.add(
            "the same, CPU seconds of the CLI's own process (where the matching runs)",
            f"{cpu_ratio:.3f}x ({cpu_with.best:.1f} s)",
            baseline=f"no follows: {cpu_without.best:.1f} s",
        )
        r.add(
            f"matching a run of {CHANGED} changed articles, p95 of {args.match_rounds}",
            harness.ms(matching.p(95)),
            baseline=f"p50 {harness.ms(matching.p(50))}",
            target="< 50 ms",
            ok=matching.p(95) < 0.05,
        )
        r.add(
            "the same, in CPU time",
            harness.ms(matching_cpu.p(95)),
            baseline=f"p50 {harness.ms(matching_cpu.p(50))}",
            target="< 50 ms",
            ok=matching_cpu.p(95) < 0.05,
        )
        r.add(
            "every round: no follows / follows",
            "; ".join(
                f"{a:.1f} / {b:.1f} s"
                for a, b in zip(without.seconds, with_follows.seconds, strict=True)
            ),
        )
        r.add(
            "claims the cold index left; finds per run of 100 changed (mean)",
            f"{claims}; {sum(finds) / len(finds):.1f}",
        )
        r.data.update(
            files=len(files),
            follows=len(queries),
            ratio=round(ratio, 4),
            cpu_ratio=round(cpu_ratio, 4),
            cpu_without_s=cpu_without.seconds,
            cpu_with_s=cpu_with.seconds,
            matching_cpu=matching_cpu.summary(),
            without_s=without.seconds,
            with_follows_s=with_follows.seconds,
            matching=matching.summary(),
            claims_after_cold=claims,
        )


if __name__ == "__main__":
    main()
