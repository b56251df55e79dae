"""Run one review decision in a child process that SIGKILLs itself at one step.

    python decision_crash_helper.py DATABASE_URL ROOT ARTICLE_ID ACTION STEP

Steps (see STEPS): `os.replace`, the rename of the article file, is wrapped
in this process only, so the kill lands just before or just after the file is
replaced: after the pending decision was committed, before it is marked done.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

STEPS = (
    "before-replace",  # decision committed as pending; the file is still the old one
    "after-replace",  # the file has the new value; the decision is not marked done
)


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main(argv: list[str]) -> None:
    url, root, article_id, action, step = argv[0], Path(argv[1]), int(argv[2]), argv[3], argv[4]
    if step not in STEPS:
        raise SystemExit(f"unknown step {step!r}")
    real_replace = os.replace

    def replace(src: str | os.PathLike, dst: str | os.PathLike) -> None:
        if step == "before-replace":
            _die()
        real_replace(src, dst)
        _die()

    from storage.db import open_database
    from storage.decisions import decide

    db = open_database(url)
    os.replace = replace
    decide(
        db.WriteSession,
        article_id=article_id,
        action=action,
        fingerprint=None,
        reviewer_id="U0CRASH",
        reviewer_name="crash",
        root=root,
    )
    raise SystemExit(f"step {step!r} was never reached")


if __name__ == "__main__":
    main(sys.argv[1:])
