"""Helpers shared by bench/slash.py and bench/digest.py.

What bench/index_search.py already has (machine facts, percentiles, the Markdown
table, logging, the article tree, query drawing) is imported from there, not copied.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # `python bench/x.py` puts bench/ first, not the repo

from bench.index_search import (  # noqa: E402
    log,
    machine_info,
    mem_available,
    percentile,
    render_table,
)

__all__ = [
    "REPO",
    "Stats",
    "command_line",
    "load_now",
    "log",
    "machine_info",
    "pick_workdir",
    "render_table",
    "stats",
    "verdict",
]


@dataclass
class Stats:
    """Latencies of one measured series, in milliseconds (nearest-rank percentiles)."""

    n: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float


def stats(seconds: Sequence[float]) -> Stats:
    if not seconds:
        return Stats(0, 0.0, 0.0, 0.0, 0.0, 0.0)
    ms = sorted(s * 1000 for s in seconds)
    return Stats(
        n=len(ms),
        p50_ms=round(percentile(ms, 50), 2),
        p95_ms=round(percentile(ms, 95), 2),
        p99_ms=round(percentile(ms, 99), 2),
        max_ms=round(ms[-1], 2),
        mean_ms=round(sum(ms) / len(ms), 2),
    )


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def load_now() -> float:
    """The 1-minute load average: other work on this 2-core machine shows up in every number."""
    return round(os.getloadavg()[0], 2)


def pick_workdir(name: str, need_bytes: int) -> Path:
    """/dev/shm/<name> when tmpfs and RAM have twice the room needed, else bench/.data/<name>.

    Each benchmark gets its own folder, so it never touches another one's files
    (bench/index_search.py uses /dev/shm/newsbot-bench and bench/.data itself).
    """
    shm = Path("/dev/shm")
    if (
        shm.is_dir()
        and os.access(shm, os.W_OK)
        and shutil.disk_usage(shm).free > 2 * need_bytes
        and mem_available() > 2 * need_bytes
    ):
        return shm / name
    return REPO / "bench" / ".data" / name


def command_line(script: str) -> str:
    python = Path(sys.executable)
    if python.is_relative_to(REPO):
        python = python.relative_to(REPO)
    return " ".join([str(python), script, *sys.argv[1:]])
