"""Watching the articles folder: batches of changes, debounced by watchfiles."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

# How long a burst of writes (a pipeline run, a git checkout) may last before the
# batch is handed over, and how often watchfiles looks while one is going on.
DEBOUNCE_MS = 1000
STEP_MS = 100
# How long watchfiles waits before saying "nothing yet": the first such answer
# means the watch is in place.
READY_MS = 200


def _is_article_change(path: str) -> bool:
    """An article file, or a folder (moved or removed folders carry articles with them)."""
    name = Path(path).name
    if name.startswith("."):
        return False  # hidden files, and the write-back's temporary files
    return name.endswith(".md") or "." not in name


def article_changes(
    root: Path,
    *,
    stop: threading.Event | None = None,
    on_ready: Callable[[], None] | None = None,
) -> Iterator[int]:
    """Yield once per debounced batch of changes to article files below root (how many).

    `on_ready` is called once the watch is in place, so that nothing written
    after it is missed. Runs until `stop` is set (or Ctrl-C, which is raised as
    KeyboardInterrupt).
    """
    from watchfiles import DefaultFilter, watch

    class ArticleFilter(DefaultFilter):
        def __call__(self, change: Any, path: str) -> bool:
            return super().__call__(change, path) and _is_article_change(path)

    for changes in watch(
        root,
        watch_filter=ArticleFilter(),
        debounce=DEBOUNCE_MS,
        step=STEP_MS,
        stop_event=stop,
        rust_timeout=READY_MS,
        yield_on_timeout=True,
        raise_interrupt=True,
    ):
        if on_ready is not None:
            on_ready()
            on_ready = None
        if changes:
            yield len(changes)
