"""The editorial workflow's data: approvals of articles that need two reviewers, and
scheduled publications ("Publish at…").

Every write here locks the article row first (`lock_article`), as a review decision
does, so approvals, schedules, cancels and decisions on one article happen one at a
time across threads, processes and replicas. `storage.decisions` calls `publish_gate`
and `after_decision` inside its own transactions: a Publish counts its approvals under
the lock, and a decision that takes effect ends the article's open approvals and
schedules in the same commit. Functions take a Session and never commit.

Each schedule, cancel, approval and failed execution is also a row of the audit trail
(`review_decisions`, status "done", with its own action); a scheduled execution's
Publish is an ordinary publish decision, linked from its schedule.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Exists, and_, func, or_, select, update
from sqlalchemy.orm import Session

from storage.db import update_won
from storage.decision_state import DONE, WAITING, lock_article, pending_decision, state_of
from storage.models import (
    SCHEDULE_ACTIVE,
    Approval,
    Article,
    ReviewDecision,
    ScheduledPublication,
    utcnow,
)
from storage.text import name_key
from storage.types import ArticleView, Notice, Scheduling
from storage.views import views_of

#: Published this much after its time (the app was down), a publication says so.
LATE_AFTER = timedelta(minutes=10)
#: The furthest ahead a publication may be scheduled.
MAX_AHEAD = timedelta(days=90)
#: NEWSBOT_TWO_REVIEWERS for every article.
EVERY = "*"

# Audit-trail actions of the workflow (review_decisions.action, at most 16 characters).
APPROVE = "approve"
SCHEDULE = "schedule"
UNSCHEDULE = "unschedule"
SCHEDULE_FAILED = "schedule-failed"

_VERBS = {"publish": "published", "reject": "rejected", "unpublish": "unpublished"}


def needs_two(article: Article, rule: Collection[str] | None) -> bool:
    """Whether the article needs Publish from two reviewers.

    `rule` is NEWSBOT_TWO_REVIEWERS: topic and category names as `name_key`
    gives them, or `*` for every article; empty or None for none.
    """
    if not rule:
        return False
    if EVERY in rule:
        return True
    names = {name_key(t) for t in article.topics or () if isinstance(t, str)}
    if isinstance(article.category, str):
        names.add(name_key(article.category))
    return not names.isdisjoint(rule)


def when_text(moment: datetime) -> str:
    """A moment for the audit trail: `2026-12-01 08:00 UTC`."""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def bump(article: Article) -> None:
    """Something a card shows changed: every posted card of the article is behind now."""
    article.version = Article.version + 1
    article.updated_at = utcnow()


def audit(
    session: Session,
    article_id: int,
    action: str,
    reviewer: tuple[str, str],
    *,
    new_value: str | None = None,
    channel_id: str | None = None,
    message_ts: str | None = None,
    at: datetime | None = None,
) -> ReviewDecision:
    """Add a row to the audit trail (`newsbot audit`) for a step of the workflow."""
    row = ReviewDecision(
        article_id=article_id,
        action=action,
        reviewer_id=reviewer[0],
        reviewer_name=reviewer[1],
        old_value=None,
        new_value=new_value,
        channel_id=channel_id,
        message_ts=message_ts,
        decided_at=at or utcnow(),
        status=DONE,
        owner=None,
    )
    session.add(row)
    return row


# --- approvals ------------------------------------------------------------------------


def open_approvals(session: Session, article: Article) -> list[Approval]:
    """The article's approvals that still count: open, and of its file as it is now."""
    return list(
        session.scalars(
            select(Approval)
            .where(
                Approval.article_id == article.id,
                Approval.decision_id.is_(None),
                Approval.voided_at.is_(None),
                Approval.fingerprint == article.content_hash,
            )
            .order_by(Approval.id)
        )
    )


def approver_ids(session: Session, article_id: int) -> set[str]:
    """Who has an open approval of the article (of any version of its file), read unlocked:
    for the caller to find which of them are no longer reviewers."""
    return set(
        session.scalars(
            select(Approval.reviewer_id).where(
                Approval.article_id == article_id,
                Approval.decision_id.is_(None),
                Approval.voided_at.is_(None),
            )
        )
    )


