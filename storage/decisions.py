"""The review queue, review decisions and the audit trail.

Query functions take a Session and never commit; the caller owns the
transaction. `decide` and `finish_interrupted` take the session factory
instead, as `storage.sync.sync` does: a decision that rewrites a file is two
short transactions with the file replaced between them, never one held open
across the write.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storage import editorial
from storage.decision_state import (
    ABANDONED,
    DONE,
    PENDING,
    WAITING,
    lock_article,
    pending_decision,
    state_of,
    writer_clone,
    writer_gone,
)

# LEASE, state_of and writer_id are also imported from here, as before decision_state.
from storage.decision_state import LEASE as LEASE
from storage.decision_state import writer_id as writer_id
from storage.models import (
    Approval,
    Article,
    DecisionCommit,
    ReviewDecision,
    ScheduledPublication,
    utcnow,
)
from storage.types import ArticleView, AuditEntry, Decision, Outcome
from storage.views import views_of
from storage.writeback import (
    FileGoneError,
    StaleFileError,
    WriteBackError,
    WriteResult,
    read_published,
    set_published,
)

#: A decision that took effect and was undone (`revert_decision`).
REVERTED = "reverted"
#: Where a decision's git commit is (storage.models.DecisionCommit).
LOCAL, PUSH_PENDING, PUSHED, DROPPED = "local", "pending", "pushed", "dropped"
#: The decision's file is written and its commit owed (`owed_commits`).
UNCOMMITTED = "uncommitted"
#: A writer gives up replacing the file this many seconds after its decision went pending.
WRITE_DEADLINE = 60.0


def review_queue(
    session: Session, *, offset: int = 0, limit: int = 10
) -> tuple[list[ArticleView], bool]:
    """Drafts waiting for a decision, hottest first; and whether more follow."""
    rows = list(
        session.scalars(
            select(Article)
            .where(*WAITING)
            .order_by(Article.heat.desc(), Article.published_at.desc(), Article.id.desc())
            .offset(offset)
            .limit(limit + 1)
        )
    )
    return views_of(session, rows[:limit]), len(rows) > limit


def pending_count(session: Session) -> int:
    """How many drafts wait for a decision."""
    return session.scalar(select(func.count()).select_from(Article).where(*WAITING)) or 0


def decisions_since(session: Session, since: datetime) -> list[AuditEntry]:
    """Review decisions that took effect since that moment, oldest first, with their article,
    their git commit if any, and those undone since.

    The audit trail also holds the editorial workflow's steps (approve, schedule,
    unschedule, schedule-failed). A Publish's `note` names its approvers when
    two were needed, and who scheduled it when a schedule ran it.
    """
    rows = session.execute(
        select(
            ReviewDecision,
            Article.title,
            Article.web_url,
            DecisionCommit.commit_sha,
            DecisionCommit.push_state,
        )
        .join(Article, Article.id == ReviewDecision.article_id)
        .outerjoin(DecisionCommit, DecisionCommit.decision_id == ReviewDecision.id)
        .where(ReviewDecision.decided_at >= since, ReviewDecision.status.in_((DONE, REVERTED)))
        .order_by(ReviewDecision.decided_at, ReviewDecision.id)
    ).all()
    notes = editorial.decision_notes(session, [d.id for d, *_ in rows if d.action == "publish"])
    return [
        AuditEntry(
            d.decided_at,
            d.reviewer_id,
            d.reviewer_name,
            d.action,
            title,
            url,
            d.old_value,
            d.new_value,
            d.channel_id,
            d.message_ts,
            note=notes.get(d.id, ""),
            # While the commit is owed, commit_sha holds what the reviewer saw (`_owe_commit`).
            commit_sha=sha if state != UNCOMMITTED else None,
            push_state=state,
            status=d.status,
        )
        for d, title, url, sha, state in rows
    ]


ACTIONS = {
    # action: (column it sets, state it requires, value it sets, whether the file changes)
    "publish": ("published", "draft", True, True),
    "unpublish": ("published", "published", False, True),
    "reject": ("rejected", "draft", True, False),
}


@dataclass(frozen=True, slots=True)
class _Started:
    """A pending decision, committed; its file is still to be written."""

    decision_id: int
    article_id: int
    path: Path
    column: str
    before: bool
    after: bool
    fingerprint: str
    schedule_id: int | None = None
    approvers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class _Request:
    """One click's decision, as `decide` was asked for it."""

    article_id: int
    action: str
    fingerprint: str | None
    reviewer: tuple[str, str]  # (user id, name)
    root: Path
    channel_id: str | None
    message_ts: str | None
    two_reviewers: Collection[str] | None
    schedule_id: int | None
    revoked: Collection[str] = ()
    clone: str | None = None


