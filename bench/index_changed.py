"""`newsbot index` after 1% of the files changed, against the no-op re-index.

    .venv/bin/python -m bench.index_changed              # 100k files, 3 rounds

Measures: the real CLI, `python -m bot index DIR`, after 1% of the files got a new
`heat:` and a later mtime, on a database that already holds every file; the files
are put back after each round (and indexed back, untimed).
Baseline: the same command with nothing changed, in the same rounds.
Target: none; it shows what a watch-mode re-index costs beyond the no-op.
The best of --rounds counts for each.
"""

from __future__ import annotations

from bench import harness


def main() -> None:
    args = harness.parser(__doc__, size=100_000, rounds=3, rounds_help="rounds").parse_args()
    with harness.Bench("index_changed", args) as bench:
        root = bench.articles()
        files = harness.list_articles(root)
        n, edited = len(files), max(1, len(files) // 100)
        url = bench.database()
        bench.step("cold (setup)")
        harness.newsbot_index(root, url, added=n, failed=0)
        noop, changed = harness.Series(), harness.Series()
        for number in range(1, args.rounds + 1):
            bench.step(f"noop{number}")
            noop.add(harness.newsbot_index(root, url, unchanged=n, added=0, updated=0))
            with harness.edited_tree(root, files, edited, seed=2026):
                bench.step(f"changed{number}")
                changed.add(harness.newsbot_index(root, url, updated=edited, unchanged=n - edited))
            harness.newsbot_index(root, url, updated=edited, unchanged=n - edited)

        bench.report.add(
            f"re-index @{harness.short(n)}, {edited} files changed (1%)",
            f"{changed.best:.2f} s",
            baseline=f"nothing changed: {noop.best:.2f} s",
        )
        bench.report.data.update(
            files=n, changed=edited, noop_s=noop.seconds, changed_s=changed.seconds
        )


if __name__ == "__main__":
    main()