def _approvers(rows: Sequence[Approval]) -> tuple[tuple[str, str], ...]:
    seen: dict[str, str] = {}
    for row in rows:
        seen.setdefault(row.reviewer_id, row.reviewer_name)
    return tuple(seen.items())


def _approve(
    session: Session,
    article: Article,
    reviewer: tuple[str, str],
    now: datetime,
    *,
    schedule_id: int | None = None,
    decision_id: int | None = None,
) -> None:
    """Record the reviewer's approval of the article's file as it is now."""
    session.add(
        Approval(
            article_id=article.id,
            reviewer_id=reviewer[0],
            reviewer_name=reviewer[1],
            fingerprint=article.content_hash,
            approved_at=now,
            schedule_id=schedule_id,
            decision_id=decision_id,
        )
    )


@dataclass(frozen=True, slots=True)
class Go:
    """A Publish goes ahead: its approvers, in order; and when this click is the approval
    that makes two, that reviewer (`completing`), whose approval is recorded with the
    decision (`link_approval`), so a Publish that does not take effect leaves none."""

    approvers: tuple[tuple[str, str], ...]
    completing: tuple[str, str] | None = None


def _scheduled_later(session: Session, article_id: int, now: datetime) -> bool:
    return any(s.status == "pending" and s.due_at > now for s in _active(session, article_id))


def publish_gate(
    session: Session,
    article: Article,
    *,
    reviewer: tuple[str, str],
    rule: Collection[str] | None,
    schedule_id: int | None,
    channel_id: str | None,
    message_ts: str | None,
    now: datetime,
    revoked: Collection[str] = (),
) -> str | Go:
    """Whether a Publish of this draft goes ahead; called with the article row locked.

    It does when the article needs one reviewer, or when with this reviewer's
    approval two different reviewers have approved the file as it is now.
    Otherwise what happened instead: "approved" (an approval, recorded),
    "approved-already" (this reviewer's approval is there; another's is missing,
    or the publication waits for its time), "approved-enough" (two others approved, and
    it waits for its time). While a publication of the article
    is scheduled for later, a Publish is only an approval: the schedule
    publishes it at its time. A scheduled execution (`schedule_id`) adds no
    approval: "waiting" when two are not there by its time, "cancelled" when
    its schedule ended meanwhile. Approvals of reviewers in `revoked` (no
    longer in NEWSBOT_REVIEWERS) do not count.
    """
    if schedule_id is not None:
        schedule = session.get(ScheduledPublication, schedule_id, populate_existing=True)
        if schedule is None or schedule.article_id != article.id or schedule.status != "running":
            return "cancelled"
    if not needs_two(article, rule):
        return Go((reviewer,))
    approvers = tuple(
        a for a in _approvers(open_approvals(session, article)) if a[0] not in revoked
    )
    ids = {i for i, _name in approvers}
    if schedule_id is not None:
        return Go(approvers) if len(ids) >= 2 else "waiting"
    later = _scheduled_later(session, article.id, now)
    if later and reviewer[0] not in ids and len(ids) >= 2:
        return "approved-enough"
    if reviewer[0] in ids:
        return Go(approvers) if len(ids) >= 2 and not later else "approved-already"
    if len(ids) + 1 >= 2 and not later:
        return Go((*approvers, reviewer), completing=reviewer)
    _approve(session, article, reviewer, now)
    audit(
        session,
        article.id,
        APPROVE,
        reviewer,
        new_value=f"{len(ids) + 1} of 2",
        channel_id=channel_id,
        message_ts=message_ts,
        at=now,
    )
    bump(article)
    return "approved"


def link_approval(
    session: Session,
    article: Article,
    decision: ReviewDecision,
    reviewer: tuple[str, str],
    *,
    at: datetime,
) -> None:
    """The approval that completes two, recorded with the Publish it starts (still pending):
    its audit record follows when the Publish takes effect (`after_decision`), and it goes
    with the decision if that is dropped (`drop_approvals`)."""
    _approve(session, article, reviewer, at, decision_id=decision.id)


def drop_approvals(session: Session, decision_id: int) -> None:
    """A pending Publish came to nothing: the approval it carried (`link_approval`) goes too,
    so neither the approvals nor the audit trail say it was approved twice."""
    for approval in session.scalars(select(Approval).where(Approval.decision_id == decision_id)):
        session.delete(approval)
    session.flush()