def decide(
    session_factory: sessionmaker[Session],
    *,
    article_id: int,
    action: str,
    fingerprint: str | None,
    reviewer_id: str,
    reviewer_name: str,
    root: Path,
    channel_id: str | None = None,
    message_ts: str | None = None,
    two_reviewers: Collection[str] | None = None,
    schedule_id: int | None = None,
    revoked: Collection[str] = (),
    owe_commit_in: str | None = None,
) -> Outcome:
    """Apply one review decision exactly once, in the database and in the article file.

    The article row is locked, its state checked (Publish and Reject need a
    draft, Unpublish a published article, and no decision may be pending on
    it), then changed and the decision recorded: of any number of concurrent
    clicks (threads, processes, replicas sharing PostgreSQL) one wins, the
    rest get "already". A Reject is done there. A Publish or Unpublish is
    committed as pending first; then the file is replaced; then the decision
    is marked done. If the file cannot be written the row is put back and the
    pending record removed. A crash in between leaves the pending record,
    which `finish_interrupted` settles from the file.

    A Publish of an article matching `two_reviewers` (NEWSBOT_TWO_REVIEWERS)
    goes ahead only once two different reviewers approved it; until then it
    records this reviewer's approval (see `storage.editorial.publish_gate`),
    counted under the same lock. `schedule_id` is a scheduled publication
    being run (claimed by the caller) on behalf of whoever scheduled it.
    Approvals by reviewers in `revoked` (no longer reviewers) do not count.
    A decision that takes effect ends the article's open approvals and
    schedules in its own transaction. With `owe_commit_in` (a clone's id,
    NEWSBOT_GIT_COMMIT), the pending record names that clone, so that only it
    settles the decision after a crash, and a decision that rewrote its file
    is marked done together with its git commit owed in that clone
    (`owed_commits`), so that a commit that then fails or never happens is
    made later.
    """
    request = _Request(
        article_id, action, fingerprint, (reviewer_id, reviewer_name), root,
        channel_id, message_ts, two_reviewers, schedule_id, revoked, owe_commit_in,
    )  # fmt: skip
    with session_factory.begin() as session:
        started = _begin(session, request)
    if isinstance(started, Outcome):
        return started
    written: WriteResult | None
    try:
        written = set_published(
            started.path,
            started.after,
            expected_fingerprint=started.fingerprint,
            root=root,
            deadline=time.monotonic() + WRITE_DEADLINE,
        )
    except StaleFileError:
        return _undo(session_factory, started, "stale")
    except FileGoneError:
        return _undo(session_factory, started, "missing")
    except WriteBackError as exc:
        # Refusals come before the rename, except a folder that would not sync after it.
        if not _file_says(started.path, started.after, root):
            return _undo(session_factory, started, "failed", problem=str(exc))
        written = None
    with session_factory.begin() as session:
        return _finish(session, started, written, owe_commit_in)


