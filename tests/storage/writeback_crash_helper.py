"""Run `set_published` in a child process that SIGKILLs itself at one step.

    python writeback_crash_helper.py PATH true|false STEP

Steps (see STEPS): the stdlib calls the write-back makes are wrapped in this
process only, so the kill lands exactly between two of them, like a crash or
an OOM kill would.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

STEPS = (
    "temp-written",  # temp file written and flushed, not yet fsynced
    "temp-synced",  # temp file fsynced, original not yet re-read
    "before-replace",  # about to rename over the original
    "after-replace",  # renamed, folder not yet fsynced
    "folder-synced",  # everything done, the result not yet returned
)


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main(argv: list[str]) -> None:
    path, value, step = Path(argv[0]), argv[1] == "true", argv[2]
    if step not in STEPS:
        raise SystemExit(f"unknown step {step!r}")

    real_fsync, real_replace = os.fsync, os.replace
    fsyncs = 0

    def fsync(fd: int) -> None:
        nonlocal fsyncs
        fsyncs += 1
        if step == "temp-written" and fsyncs == 1:
            _die()
        real_fsync(fd)
        if (step, fsyncs) in (("temp-synced", 1), ("folder-synced", 2)):
            _die()

    def replace(src: str | os.PathLike, dst: str | os.PathLike) -> None:
        if step == "before-replace":
            _die()
        real_replace(src, dst)
        if step == "after-replace":
            _die()

    os.fsync, os.replace = fsync, replace

    from storage.writeback import set_published

    set_published(path, value)
    raise SystemExit(f"step {step!r} was never reached")


if __name__ == "__main__":
    main(sys.argv[1:])