def after_decision(
    session: Session,
    article: Article,
    decision: ReviewDecision,
    *,
    fingerprint: str,
    schedule_id: int | None = None,
    approvers: Collection[str] | None = None,
) -> None:
    """A Publish, Reject or Unpublish took effect: it ends the article's open approvals and
    active schedules, in the decision's transaction.

    A Publish uses the approvals of the file it published (`fingerprint`) by the
    reviewers that counted (`approvers`, when known; the others are voided) and
    fulfils the schedule that ran it, or one waiting for a second reviewer; a
    schedule still to come is cancelled, as by a Reject or an Unpublish, and
    the cancel goes into the audit trail.
    """
    now = utcnow()
    if decision.action == "publish":
        linked = session.scalars(
            select(Approval).where(Approval.decision_id == decision.id).order_by(Approval.id)
        )
        for approval in linked:
            audit(
                session,
                article.id,
                APPROVE,
                (approval.reviewer_id, approval.reviewer_name),
                new_value="2 of 2",
                channel_id=decision.channel_id,
                message_ts=decision.message_ts,
                at=approval.approved_at,
            )
    for approval in session.scalars(
        select(Approval).where(
            Approval.article_id == article.id,
            Approval.decision_id.is_(None),
            Approval.voided_at.is_(None),
        )
    ):
        counted = approvers is None or approval.reviewer_id in approvers
        if decision.action == "publish" and approval.fingerprint == fingerprint and counted:
            approval.decision_id = decision.id
        else:
            approval.voided_at = now
    for schedule in _active(session, article.id):
        fulfils = decision.action == "publish" and (
            schedule.id == schedule_id
            or schedule.status in ("waiting", "running")
            or schedule.due_at <= now  # its time came, and its run is still to come
        )
        schedule.finished_at = now
        if fulfils:
            # `late` stays as the run's claim set it, from the runner's clock.
            schedule.status, schedule.decision_id = "published", decision.id
            schedule.late = schedule.late and schedule.id == schedule_id
            continue
        schedule.status = "cancelled"
        schedule.closed_by_id, schedule.closed_by_name = (
            decision.reviewer_id,
            decision.reviewer_name,
        )
        early = " before its time" if decision.action == "publish" else ""
        schedule.reason = f"{_VERBS[decision.action]} by {decision.reviewer_name}{early}"
        audit(
            session,
            article.id,
            UNSCHEDULE,
            (decision.reviewer_id, decision.reviewer_name),
            new_value=when_text(schedule.due_at),
            channel_id=decision.channel_id,
            message_ts=decision.message_ts,
            at=now,
        )


# --- scheduling and cancelling ----------------------------------------------------------


def _active(session: Session, article_id: int) -> list[ScheduledPublication]:
    return list(
        session.scalars(
            select(ScheduledPublication).where(
                ScheduledPublication.article_id == article_id,
                ScheduledPublication.status.in_(SCHEDULE_ACTIVE),
            )
        )
    )


def _refusal(
    session: Session,
    article: Article | None,
    *,
    fingerprint: str | None,
    due_at: datetime | None,
    now: datetime,
) -> Scheduling | None:
    """Why this article cannot be scheduled (at `due_at`, unless None); None if it can."""
    if article is None:
        return Scheduling("missing", None)
    view = views_of(session, [article])[0]
    if article.missing:
        return Scheduling("missing", view)
    if state_of(article) != "draft":
        return Scheduling("not-draft", view)
    if fingerprint is not None and article.content_hash != fingerprint:
        return Scheduling("stale", view)
    active = _active(session, article.id)
    if active:
        there = active[0]
        return Scheduling(
            "already-scheduled",
            view,
            there.id,
            there.due_at,
            (there.scheduled_by_id, there.scheduled_by_name),
        )
    if due_at is not None and due_at <= now:
        return Scheduling("past", view)
    if due_at is not None and due_at - now > MAX_AHEAD:
        return Scheduling("too-far", view)
    return None