def _begin(session: Session, r: _Request) -> Outcome | _Started:
    column, requires, after, touches_file = ACTIONS[r.action]
    article = lock_article(session, r.article_id)
    if article is None:
        return Outcome("missing", None)
    if article.missing:
        return Outcome("missing", views_of(session, [article])[0])
    pending = pending_decision(session, r.article_id)
    state = state_of(article)
    if pending is not None or state != requires:
        view = views_of(session, [article])[0]
        previous = _decision(pending) if pending is not None else view.decision
        return Outcome("already", view, previous=previous, state=state)
    if touches_file and r.fingerprint is not None and article.content_hash != r.fingerprint:
        return Outcome("stale", views_of(session, [article])[0], state=state)
    go = editorial.Go(())
    now = utcnow()
    if r.action == "publish":
        gate = editorial.publish_gate(
            session,
            article,
            reviewer=r.reviewer,
            rule=r.two_reviewers,
            schedule_id=r.schedule_id,
            channel_id=r.channel_id,
            message_ts=r.message_ts,
            now=now,
            revoked=r.revoked,
        )
        if isinstance(gate, str):
            session.flush()
            view = views_of(session, [article])[0]
            return Outcome(gate, view, state=state, approvers=_approvers(view))
        go = gate
    before = getattr(article, column)
    setattr(article, column, after)
    article.version = Article.version + 1
    article.updated_at = utcnow()
    decision = ReviewDecision(
        article_id=article.id,
        action=r.action,
        reviewer_id=r.reviewer[0],
        reviewer_name=r.reviewer[1],
        old_value=_shown(before),
        new_value=_shown(after),
        channel_id=r.channel_id,
        message_ts=r.message_ts,
        decided_at=utcnow(),
        status=PENDING if touches_file else DONE,
        owner=writer_id(r.clone) if touches_file else None,
    )
    session.add(decision)
    session.flush()
    if go.completing is not None:
        editorial.link_approval(session, article, decision, go.completing, at=now)
        session.flush()
    if not touches_file:
        editorial.after_decision(session, article, decision, fingerprint=article.content_hash)
        session.flush()
        view = views_of(session, [article])[0]
        return Outcome("done", view, state=state_of(article), decision_id=decision.id)
    return _Started(
        decision_id=decision.id,
        article_id=article.id,
        path=r.root / article.source_path,
        column=column,
        before=before,
        after=after,
        fingerprint=article.content_hash,
        schedule_id=r.schedule_id,
        approvers=go.approvers,
    )


def _finish(
    session: Session, started: _Started, written: WriteResult | None, owe_commit_in: str | None
) -> Outcome:
    article = lock_article(session, started.article_id)
    assert article is not None  # articles are never deleted
    decision = session.get(ReviewDecision, started.decision_id, populate_existing=True)
    assert decision is not None
    # Even if a replica took this writer for dead and settled it, the file has
    # the new value now: the record and the row say so.
    decision.status, decision.owner = DONE, None
    editorial.after_decision(
        session,
        article,
        decision,
        fingerprint=started.fingerprint,
        schedule_id=started.schedule_id,
        approvers={i for i, _name in started.approvers},
    )
    setattr(article, started.column, started.after)
    if written is not None:
        article.content_hash = written.new_fingerprint
        article.size, article.mtime_ns = written.size, written.mtime_ns
    article.version = Article.version + 1
    article.updated_at = utcnow()
    if owe_commit_in is not None:
        _owe_commit(session, decision.id, owe_commit_in, seen=started.fingerprint)
    session.flush()
    return Outcome(
        "done",
        views_of(session, [article])[0],
        state=state_of(article),
        path=started.path,
        decision_id=decision.id,
        approvers=started.approvers,
    )


def _undo(
    session_factory: sessionmaker[Session],
    started: _Started,
    status: str,
    *,
    problem: str | None = None,
) -> Outcome:
    """The file was not written: the row goes back, and the pending record with it."""
    with session_factory.begin() as session:
        article = lock_article(session, started.article_id)
        assert article is not None
        decision = session.get(ReviewDecision, started.decision_id, populate_existing=True)
        if decision is not None and decision.status == PENDING:
            editorial.drop_approvals(session, decision.id)
            session.delete(decision)
            # Unless the indexer has read the file since, and the row says what it says.
            if article.content_hash == started.fingerprint:
                setattr(article, started.column, started.before)
            article.version = Article.version + 1
            session.flush()
        view = views_of(session, [article])[0]
        return Outcome(status, view, state=state_of(article), problem=problem)


@dataclass(frozen=True, slots=True)
class Settled:
    """A pending decision finished from its file: "done" or "abandoned"."""

    decision_id: int
    action: str
    status: str
    source_path: str
    reviewer_id: str


