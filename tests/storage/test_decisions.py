"""storage.decisions, called directly: each outcome of `decide` against a real database
(SQLite, and PostgreSQL when configured) and real files; the queue and the audit trail.

Through Slack, the same decisions are tested in tests/bot/flows/test_review.py and, under
bad timing and crashes, in tests/hostile/test_decisions.py."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.db import Database
from storage.decisions import decide, decisions_since, pending_count, review_queue
from storage.hashing import content_hash
from storage.models import ReviewDecision, utcnow
from storage.sync import sync
from storage.types import Outcome
from tests.builders import (
    HARBOR_FILE,
    REPO,
    VOTER_FILE,
    ZURICH_FILE,
    article_id,
    article_row,
    decision_records,
    indexed,
)

RITA, OTTO = "U0RITA", "U0OTTO"
CLOUD_FILE = "2026/11/cloud-bills-q-and-a.md"
RANSOMWARE_FILE = "2026/11/clinic-scheduling-ransomware.md"
#: The card's fingerprint: the article's as indexed now, as on a card just shown.
FRESH = object()


@pytest.fixture
def root(db: Database, articles_dir: Path) -> Path:
    """The examples, indexed into `db`."""
    sync(db.WriteSession, articles_dir)
    return articles_dir


def click(
    db: Database,
    root: Path,
    source_path: str,
    action: str,
    *,
    reviewer: str = RITA,
    fingerprint: object = FRESH,
    article: int | None = None,
) -> Outcome:
    """`decide` as a reviewer's click on the article's card does."""
    indexed_now = article_row(db, source_path)
    return decide(
        db.WriteSession,
        article_id=indexed_now.id if article is None else article,
        action=action,
        fingerprint=indexed_now.content_hash if fingerprint is FRESH else fingerprint,
        reviewer_id=reviewer,
        reviewer_name=reviewer.removeprefix("U0").lower(),
        root=root,
        channel_id="C0NEWS",
        message_ts="1764150000.000100",
    )


# --- done -------------------------------------------------------------------------------


def test_publish_is_done_in_the_file_the_row_and_the_record(db, root):
    path = root / VOTER_FILE
    before, old = path.read_bytes(), article_row(db, VOTER_FILE)

    outcome = click(db, root, VOTER_FILE, "publish")

    assert (outcome.status, outcome.state, outcome.path) == ("done", "published", path)
    assert outcome.article.published and outcome.article.decision.reviewer_id == RITA
    assert path.read_bytes() == before.replace(b"published: false", b"published: true")
    new = article_row(db, VOTER_FILE)
    assert new.published and new.version > old.version
    assert new.content_hash == content_hash(path.read_bytes())  # what the card now carries
    assert outcome.article.fingerprint == new.content_hash
    with db.Session() as session:
        (record,) = session.scalars(select(ReviewDecision)).all()
    assert (record.action, record.reviewer_id, record.reviewer_name, record.status) == (
        "publish",
        RITA,
        "rita",
        "done",
    )
    assert (record.old_value, record.new_value, record.owner) == ("false", "true", None)
    assert (record.channel_id, record.message_ts) == ("C0NEWS", "1764150000.000100")
    # The indexer reads the file the decision wrote as the version it already has.
    assert sync(db.WriteSession, root).updated == 0


def test_reject_is_done_without_touching_the_file(db, root):
    before = (root / VOTER_FILE).read_bytes()
    outcome = click(db, root, VOTER_FILE, "reject")
    assert (outcome.status, outcome.state, outcome.path) == ("done", "rejected", None)
    assert (root / VOTER_FILE).read_bytes() == before
    voter = article_row(db, VOTER_FILE)
    assert (voter.published, voter.rejected) == (False, True)
    assert decision_records(db) == [("reject", RITA, "done")]


def test_unpublish_is_done_in_the_file(db, root):
    before = (root / HARBOR_FILE).read_bytes()
    outcome = click(db, root, HARBOR_FILE, "unpublish")
    assert (outcome.status, outcome.state) == ("done", "draft")
    assert (root / HARBOR_FILE).read_bytes() == before.replace(
        b"published: true", b"published: false"
    )
    assert article_row(db, HARBOR_FILE).published is False


# --- already ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "state"),
    [
        ("publish", "publish", "published"),
        ("publish", "reject", "published"),
        ("reject", "publish", "rejected"),
        ("reject", "reject", "rejected"),
    ],
)
def test_a_second_decision_is_already_taken_and_names_the_first(db, root, first, second, state):
    click(db, root, VOTER_FILE, first, reviewer=RITA)
    after_first, version = (root / VOTER_FILE).read_bytes(), article_row(db, VOTER_FILE).version

    outcome = click(db, root, VOTER_FILE, second, reviewer=OTTO)

    assert (outcome.status, outcome.state) == ("already", state)
    assert (outcome.previous.action, outcome.previous.reviewer_id) == (first, RITA)
    assert (root / VOTER_FILE).read_bytes() == after_first
    assert article_row(db, VOTER_FILE).version == version
    assert decision_records(db) == [(first, RITA, "done")]


def test_unpublish_of_a_draft_is_already_and_says_it_is_a_draft(db, root):
    outcome = click(db, root, VOTER_FILE, "unpublish")
    assert (outcome.status, outcome.state, outcome.previous) == ("already", "draft", None)
    assert decision_records(db) == []


# --- stale ------------------------------------------------------------------------------


def test_a_card_older_than_the_indexed_file_is_stale(db, root):
    card = article_row(db, VOTER_FILE).content_hash
    path = root / VOTER_FILE
    edited = path.read_bytes().replace(b"quality: 48", b"quality: 49")
    path.write_bytes(edited)
    sync(db.WriteSession, root)  # the index has the editor's version; the card does not

    outcome = click(db, root, VOTER_FILE, "publish", fingerprint=card)

    assert outcome.status == "stale"
    assert outcome.article.fingerprint == content_hash(edited)  # the fresh card to show
    assert outcome.article.quality == 49
    assert path.read_bytes() == edited
    assert article_row(db, VOTER_FILE).published is False
    assert decision_records(db) == []


def test_a_file_edited_since_it_was_indexed_is_stale_and_the_row_is_put_back(db, root):
    path = root / VOTER_FILE
    edited = path.read_bytes().replace(b"quality: 48", b"quality: 49")
    path.write_bytes(edited)  # not indexed yet: the row and the card still agree

    outcome = click(db, root, VOTER_FILE, "publish")

    assert outcome.status == "stale"
    assert path.read_bytes() == edited
    assert article_row(db, VOTER_FILE).published is False
    assert decision_records(db) == []  # the pending record went with the undo
    assert click(db, root, VOTER_FILE, "publish").status == "stale"  # until it is indexed
    sync(db.WriteSession, root)
    assert click(db, root, VOTER_FILE, "publish").status == "done"


# --- missing ----------------------------------------------------------------------------


def test_no_such_article_is_missing(db, root):
    outcome = click(db, root, VOTER_FILE, "publish", article=987654)
    assert (outcome.status, outcome.article) == ("missing", None)
    assert decision_records(db) == []


def test_a_file_gone_since_it_was_indexed_is_missing_and_the_row_is_put_back(db, root):
    (root / VOTER_FILE).unlink()
    outcome = click(db, root, VOTER_FILE, "publish")
    assert outcome.status == "missing"
    assert article_row(db, VOTER_FILE).published is False
    assert decision_records(db) == []
    assert not (root / VOTER_FILE).exists()  # nothing written in its place


def test_an_article_the_index_found_gone_is_missing(db, root):
    aid = article_id(db, VOTER_FILE)
    (root / VOTER_FILE).unlink()
    sync(db.WriteSession, root)
    outcome = click(db, root, VOTER_FILE, "reject")
    assert (outcome.status, outcome.article.id) == ("missing", aid)
    assert article_row(db, VOTER_FILE).rejected is False
    assert decision_records(db) == []


# --- failed -----------------------------------------------------------------------------


def test_a_file_the_write_back_refuses_fails_naming_it_and_changes_nothing(db, root):
    path = root / VOTER_FILE
    # Two published keys: YAML keeps the last, the indexer accepts it, the write-back refuses.
    twice = path.read_bytes().replace(b"published: false", b"published: false\npublished: false")
    path.write_bytes(twice)
    sync(db.WriteSession, root)

    outcome = click(db, root, VOTER_FILE, "publish")

    assert outcome.status == "failed"
    assert outcome.problem.startswith(f"{VOTER_FILE}: the frontmatter has more than one")
    assert str(root) not in outcome.problem
    assert path.read_bytes() == twice
    assert article_row(db, VOTER_FILE).published is False
    assert decision_records(db) == []


# --- races ------------------------------------------------------------------------------


def decide_at_once(db: Database, root: Path, actions: list[str]) -> list[Outcome]:
    """Each action on the voter-roll card, all from one card, each in its own thread."""
    card = article_row(db, VOTER_FILE).content_hash
    aid = article_id(db, VOTER_FILE)
    barrier = threading.Barrier(len(actions))
    outcomes: list[Outcome] = []

    def go(n: int, action: str) -> None:
        barrier.wait()
        outcomes.append(
            click(db, root, VOTER_FILE, action, reviewer=f"U{n}", fingerprint=card, article=aid)
        )

    threads = [threading.Thread(target=go, args=(n, a)) for n, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_of_eight_publishes_at_once_one_is_done_and_seven_already(db, root):
    before = (root / VOTER_FILE).read_bytes()
    outcomes = decide_at_once(db, root, ["publish"] * 8)
    assert Counter(o.status for o in outcomes) == {"done": 1, "already": 7}
    (winner,) = [o for o in outcomes if o.status == "done"]
    assert {o.previous.reviewer_id for o in outcomes if o.status == "already"} == {
        winner.article.decision.reviewer_id
    }
    assert [r[2] for r in decision_records(db)] == ["done"]
    assert (root / VOTER_FILE).read_bytes() == before.replace(
        b"published: false", b"published: true"
    )


def test_publish_and_reject_at_once_decide_once_and_the_file_agrees(db, root):
    outcomes = decide_at_once(db, root, ["publish", "reject"] * 4)
    (winner,) = [o for o in outcomes if o.status == "done"]
    assert Counter(o.status for o in outcomes) == {"done": 1, "already": 7}
    assert {o.state for o in outcomes} == {winner.state}
    voter = article_row(db, VOTER_FILE)
    assert (voter.published, voter.rejected) == (
        winner.state == "published",
        winner.state == "rejected",
    )
    published = b"published: true" in (root / VOTER_FILE).read_bytes()
    assert published is voter.published


def test_two_processes_on_postgresql_publish_once(articles_dir, postgres_url, tmp_path):
    script = tmp_path / "click.py"
    script.write_text(
        "import sys\n"
        "from pathlib import Path\n"
        "from storage.db import open_database\n"
        "from storage.decisions import decide\n"
        "db = open_database(sys.argv[1])\n"
        "o = decide(db.WriteSession, article_id=int(sys.argv[2]), action='publish',\n"
        "           fingerprint=sys.argv[3], reviewer_id='U' + sys.argv[4],\n"
        "           reviewer_name='p', root=Path(sys.argv[5]))\n"
        "print(o.status)\n"
    )
    with indexed(postgres_url, articles_dir) as db:
        aid, card = article_id(db, VOTER_FILE), article_row(db, VOTER_FILE).content_hash
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    str(script),
                    postgres_url,
                    str(aid),
                    card,
                    str(n),
                    str(articles_dir),
                ],
                cwd=REPO,
                stdout=subprocess.PIPE,
                text=True,
            )
            for n in range(2)
        ]
        results = sorted(p.communicate(timeout=60)[0].strip() for p in procs)
        assert results == ["already", "done"]
        assert [r[2] for r in decision_records(db)] == ["done"]


# --- the queue and the audit trail ------------------------------------------------------


def queue_titles(db: Database, **page: int) -> tuple[list[str], bool]:
    with db.Session() as session:
        views, more = review_queue(session, **page)
    return [v.title.split()[0] for v in views], more


def test_the_queue_is_the_drafts_hottest_first_a_page_at_a_time(db, root):
    assert queue_titles(db) == (["Zürich", "State", "Q&A:", "Ransomware"], False)
    assert queue_titles(db, limit=2) == (["Zürich", "State"], True)
    assert queue_titles(db, offset=2, limit=2) == (["Q&A:", "Ransomware"], False)
    with db.Session() as session:
        assert pending_count(session) == 4


def test_decided_and_missing_drafts_leave_the_queue(db, root):
    click(db, root, VOTER_FILE, "publish")
    click(db, root, CLOUD_FILE, "reject")
    (root / RANSOMWARE_FILE).unlink()
    sync(db.WriteSession, root)
    assert queue_titles(db) == (["Zürich"], False)
    with db.Session() as session:
        assert pending_count(session) == 1
    click(db, root, VOTER_FILE, "unpublish")  # a draft again, back in the queue
    assert queue_titles(db) == (["Zürich", "State"], False)


def test_the_audit_trail_lists_what_took_effect_oldest_first(db, root):
    start = utcnow()
    click(db, root, VOTER_FILE, "publish", reviewer=RITA)
    click(db, root, ZURICH_FILE, "reject", reviewer=OTTO)
    click(db, root, VOTER_FILE, "publish", reviewer=OTTO)  # already: no record
    (root / CLOUD_FILE).unlink()
    click(db, root, CLOUD_FILE, "publish")  # missing: no record
    with db.WriteSession.begin() as session:  # a crash's leftovers: not decisions that count
        cloud = article_id(db, CLOUD_FILE)
        for status in ("pending", "abandoned"):
            session.add(
                ReviewDecision(
                    article_id=cloud,
                    action="publish",
                    reviewer_id="U0CRASH",
                    reviewer_name="crash",
                    status=status,
                )
            )

    with db.Session() as session:
        trail = decisions_since(session, start)
        later = decisions_since(session, trail[1].decided_at)
        none = decisions_since(session, utcnow() + timedelta(seconds=1))
    assert [(e.action, e.reviewer_id, e.old_value, e.new_value) for e in trail] == [
        ("publish", RITA, "false", "true"),
        ("reject", OTTO, "false", "true"),
    ]
    assert trail[0].title.startswith("State Auditor") and trail[0].web_url.endswith("audit")
    assert (trail[0].channel_id, trail[0].message_ts) == ("C0NEWS", "1764150000.000100")
    assert [e.reviewer_id for e in later] == [OTTO]
    assert none == []