def check_schedule(
    session: Session,
    *,
    article_id: int,
    fingerprint: str | None,
    due_at: datetime | None,
    now: datetime,
) -> Scheduling | None:
    """Why "Publish at…" for that moment (or, with `due_at` None, at all) would be refused,
    read without a lock; None if not.

    For the modal and its inline errors: `schedule_publication` checks again under the lock.
    """
    article = session.get(Article, article_id)
    return _refusal(session, article, fingerprint=fingerprint, due_at=due_at, now=now)


def schedule_publication(
    session: Session,
    *,
    article_id: int,
    fingerprint: str | None,
    due_at: datetime,
    reviewer: tuple[str, str],
    channel_id: str | None,
    message_ts: str | None,
    rule: Collection[str] | None,
    now: datetime,
) -> Scheduling:
    """Schedule the draft's publication at `due_at`, for its file as it is now.

    Refused unless the article is a draft whose file is the one the reviewer
    saw (`fingerprint`), with nothing scheduled yet, and `due_at` is in the
    next 90 days. For an article that needs two reviewers, scheduling counts
    as the scheduler's approval.
    """
    article = lock_article(session, article_id)
    refused = _refusal(session, article, fingerprint=fingerprint, due_at=due_at, now=now)
    if refused is not None:
        return refused
    assert article is not None
    schedule = ScheduledPublication(
        article_id=article.id,
        fingerprint=article.content_hash,
        due_at=due_at,
        scheduled_by_id=reviewer[0],
        scheduled_by_name=reviewer[1],
        scheduled_at=now,
        channel_id=channel_id,
        message_ts=message_ts,
        status="pending",
        late=False,
    )
    session.add(schedule)
    session.flush()
    audit(
        session,
        article.id,
        SCHEDULE,
        reviewer,
        new_value=when_text(due_at),
        channel_id=channel_id,
        message_ts=message_ts,
        at=now,
    )
    if needs_two(article, rule) and reviewer[0] not in dict(
        _approvers(open_approvals(session, article))
    ):
        _approve(session, article, reviewer, now, schedule_id=schedule.id)
    bump(article)
    session.flush()
    return Scheduling("scheduled", views_of(session, [article])[0], schedule.id, due_at, reviewer)


def cancel_schedule(
    session: Session,
    *,
    article_id: int,
    schedule_id: int,
    reviewer: tuple[str, str],
    channel_id: str | None,
    message_ts: str | None,
    now: datetime,
) -> Scheduling:
    """Cancel a scheduled publication that has not started; any reviewer may."""
    article = lock_article(session, article_id)
    if article is None:
        return Scheduling("missing", None)
    schedule = session.get(ScheduledPublication, schedule_id, populate_existing=True)
    if schedule is None or schedule.article_id != article.id:
        return Scheduling("over", views_of(session, [article])[0], schedule_id)
    by = (schedule.scheduled_by_id, schedule.scheduled_by_name)
    if schedule.status not in ("pending", "waiting"):
        closed = (
            (schedule.closed_by_id, schedule.closed_by_name or schedule.closed_by_id)
            if schedule.closed_by_id
            else None
        )
        return Scheduling(
            "running" if schedule.status == "running" else "over",
            views_of(session, [article])[0],
            schedule.id,
            schedule.due_at,
            by,
            closed,
            schedule.status,
        )
    schedule.status, schedule.finished_at = "cancelled", now
    schedule.closed_by_id, schedule.closed_by_name = reviewer
    schedule.reason = f"cancelled by {reviewer[1]}"
    for approval in session.scalars(
        select(Approval).where(
            Approval.schedule_id == schedule.id,
            Approval.decision_id.is_(None),
            Approval.voided_at.is_(None),
        )
    ):
        approval.voided_at = now
    audit(
        session,
        article.id,
        UNSCHEDULE,
        reviewer,
        new_value=when_text(schedule.due_at),
        channel_id=channel_id,
        message_ts=message_ts,
        at=now,
    )
    bump(article)
    session.flush()
    return Scheduling(
        "cancelled", views_of(session, [article])[0], schedule.id, schedule.due_at, by, reviewer
    )


# --- the job that publishes them ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Due:
    """A scheduled publication whose time has come (or a claim on one to look at)."""

    id: int
    article_id: int
    fingerprint: str
    due_at: datetime
    by: tuple[str, str]
    channel_id: str | None
    message_ts: str | None
    status: str
    claimed_by: str | None
    claimed_at: datetime | None


