"""The daily digest build (selection and rendering) at 1M articles, against the same at 100k.

    .venv/bin/python -m bench.digest                     # 100k, then 1M; 100 builds each
    .venv/bin/python -m bench.digest --size 200000 --baseline-size 20000 --rounds 30   # quick

Measures: `bot.digest.build(settings, db, channel=..., local_date=...)`, what the
scheduler runs before it posts: the candidate query, "not in an earlier digest",
related folding and the Block Kit messages. Half the builds are for today's
window (~10% of the articles), half for one of the 89 earlier days, over four
channels, three of which have 30 days of posted digests behind them.
Baseline: the same builds on a database of --baseline-size articles, same run.
Target: p95 <= 100 ms at 1M.

The databases hold generated records (`harness.records_database`), shared with the
search benchmark; the digest history in them is replaced at every run. Settings are
the defaults: 09:00 UTC, 8 items, heat >= 50.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from functools import partial

from sqlalchemy import delete

from bench import harness
from bot.flows.digest import build, due_at, select_articles
from bot.settings import Settings
from storage.db import Database
from storage.digest import claim_digest, mark_posted
from storage.models import DigestItem, DigestRun

TARGET_MS = 100
HISTORY_DAYS = 30
HISTORY_CHANNELS = ("CDIGEST01", "CDIGEST02", "CDIGEST03")
CHANNELS = (*HISTORY_CHANNELS, "CDIGEST04")  # the last one never had a digest


def seed_history(db: Database, settings: Settings, anchor: date) -> None:
    """30 days of posted digests for three channels, as post_digest records them.

    Whatever history the database had is replaced, so it depends on its articles only.
    """
    harness.log(f"posting {HISTORY_DAYS} days of digests for {len(HISTORY_CHANNELS)} channels")
    with db.WriteSession.begin() as session:
        session.execute(delete(DigestItem))
        session.execute(delete(DigestRun))
    for n, (back, channel) in enumerate(
        (b, c) for b in range(HISTORY_DAYS, 0, -1) for c in HISTORY_CHANNELS
    ):
        day = anchor - timedelta(days=back)
        with db.WriteSession.begin() as session:
            plan = select_articles(settings, session, channel=channel, local_date=day)
            run = claim_digest(session, channel=channel, local_date=day, late=False)
            if run is None:
                continue
            ts = f"{int(due_at(settings, day).timestamp())}.{n:06d}"
            mark_posted(session, run.id, message_ts=ts, article_ids=[a.id for a in plan.articles])


def schedule(anchor: date, runs: int, seed: int) -> list[tuple[str, date, str]]:
    """(kind, local date, channel): half today, half one of the 89 earlier days."""
    rng = random.Random(seed)
    plan = []
    for i in range(runs):
        channel = CHANNELS[i % len(CHANNELS)]
        if i % 2 == 0:
            plan.append(("today", anchor, channel))
        else:
            plan.append(("earlier", anchor - timedelta(days=rng.randrange(1, 90)), channel))
    return plan


def main() -> None:
    parser = harness.parser(
        __doc__, size=1_000_000, rounds=100, rounds_help="builds per size", baseline_size=100_000
    )
    args = parser.parse_args()
    anchor = harness.RECORDS_NOW.date()
    first = "-"
    with harness.Bench("digest", args) as bench:
        for size in (args.baseline_size, args.size):
            at = harness.short(size)
            url = bench.records_database(size)
            settings = Settings.from_env({"NEWSBOT_DATABASE_URL": url})
            with harness.opened(url) as db:
                seed_history(db, settings, anchor)
                for _kind, day, channel in schedule(anchor, 6, args.seed + 1):  # warm-up
                    build(settings, db, channel=channel, local_date=day)
                bench.step(f"digest @{at}")
                series, by_kind = harness.Series(), {}
                for kind, day, channel in schedule(anchor, args.rounds, args.seed):
                    job = partial(build, settings, db, channel=channel, local_date=day)
                    seconds, _ = harness.clock(job)
                    series.add(seconds)
                    by_kind.setdefault(kind, harness.Series()).add(seconds)
            p95 = series.p(95)
            graded = size == args.size
            bench.report.add(
                f"digest build p95 @{at}",
                harness.ms(p95),
                baseline=first,
                target=f"<= {TARGET_MS} ms" if graded else "-",
                ok=p95 * 1000 <= TARGET_MS if graded else None,
            )
            first = f"@{at}: {harness.ms(p95)}"
            bench.report.data[at] = series.summary() | {k: s.summary() for k, s in by_kind.items()}


if __name__ == "__main__":
    main()