def finish_interrupted(
    session_factory: sessionmaker[Session],
    root: Path,
    *,
    at_start: bool = False,
    now: datetime | None = None,
    owe_commit_in: str | None = None,
) -> list[Settled]:
    """Settle the pending decisions whose writer is gone, each from what its file says.

    The file has the new value: the decision is done, and with `owe_commit_in`
    (the clone `root` is in, NEWSBOT_GIT_COMMIT) its commit is owed there, as
    `decide` owes it. It has not (or is gone): the decision is abandoned and
    the article row put back. A writer is gone
    when it is a process of this host that no longer runs (at start, that
    includes this process id, reused by a container restart), or when the
    decision has been pending longer than `LEASE`, which a live writer never
    lets happen: a replica on another host is left alone until then.

    A decision written in a git clone (its record names the clone) is settled
    only from that clone's file, by a replica of that clone: another machine's
    clone does not have the write, so it leaves the decision alone, however
    long it waits (`written_elsewhere` lists them; `abandon_clone` is for a
    clone gone for good).
    """
    now = now or utcnow()
    with session_factory() as session:
        candidates = session.execute(
            select(ReviewDecision.id, ReviewDecision.owner, ReviewDecision.decided_at).where(
                ReviewDecision.status == PENDING
            )
        ).all()
    settled = []
    for decision_id, owner, decided_at in candidates:
        written_in = writer_clone(owner)
        if written_in is not None and written_in != owe_commit_in:
            continue
        if not writer_gone(owner, decided_at, now=now, at_start=at_start):
            continue
        with session_factory.begin() as session:
            result = _settle(session, decision_id, root, owe_commit_in)
        if result is not None:
            settled.append(result)
    return settled


def written_elsewhere(
    session: Session, clone: str | None, *, now: datetime | None = None
) -> dict[str, int]:
    """Decisions pending longer than `LEASE` whose file was written in another clone than
    `clone`: {clone id: how many}. Only that clone settles them (`finish_interrupted`)."""
    since = (now or utcnow()) - LEASE
    owners = session.scalars(
        select(ReviewDecision.owner).where(
            ReviewDecision.status == PENDING, ReviewDecision.decided_at <= since
        )
    )
    found: dict[str, int] = {}
    for owner in owners:
        written_in = writer_clone(owner)
        if written_in is not None and written_in != clone:
            found[written_in] = found.get(written_in, 0) + 1
    return found


def abandon_clone(session_factory: sessionmaker[Session], clone: str) -> list[Settled]:
    """For a clone gone for good (its machine and disk lost): abandon the decisions pending
    in it, as if their files were never written, and put their articles back.

    Only an operator who knows the clone is gone calls this (`newsbot index
    --clone-gone ID`): a clone that comes back afterwards has the writes in its
    work tree, uncommitted, and must be reset by hand. Commits still owed in it
    are left: `owed_commits` shows them, and the clone's files are the truth.
    """
    with session_factory() as session:
        candidates = session.execute(
            select(ReviewDecision.id, ReviewDecision.owner).where(ReviewDecision.status == PENDING)
        ).all()
    settled = []
    for decision_id, owner in candidates:
        if writer_clone(owner) != clone:
            continue
        with session_factory.begin() as session:
            result = _settle(session, decision_id, None, None)
        if result is not None:
            settled.append(result)
    return settled


def _settle(
    session: Session, decision_id: int, root: Path | None, owe_commit_in: str | None
) -> Settled | None:
    """Settle a pending decision from its file under `root`; without `root`, abandon it."""
    article_id = session.scalar(
        select(ReviewDecision.article_id).where(ReviewDecision.id == decision_id)
    )
    article = lock_article(session, article_id) if article_id is not None else None
    decision = session.get(ReviewDecision, decision_id, populate_existing=True)
    if article is None or decision is None or decision.status != PENDING:
        return None  # settled meanwhile, by its writer or another replica
    column, _requires, after, _touches = ACTIONS[decision.action]
    if root is not None and _file_says(root / article.source_path, after, root):
        decision.status = DONE
        editorial.after_decision(session, article, decision, fingerprint=article.content_hash)
        setattr(article, column, after)
        if owe_commit_in is not None:
            # The row's fingerprint is still the file's before the write, unless indexed since.
            _owe_commit(session, decision.id, owe_commit_in, seen=article.content_hash)
    else:
        decision.status = ABANDONED
        editorial.drop_approvals(session, decision.id)
        setattr(article, column, decision.old_value == "true")
    decision.owner = None
    # The file's fingerprint stays as the row has it: the indexer reads the file anew.
    article.version = Article.version + 1
    article.updated_at = utcnow()
    session.flush()
    return Settled(
        decision.id, decision.action, decision.status, article.source_path, decision.reviewer_id
    )