def _due(row: ScheduledPublication) -> Due:
    return Due(
        row.id,
        row.article_id,
        row.fingerprint,
        row.due_at,
        (row.scheduled_by_id, row.scheduled_by_name),
        row.channel_id,
        row.message_ts,
        row.status,
        row.claimed_by,
        row.claimed_at,
    )


def due_schedules(session: Session, *, now: datetime) -> list[Due]:
    """Pending publications whose time has come, oldest first; those waiting for a second
    reviewer whose article changed since (its file, or gone), which can no longer go out;
    and those being run (whose runner the caller may find gone)."""
    row = ScheduledPublication
    changed = and_(
        row.status == "waiting",
        or_(Article.missing.is_(True), Article.content_hash != row.fingerprint),
    )
    rows = session.scalars(
        select(row)
        .join(Article, Article.id == row.article_id)
        .where(
            or_(
                and_(row.status == "pending", row.due_at <= now),
                changed,
                row.status == "running",
            )
        )
        .order_by(row.due_at, row.id)
    )
    return [_due(r) for r in rows]


def claim_schedule(session: Session, due: Due, holder: str, *, now: datetime) -> bool:
    """Take a due publication to run it; False when someone else has.

    One conditional UPDATE, so of any number of runners (threads, processes,
    replicas) one wins. A running one is taken over only from the claimant
    the caller found gone (`due.claimed_by`). Run more than `LATE_AFTER` after
    its time (the app was down), it is marked late.
    """
    row = ScheduledPublication
    if due.status == "running":
        owned = and_(row.status == "running", row.claimed_by == due.claimed_by)
        if due.claimed_by is None:
            owned = and_(row.status == "running", row.claimed_by.is_(None))
    elif due.status == "waiting":
        owned = row.status == "waiting"
    else:
        owned = and_(row.status == "pending", row.due_at <= now)
    return update_won(
        session,
        row,
        row.id == due.id,
        owned,
        status="running",
        claimed_by=holder,
        claimed_at=now,
        late=now - due.due_at > LATE_AFTER,
    )


def settle_schedule(
    session: Session,
    schedule_id: int,
    holder: str,
    *,
    status: str,
    reason: str | None = None,
    code: str | None = None,
    now: datetime,
) -> bool:
    """After its execution: "waiting" (for a second reviewer), "pending" (try again later),
    or "failed" (`reason` for the card, `code` for the audit trail; the scheduler is
    to be told). Only while `holder` runs it; False otherwise.

    A failure while another decision on the article is being written is not one
    yet: it goes back to pending, and that decision, once done, ends it (or the
    next run publishes it, if that decision came to nothing).
    """
    article_id = session.scalar(
        select(ScheduledPublication.article_id).where(ScheduledPublication.id == schedule_id)
    )
    article = lock_article(session, article_id) if article_id is not None else None
    schedule = session.get(ScheduledPublication, schedule_id, populate_existing=True)
    if article is None or schedule is None:
        return False
    if schedule.status != "running" or schedule.claimed_by != holder:
        return False
    if status == "failed" and pending_decision(session, article.id) is not None:
        status = "pending"
    schedule.status = status
    if status == "failed":
        schedule.finished_at, schedule.reason, schedule.notice = now, reason, "due"
        audit(
            session,
            article.id,
            SCHEDULE_FAILED,
            (schedule.scheduled_by_id, schedule.scheduled_by_name),
            new_value=(code or "failed")[:64],
            channel_id=schedule.channel_id,
            message_ts=schedule.message_ts,
            at=now,
        )
    if status != "pending":
        bump(article)
    return True


# --- telling the scheduler that it failed -------------------------------------------------


def notices_due(session: Session) -> list[Notice]:
    """Failed publications whose scheduler is still to be told.

    One whose teller died during the Slack call stays "sending": Slack may have
    posted it, and telling once beats telling twice (the card says why anyway).
    """
    rows = session.scalars(
        select(ScheduledPublication)
        .where(ScheduledPublication.status == "failed", ScheduledPublication.notice == "due")
        .order_by(ScheduledPublication.id)
    )
    return [
        Notice(
            r.id,
            r.article_id,
            r.due_at,
            (r.scheduled_by_id, r.scheduled_by_name),
            r.channel_id,
            r.reason or "it could not be published",
        )
        for r in rows
    ]


