"""What every writer of a review decision shares: the article lock, an article's review state,
the states of a decision record, and who is writing a pending one.

`storage.decisions` (Publish, Reject, Unpublish) and `storage.editorial` (approvals,
scheduled publications) both build on these, so the rules live once.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Article, ReviewDecision

PENDING, DONE, ABANDONED = "pending", "done", "abandoned"
#: A decision pending this long has no live writer (far beyond WRITE_DEADLINE, and clock skew).
LEASE = timedelta(minutes=5)


#: An article waiting for a review decision: a draft, neither rejected nor gone.
WAITING = (
    Article.published.is_(False),
    Article.rejected.is_(False),
    Article.missing.is_(False),
)


def lock_article(session: Session, article_id: int) -> Article | None:
    """The article row, locked for the rest of the transaction (FOR UPDATE on PostgreSQL).

    Every writer of a decision locks the article row first, so none deadlocks
    another. On SQLite the write transaction (BEGIN IMMEDIATE) is the lock.
    """
    return session.scalars(
        select(Article)
        .where(Article.id == article_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def pending_decision(session: Session, article_id: int) -> ReviewDecision | None:
    """The decision on the article whose file is being written right now, if any."""
    return session.scalars(
        select(ReviewDecision)
        .where(ReviewDecision.article_id == article_id, ReviewDecision.status == PENDING)
        .order_by(ReviewDecision.id.desc())
        .limit(1)
    ).first()


def state_of(article: Article) -> str:
    """ "draft", "published" or "rejected": what a review button may act on."""
    if article.published:
        return "published"
    return "rejected" if article.rejected else "draft"


def writer_id(clone: str | None = None) -> str:
    """Who is writing a pending decision: `host:pid`, and `host:pid@clone` when the file is
    in a git clone (`storage.gitcommit.clone_id`), whose work tree alone holds the write."""
    who = f"{socket.gethostname()}:{os.getpid()}"
    return f"{who}@{clone}" if clone else who


def writer_clone(owner: str | None) -> str | None:
    """The clone a pending decision's file was written in (see `writer_id`), if any."""
    _who, at, clone = (owner or "").partition("@")
    return clone if at and clone else None


def writer_gone(owner: str | None, since: datetime, *, now: datetime, at_start: bool) -> bool:
    """Whether the process `owner` (`writer_id`) that took something on at `since` is gone.

    It is when it is a process of this host that no longer runs (at start, that
    includes this process id, reused by a container restart), or when it has
    held on longer than `LEASE`, which a live writer never lets happen: a
    replica on another host is left alone until then.
    """
    if now - since >= LEASE:
        return True
    host, _, pid = (owner or "").partition("@")[0].rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return at_start
    return not _running(int(pid))


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