def _file_says(path: Path, value: bool, root: Path) -> bool:
    """Whether the article file's `published` flag is `value` (False when unreadable)."""
    try:
        return read_published(path, root=root) is value
    except WriteBackError:
        return False


def _approvers(view: ArticleView) -> tuple[tuple[str, str], ...]:
    return tuple((a.reviewer_id, a.reviewer_name) for a in view.approvals)


def _decision(row: ReviewDecision) -> Decision:
    return Decision(row.action, row.reviewer_id, row.reviewer_name, row.decided_at)


def _shown(value: bool) -> str:
    return "true" if value else "false"


# --- git commits of decisions and their push -----------------------------------------------


def record_commit(session: Session, decision_id: int, sha: str, *, pushing: bool) -> None:
    """The decision's file change is the git commit `sha`; "pending" when it is to be pushed."""
    session.merge(
        DecisionCommit(
            decision_id=decision_id,
            commit_sha=sha,
            push_state=PUSH_PENDING if pushing else LOCAL,
            updated_at=utcnow(),
            owed_in=None,
        )
    )
    session.flush()


def _owe_commit(session: Session, decision_id: int, clone: str, *, seen: str) -> None:
    # Until the commit is made, commit_sha holds the fingerprint of the file the reviewer
    # saw: the owed commit is made on that version only (bot.flows.gitsync._commit_one).
    session.merge(
        DecisionCommit(
            decision_id=decision_id,
            commit_sha=seen,
            push_state=UNCOMMITTED,
            updated_at=utcnow(),
            owed_in=clone,
        )
    )


@dataclass(frozen=True, slots=True)
class OwedCommit:
    """A decision whose file is written and whose git commit is still to be made: what
    the commit says (`Publish: <title>`, its approvers and who scheduled it)."""

    decision_id: int
    action: str
    source_path: str
    title: str
    approvers: tuple[tuple[str, str], ...]  # (user id, name), at least the reviewer
    scheduled_by: tuple[str, str] | None
    seen: str | None = None  # the fingerprint of the file the reviewer saw, if known


def owed_commits(session: Session, clone: str) -> list[OwedCommit]:
    """The decisions whose commits are owed in the clone `clone`, oldest first."""
    rows = session.execute(
        select(ReviewDecision, Article.source_path, Article.title, DecisionCommit.commit_sha)
        .join(DecisionCommit, DecisionCommit.decision_id == ReviewDecision.id)
        .join(Article, Article.id == ReviewDecision.article_id)
        .where(DecisionCommit.push_state == UNCOMMITTED, DecisionCommit.owed_in == clone)
        .order_by(ReviewDecision.id)
    ).all()
    ids = [d.id for d, _path, _title, _seen in rows]
    approvals: dict[int, list[tuple[str, str]]] = {}
    if ids:
        for a in session.scalars(
            select(Approval).where(Approval.decision_id.in_(ids)).order_by(Approval.id)
        ):
            assert a.decision_id is not None
            approvals.setdefault(a.decision_id, []).append((a.reviewer_id, a.reviewer_name))
    scheduled = schedulers(session, ids)
    return [
        OwedCommit(
            d.id,
            d.action,
            path,
            title,
            tuple(approvals.get(d.id) or [(d.reviewer_id, d.reviewer_name)]),
            scheduled.get(d.id),
            seen or None,
        )
        for d, path, title, seen in rows
    ]


def schedulers(session: Session, decision_ids: Collection[int]) -> dict[int, tuple[str, str]]:
    """Who scheduled the publication each of these decisions ran or fulfilled (a second
    reviewer's Publish fulfils a schedule waiting for one): {decision id: (user id, name)},
    for the commit's `Scheduled-by` trailer."""
    if not decision_ids:
        return {}
    return {
        p.decision_id: (p.scheduled_by_id, p.scheduled_by_name)
        for p in session.scalars(
            select(ScheduledPublication).where(
                ScheduledPublication.decision_id.in_(list(decision_ids))
            )
        )
        if p.decision_id is not None
    }