def claim_notice(session: Session, notice_id: int, holder: str, *, now: datetime) -> bool:
    """Take the telling of one failure; False when someone else has it."""
    row = ScheduledPublication
    return update_won(
        session,
        row,
        row.id == notice_id,
        row.notice == "due",
        notice="sending",
        claimed_by=holder,
        claimed_at=now,
    )


def finish_notice(session: Session, notice_id: int, holder: str, *, sent: bool) -> None:
    """The scheduler was told (or may have been); or not, and someone may try again."""
    session.execute(
        update(ScheduledPublication)
        .where(ScheduledPublication.id == notice_id, ScheduledPublication.claimed_by == holder)
        .values(notice="sent" if sent else "due")
    )


# --- what reviewers see -----------------------------------------------------------------------


def scheduled(session: Session, *, limit: int = 100) -> tuple[list[ArticleView], int]:
    """Articles with a publication still to come (or waiting for a second reviewer), soonest
    first, each view carrying its schedule; and how many there are in all."""
    active = ScheduledPublication.status.in_(SCHEDULE_ACTIVE)
    total = session.scalar(select(func.count()).select_from(ScheduledPublication).where(active))
    rows = session.scalars(
        select(Article)
        .join(ScheduledPublication, ScheduledPublication.article_id == Article.id)
        .where(active)
        .order_by(ScheduledPublication.due_at, ScheduledPublication.id)
        .limit(limit)
    )
    return views_of(session, list(rows)), total or 0


def scheduled_ahead() -> Exists:
    """The condition "the article has a publication scheduled still to go out"."""
    return (
        select(ScheduledPublication.id)
        .where(
            ScheduledPublication.article_id == Article.id,
            ScheduledPublication.status.in_(("pending", "running")),
        )
        .exists()
    )


def waiting_drafts(session: Session, *, limit: int) -> tuple[list[ArticleView], int]:
    """Drafts waiting for a decision and not scheduled to go out, hottest first (then the
    longest waiting); and how many there are in all."""
    where = (*WAITING, ~scheduled_ahead())
    total = session.scalar(select(func.count()).select_from(Article).where(*where))
    rows = session.scalars(
        select(Article)
        .where(*where)
        .order_by(Article.heat.desc(), Article.first_indexed_at, Article.id)
        .limit(limit)
    )
    return views_of(session, list(rows)), total or 0


def queue_counts(session: Session) -> tuple[int, int]:
    """Drafts waiting for a decision, in two: those for review (as `waiting_drafts` counts
    them), and those scheduled to go out (which no reviewer needs to look at)."""
    ahead = scheduled_ahead()
    total, out = session.execute(
        select(func.count(), func.count().filter(ahead)).select_from(Article).where(*WAITING)
    ).one()
    return (total or 0) - (out or 0), out or 0


def decision_notes(session: Session, decision_ids: Sequence[int]) -> dict[int, str]:
    """For the audit trail: the approvers of each of these Publish decisions when more than
    one approved it, and who scheduled it when a schedule ran it."""
    if not decision_ids:
        return {}
    approvers: dict[int, list[str]] = {}
    for row in session.scalars(
        select(Approval)
        .where(Approval.decision_id.in_(decision_ids))
        .order_by(Approval.approved_at, Approval.id)
    ):
        who = f"{row.reviewer_name} ({row.reviewer_id})"
        if row.decision_id is not None and who not in approvers.setdefault(row.decision_id, []):
            approvers[row.decision_id].append(who)
    notes = {i: "approved by " + " and ".join(n) for i, n in approvers.items() if len(n) > 1}
    for schedule in session.scalars(
        select(ScheduledPublication).where(ScheduledPublication.decision_id.in_(decision_ids))
    ):
        assert schedule.decision_id is not None
        said = (
            f"scheduled by {schedule.scheduled_by_name} ({schedule.scheduled_by_id})"
            f" for {when_text(schedule.due_at)}"
        )
        if schedule.late:
            said += ", published late"
        earlier = notes.get(schedule.decision_id)
        notes[schedule.decision_id] = f"{earlier}; {said}" if earlier else said
    return notes
