"""Cold `newsbot index` against python-frontmatter, and the no-op re-index against the cold one.

    .venv/bin/python -m bench.index_cold                 # 100k files, 3 rounds
    .venv/bin/python -m bench.index_cold --size 30000    # quick

Measures: the real CLI, `python -m bot index DIR`, as a subprocess into an empty
database (cold), then again with nothing changed (no-op).
Baseline: `frontmatter.load` on every file in one process, nothing else, on the
same files with a warm page cache.
Targets: cold index >= 1.3x the baseline's speed (never below 0.8x); no-op <= 3%
of the cold index.

Baseline, cold and no-op take turns for --rounds rounds, each cold run on a fresh
database, and the best of each counts, as timeit reports it: a neighbour's burst on
a shared machine slows the two-process indexer more than the one-process baseline.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import frontmatter

from bench import harness


def frontmatter_baseline(files: Sequence[Path]) -> float:
    start = time.perf_counter()
    for path in files:
        frontmatter.load(path)
    return time.perf_counter() - start


def main() -> None:
    args = harness.parser(__doc__, size=100_000, rounds=3, rounds_help="rounds").parse_args()
    with harness.Bench("index", args) as bench:
        root = bench.articles()
        files = harness.list_articles(root)
        for path in files:  # the page cache starts warm for both sides
            path.read_bytes()
        base, cold, noop = harness.Series(), harness.Series(), harness.Series()
        for number in range(1, args.rounds + 1):
            bench.step(f"baseline{number}")
            base.add(frontmatter_baseline(files))
            harness.log(f"  {base.seconds[-1]:.2f} s")
            url = bench.database()
            bench.step(f"cold{number}")
            cold.add(harness.newsbot_index(root, url, added=len(files), failed=0))
            bench.step(f"noop{number}")
            noop.add(harness.newsbot_index(root, url, unchanged=len(files), added=0, updated=0))

        ratio, share = base.best / cold.best, noop.best / cold.best
        rounds = "; ".join(
            f"{b:.1f} / {c:.1f} / {n:.2f} s"
            for b, c, n in zip(base.seconds, cold.seconds, noop.seconds, strict=True)
        )
        at = harness.short(len(files))
        r = bench.report
        r.add(
            f"cold `newsbot index` @{at}, best of {args.rounds}",
            f"{ratio:.2f}x ({cold.best:.1f} s)",
            baseline=f"frontmatter.load, 1 process: {base.best:.1f} s",
            target=">= 1.3x, never < 0.8x",
            ok=ratio >= 1.3,
        )
        r.add(
            f"re-index @{at}, nothing changed",
            f"{100 * share:.1f}% ({noop.best:.2f} s)",
            baseline=f"cold index: {cold.best:.1f} s",
            target="<= 3% of cold",
            ok=share <= 0.03,
        )
        r.add("every round: baseline / cold / no-op", rounds)
        r.data.update(
            files=len(files),
            ratio=round(ratio, 3),
            noop_pct_of_cold=round(100 * share, 2),
            baseline_s=base.seconds,
            cold_s=cold.seconds,
            noop_s=noop.seconds,
        )
        if ratio < 0.8:
            r.rows[0].result = "MISS (below the 0.8x floor)"


if __name__ == "__main__":
    main()
