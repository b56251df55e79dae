"""A decision's git commit and its push in the database, and undoing a decision that must
not stand: on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from storage.db import Database
from storage.decisions import (
    decide,
    decisions_since,
    pending_pushes,
    record_commit,
    record_pushes,
    revert_decision,
)
from storage.models import Article, DecisionCommit, ReviewDecision
from storage.sync import sync
from storage.types import Outcome
from storage.views import views_of

VOTER = "2026/11/voter-roll-privacy-audit.md"
CLINIC = "2026/11/clinic-scheduling-ransomware.md"


def publish(db: Database, root: Path, rel: str, action: str = "publish") -> Outcome:
    with db.Session() as session:
        article = session.scalar(select(Article).where(Article.source_path == rel))
        assert article is not None
        article_id, fingerprint = article.id, article.content_hash
    outcome = decide(
        db.WriteSession,
        article_id=article_id,
        action=action,
        fingerprint=fingerprint,
        reviewer_id="U0REVIEW",
        reviewer_name="rita",
        root=root,
        channel_id="C0DESK",
    )
    assert outcome.status == "done" and outcome.decision_id is not None
    return outcome


def row(db: Database, rel: str) -> Article:
    with db.Session() as session:
        found = session.scalar(select(Article).where(Article.source_path == rel))
        assert found is not None
        session.expunge(found)
        return found


def test_commits_are_pending_until_pushed_and_the_card_says_so(
    db: Database, articles_dir: Path
) -> None:
    sync(db.WriteSession, articles_dir)
    first = publish(db, articles_dir, VOTER)
    second = publish(db, articles_dir, CLINIC)
    with db.WriteSession.begin() as session:
        record_commit(session, first.decision_id, "a" * 40, pushing=True)
        record_commit(session, second.decision_id, "b" * 40, pushing=False)
    with db.Session() as session:
        assert pending_pushes(session) == [first.decision_id]
        (view,) = views_of(session, [session.get(Article, row(db, VOTER).id)])
    assert view.decision is not None and view.decision.pushing
    version = row(db, VOTER).version

    voter = row(db, VOTER).id
    with db.WriteSession.begin() as session:
        # Replayed on top of the upstream, then pushed: the new sha is kept.
        assert record_pushes(session, {first.decision_id: "c" * 40}, pushed=[]) == []
        pushed = record_pushes(session, {first.decision_id: "d" * 40}, pushed=[first.decision_id])
    assert pushed == [voter]
    with db.Session() as session:
        assert pending_pushes(session) == []
        commit = session.get(DecisionCommit, first.decision_id)
        assert commit is not None and (commit.commit_sha, commit.push_state) == ("d" * 40, "pushed")
        (view,) = views_of(session, [session.get(Article, row(db, VOTER).id)])
        entries = decisions_since(session, datetime.now(UTC) - timedelta(hours=1))
    assert view.decision is not None and not view.decision.pushing
    assert row(db, VOTER).version == version + 1  # its posted cards drop "pushing…"
    assert [(e.commit_sha, e.push_state, e.status) for e in entries] == [
        ("d" * 40, "pushed", "done"),
        ("b" * 40, "local", "done"),
    ]


def test_revert_puts_the_row_back_and_marks_the_audit_record(
    db: Database, articles_dir: Path
) -> None:
    sync(db.WriteSession, articles_dir)
    draft = (articles_dir / VOTER).read_bytes()
    done = publish(db, articles_dir, VOTER)
    with db.WriteSession.begin() as session:
        record_commit(session, done.decision_id, "a" * 40, pushing=True)
    version = row(db, VOTER).version

    reverted = revert_decision(db.WriteSession, done.decision_id)

    assert reverted is not None
    assert (reverted.action, reverted.reviewer_id, reverted.channel_id) == (
        "publish",
        "U0REVIEW",
        "C0DESK",
    )
    assert not reverted.article.published and reverted.article.decision is None
    after = row(db, VOTER)
    assert not after.published and after.version == version + 1
    with db.Session() as session:
        decision = session.get(ReviewDecision, done.decision_id)
        commit = session.get(DecisionCommit, done.decision_id)
        entries = decisions_since(session, datetime.now(UTC) - timedelta(hours=1))
        assert decision is not None and decision.status == "reverted"
        assert commit is not None and commit.push_state == "dropped"
    assert [(e.action, e.status, e.push_state) for e in entries] == [
        ("publish", "reverted", "dropped")
    ]
    # Once is all: a reverted decision is not reverted again.
    assert revert_decision(db.WriteSession, done.decision_id) is None
    # The caller put the file back (the upstream's version); once indexed, the article
    # can be decided on anew.
    (articles_dir / VOTER).write_bytes(draft)
    sync(db.WriteSession, articles_dir)
    publish(db, articles_dir, VOTER)


def test_after_a_revert_the_next_index_reads_the_file_again(
    db: Database, articles_dir: Path
) -> None:
    # The upstream made the very edit the decision made (published: true, byte for byte):
    # the file is what the decision wrote, and the row must say what the file says.
    sync(db.WriteSession, articles_dir)
    done = publish(db, articles_dir, VOTER)
    with db.WriteSession.begin() as session:
        record_commit(session, done.decision_id, "a" * 40, pushing=True)
    revert_decision(db.WriteSession, done.decision_id)
    assert not row(db, VOTER).published

    report = sync(db.WriteSession, articles_dir)

    assert report.updated == 1
    assert row(db, VOTER).published
    assert b"\npublished: true\n" in (articles_dir / VOTER).read_bytes()


def test_a_pushed_decision_is_never_reverted(db: Database, articles_dir: Path) -> None:
    sync(db.WriteSession, articles_dir)
    done = publish(db, articles_dir, VOTER)
    with db.WriteSession.begin() as session:
        record_commit(session, done.decision_id, "a" * 40, pushing=True)
        record_pushes(session, {done.decision_id: "a" * 40}, pushed=[done.decision_id])
    assert revert_decision(db.WriteSession, done.decision_id) is None
    assert row(db, VOTER).published


def test_reverting_an_earlier_decision_leaves_what_a_later_one_set(
    db: Database, articles_dir: Path
) -> None:
    sync(db.WriteSession, articles_dir)
    first = publish(db, articles_dir, VOTER)
    sync(db.WriteSession, articles_dir)
    second = publish(db, articles_dir, VOTER, action="unpublish")
    assert revert_decision(db.WriteSession, first.decision_id) is not None
    assert not row(db, VOTER).published  # the unpublish stands
    assert revert_decision(db.WriteSession, second.decision_id) is not None
    assert row(db, VOTER).published  # back to what the publish had set