def forget_owed(session: Session, decision_id: int) -> None:
    """The owed commit has nothing to commit (the file has no change): no commit is owed."""
    row = session.get(DecisionCommit, decision_id, populate_existing=True)
    if row is not None and row.push_state == UNCOMMITTED:
        session.delete(row)
        session.flush()


def pending_pushes(session: Session) -> list[int]:
    """The decisions whose commits wait to be pushed, oldest first."""
    return list(
        session.scalars(
            select(DecisionCommit.decision_id)
            .where(DecisionCommit.push_state == PUSH_PENDING)
            .order_by(DecisionCommit.decision_id)
        )
    )


def record_pushes(
    session: Session, shas: Mapping[int, str], *, pushed: Collection[int]
) -> list[int]:
    """Record where pending decision commits are now: `shas` {decision id: commit sha},
    replayed or not; those in `pushed` are on the remote.

    Returns the articles of the decisions now pushed, whose version is bumped so
    that their posted cards drop "pushing…".
    """
    articles = []
    for decision_id, sha in shas.items():
        row = session.get(DecisionCommit, decision_id, populate_existing=True)
        if row is None or row.push_state != PUSH_PENDING:
            continue
        row.commit_sha, row.updated_at = sha, utcnow()
        if decision_id in pushed:
            row.push_state = PUSHED
            article_id = session.scalar(
                select(ReviewDecision.article_id).where(ReviewDecision.id == decision_id)
            )
            article = lock_article(session, article_id) if article_id is not None else None
            if article is not None:
                article.version = Article.version + 1
                articles.append(article.id)
    session.flush()
    return articles


@dataclass(frozen=True, slots=True)
class Reverted:
    """A decision undone by `revert_decision`, and its article as it is now."""

    decision_id: int
    action: str
    reviewer_id: str
    channel_id: str | None
    article: ArticleView


def revert_decision(session_factory: sessionmaker[Session], decision_id: int) -> Reverted | None:
    """Undo a decision that took effect but must not stand (its commit was dropped).

    The article's column goes back to the decision's old value, unless a later
    decision has changed it since; its version is bumped, so its posted cards
    are brought up to date; the audit record is marked "reverted" (and its
    commit "dropped"), so `newsbot audit` shows what happened. The file is
    not touched: the caller has put it back already, and the row's file
    fingerprint is cleared so that the next index reads the file again. Returns the record and
    the article as it is now, or None when the decision is not one that took
    effect, or whose commit is on the remote already (that is never undone).
    """
    with session_factory.begin() as session:
        article_id = session.scalar(
            select(ReviewDecision.article_id).where(ReviewDecision.id == decision_id)
        )
        article = lock_article(session, article_id) if article_id is not None else None
        decision = session.get(ReviewDecision, decision_id, populate_existing=True)
        commit = session.get(DecisionCommit, decision_id, populate_existing=True)
        if article is None or decision is None or decision.status != DONE:
            return None
        if commit is not None and commit.push_state == PUSHED:
            return None
        column, _requires, _after, _touches = ACTIONS[decision.action]
        later = session.scalar(
            select(func.count())
            .select_from(ReviewDecision)
            .where(
                ReviewDecision.article_id == article.id,
                ReviewDecision.id > decision.id,
                ReviewDecision.status.in_((DONE, PENDING)),
            )
        )
        if not later:
            setattr(article, column, decision.old_value == "true")
        decision.status = REVERTED
        if commit is not None:
            if commit.push_state == UNCOMMITTED:
                commit.commit_sha = ""  # it held a fingerprint, not a commit
            commit.push_state, commit.updated_at = DROPPED, utcnow()
        # The file is now whatever the upstream has, which may be byte for byte what the
        # decision wrote: the next index must read it again, not skip it by its hash.
        article.content_hash, article.size, article.mtime_ns = "", -1, -1
        article.version = Article.version + 1
        article.updated_at = utcnow()
        session.flush()
        return Reverted(
            decision.id,
            decision.action,
            decision.reviewer_id,
            decision.channel_id,
            views_of(session, [article])[0],
        )
