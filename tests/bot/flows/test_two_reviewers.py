"""Two reviewers: articles matching NEWSBOT_TWO_REVIEWERS need Publish from two different
reviewers; the second approval publishes exactly once, also when two click at the same moment
(threads on both databases, two processes on PostgreSQL); scheduled ones wait for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.flows.schedule import run_due
from bot.render import actions
from storage.decisions import decisions_since
from storage.models import Approval
from storage.sync import sync
from tests.bot.flows.editorial_kit import (
    CLOUD,
    NAMES,
    OUTSIDER,
    SECOND,
    THIRD,
    VOTER,
    VOTER_FILE,
    ZURICH,
    Desk,
    action_ids,
    button,
    card_text,
    make_desk,
    row_held,
)
from tests.builders import REVIEWER
from tests.slack_requests import block_action

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def desk(slack, database_url, articles_dir) -> Desk:
    # The voter story is tagged Privacy: "privacy" matches it in any case.
    desk = make_desk(slack, database_url, articles_dir, NEWSBOT_TWO_REVIEWERS="privacy, Elections")
    yield desk
    desk.db.dispose()


def file_of(desk: Desk) -> bytes:
    return (desk.settings.articles_dir / VOTER_FILE).read_bytes()


def approvals(desk: Desk) -> list[Approval]:
    with desk.db.Session() as session:
        return list(session.query(Approval).order_by(Approval.id))


def audit(desk: Desk):
    with desk.db.Session() as session:
        return decisions_since(session, datetime(2000, 1, 1, tzinfo=UTC))


def test_the_first_publish_is_an_approval_and_every_card_says_so(desk, slack):
    before = file_of(desk)
    shared = desk.share(VOTER)
    voter = desk.article_id(VOTER)
    replies = desk.click(desk.queue(), actions.REVIEW_PUBLISH, VOTER)
    assert file_of(desk) == before and desk.decisions("publish") == []
    assert any("needs a second reviewer" in r["text"] for r in replies)
    (update,) = slack.calls_to("chat.update")
    assert update.args["ts"] == shared["ts"]
    said = card_text(update.args, voter)
    assert f"Approved by <@{REVIEWER}> · needs one more reviewer" in said
    assert actions.REVIEW_PUBLISH in action_ids(update.args, voter)  # still a draft
    assert [d.reviewer_id for d in desk.decisions("approve")] == [REVIEWER]


def test_the_same_reviewer_again_is_told_another_must_approve(desk, slack):
    queue = desk.queue()
    desk.click(queue, actions.REVIEW_PUBLISH, VOTER)
    slack.reset()
    replies = desk.click(queue, actions.REVIEW_PUBLISH, VOTER)
    assert any("another reviewer must approve" in r["text"] for r in replies)
    assert b"published: false" in file_of(desk)
    assert len(approvals(desk)) == 1 and desk.decisions("publish") == []


def test_the_second_reviewer_publishes_and_the_audit_names_both(desk, slack):
    before = file_of(desk)
    desk.click(desk.queue(), actions.REVIEW_PUBLISH, VOTER)
    replies = desk.click(desk.queue(SECOND), actions.REVIEW_PUBLISH, VOTER, user=SECOND)
    assert file_of(desk) == before.replace(b"published: false", b"published: true")
    (published,) = desk.decisions("publish")
    assert published.reviewer_id == SECOND
    entry = next(e for e in audit(desk) if e.action == "publish")
    assert entry.note == "approved by rita (U0REVIEW) and sam (U0SECOND)"
    card = json.dumps(replies[-1]["blocks"])
    assert f"Published by <@{SECOND}>" in card


def test_reject_by_anyone_ends_it(desk, slack):
    desk.click(desk.queue(), actions.REVIEW_PUBLISH, VOTER)
    old_card = desk.queue(SECOND)
    desk.click(desk.queue(THIRD), actions.REVIEW_REJECT, VOTER, user=THIRD)
    assert all(a.voided_at is not None for a in approvals(desk))
    replies = desk.click(old_card, actions.REVIEW_PUBLISH, VOTER, user=SECOND)
    assert any("Already rejected by" in r["text"] for r in replies)
    assert b"published: false" in file_of(desk) and desk.decisions("publish") == []


def test_articles_that_do_not_match_need_one_reviewer(desk):
    desk.click(desk.queue(), actions.REVIEW_PUBLISH, ZURICH)
    assert [d.action for d in desk.decisions()] == ["publish"]


@pytest.mark.parametrize("rule", ["*", "TECHNOLOGY", "cloud  computing"])
def test_every_article_or_a_category_or_a_topic_in_any_case(
    slack, database_url, articles_dir, rule
):
    desk = make_desk(slack, database_url, articles_dir, NEWSBOT_TWO_REVIEWERS=rule)
    desk.click(desk.queue(), actions.REVIEW_PUBLISH, CLOUD)  # category technology
    assert desk.decisions("publish") == [] and len(approvals(desk)) == 1
    desk.db.dispose()


def test_an_approval_of_an_earlier_version_of_the_file_does_not_count(desk, slack):
    desk.click(desk.queue(), actions.REVIEW_PUBLISH, VOTER)
    path = desk.settings.articles_dir / VOTER_FILE
    path.write_bytes(path.read_bytes().replace(b"quality: 48", b"quality: 49"))
    sync(desk.db.WriteSession, desk.settings.articles_dir)
    replies = desk.click(desk.queue(SECOND), actions.REVIEW_PUBLISH, VOTER, user=SECOND)
    assert any("needs a second reviewer" in r["text"] for r in replies)
    assert desk.decisions("publish") == []
    said = card_text(replies[-1], desk.article_id(VOTER))
    assert f"Approved by <@{SECOND}> · needs one more reviewer" in said and REVIEWER not in said


def test_non_reviewers_cannot_approve(desk, slack):
    replies = desk.click(desk.queue(OUTSIDER), actions.REVIEW_PUBLISH, VOTER, user=OUTSIDER)
    assert any("Only reviewers can publish" in r["text"] for r in replies)
    assert approvals(desk) == [] and desk.decisions() == []


def test_the_git_commit_names_both(slack, database_url, articles_dir):
    git = ["git", "-C", str(articles_dir)]
    ident = ["-c", "user.name=pipe", "-c", "user.email=p@x"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, *ident, "add", "."], check=True)
    subprocess.run([*git, *ident, "commit", "-qm", "import"], check=True)
    desk = make_desk(
        slack,
        database_url,
        articles_dir,
        NEWSBOT_TWO_REVIEWERS="privacy",
        NEWSBOT_GIT_COMMIT="true",
        NEWSBOT_GIT_AUTHOR="Newsbot <newsbot@desk.example>",
    )
    desk.click(desk.queue(), actions.REVIEW_PUBLISH, VOTER)
    desk.click(desk.queue(SECOND), actions.REVIEW_PUBLISH, VOTER, user=SECOND)
    log = subprocess.run(
        [*git, "log", "-1", "--format=%B"], capture_output=True, text=True, check=True
    ).stdout
    trailers = [line for line in log.splitlines() if line.startswith("Approved-by:")]
    assert trailers == [f"Approved-by: rita <{REVIEWER}>", f"Approved-by: sam <{SECOND}>"]
    desk.db.dispose()


# --- at the same moment ------------------------------------------------------------------------


def clicks_at_once(desk: Desk, users: list[str]) -> list[str]:
    """Each user clicks Publish on the voter story at the same moment; what each was told."""
    queue = desk.queue(users[0])
    element = button(queue, actions.REVIEW_PUBLISH, desk.article_id(VOTER))
    requests = {
        user: block_action(
            actions.REVIEW_PUBLISH,
            element["value"],
            user_id=user,
            user_name=NAMES[user],
            message_blocks=queue["blocks"],
            response_url=desk.slack.response_url(),
        )
        for user in users
    }
    barrier = threading.Barrier(len(users))

    def go(user: str) -> None:
        barrier.wait()
        assert desk.app.dispatch(requests[user].bolt_request()).status == 200

    threads = [threading.Thread(target=go, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [c.args.get("text", "") for c in desk.slack.calls_to("response_url")]


def test_two_second_approvals_at_the_same_moment_publish_once(desk, slack):
    desk.click(desk.queue(), actions.REVIEW_PUBLISH, VOTER)
    told = clicks_at_once(desk, [SECOND, THIRD])
    assert len(desk.decisions("publish")) == 1
    assert sum("Already published" in t for t in told) == 1
    assert file_of(desk).count(b"published: true") == 1


def test_two_first_approvals_at_the_same_moment_publish_once_naming_both(desk, slack):
    told = clicks_at_once(desk, [REVIEWER, SECOND])
    assert len(desk.decisions("publish")) == 1
    assert sum("needs a second reviewer" in t for t in told) == 1
    entry = next(e for e in audit(desk) if e.action == "publish")
    assert entry.note in (
        "approved by rita (U0REVIEW) and sam (U0SECOND)",
        "approved by sam (U0SECOND) and rita (U0REVIEW)",
    )


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("approved_before", "expected"),
    [(True, ["already", "done"]), (False, ["approved", "done"])],
    ids=["second-approvals", "first-approvals"],
)
def test_two_processes_approving_at_once_publish_once(
    slack, postgres_url, articles_dir, approved_before, expected
):
    desk = make_desk(slack, postgres_url, articles_dir, NEWSBOT_TWO_REVIEWERS="privacy")
    if approved_before:
        desk.click(desk.queue(), actions.REVIEW_PUBLISH, VOTER)
    article = desk.article(VOTER)
    env = {
        **os.environ,
        "NEWSBOT_DATABASE_URL": postgres_url,
        "NEWSBOT_ARTICLES_DIR": str(articles_dir),
        "NEWSBOT_TWO_REVIEWERS": "privacy",
    }
    worker = [sys.executable, "-m", "tests.bot.flows.editorial_worker", "approve"]
    # Both reach the article row's lock while the test holds it, then go at once.
    with row_held(desk, "articles") as held:
        procs = [
            subprocess.Popen(
                [*worker, str(article.id), article.content_hash, user, NAMES[user]],
                env=env,
                cwd=REPO,
                stdout=subprocess.PIPE,
                text=True,
            )
            for user in (SECOND, THIRD)
        ]
        held.wait_for_waiters("SELECT articles.", 2)
    said = sorted(p.communicate(timeout=60)[0].strip() for p in procs)
    assert said == expected
    assert len(desk.decisions("publish")) == 1
    assert file_of(desk).count(b"published: true") == 1
    desk.db.dispose()


# --- scheduled -----------------------------------------------------------------------------------


def in_a_day() -> datetime:
    return (datetime.now(UTC) + timedelta(days=1)).replace(second=0, microsecond=0)


def test_a_scheduled_one_waits_for_the_second_reviewer_and_the_card_says_so(desk, slack):
    shared = desk.share(VOTER)
    when = in_a_day()
    desk.schedule(VOTER, when)
    slack.reset()
    ((_id, status),) = run_due(desk.settings, desk.db, desk.client, now=when)
    assert status == "waiting"
    assert b"published: false" in file_of(desk) and desk.decisions("publish") == []
    (update,) = slack.calls_to("chat.update")
    assert update.args["ts"] == shared["ts"]
    assert "waiting for a second reviewer" in card_text(update.args, desk.article_id(VOTER))
    # It does not come up again every minute.
    assert run_due(desk.settings, desk.db, desk.client, now=when + timedelta(minutes=1)) == []
    # A second reviewer's Publish sends it out, as the schedule asked.
    desk.click(desk.queue(SECOND), actions.REVIEW_PUBLISH, VOTER, user=SECOND)
    assert b"published: true" in file_of(desk)
    (schedule,) = desk.schedules()
    assert schedule.status == "published"
    entry = next(e for e in audit(desk) if e.action == "publish")
    assert entry.note.startswith("approved by rita (U0REVIEW) and sam (U0SECOND)")


def test_approved_first_then_scheduled_by_another_goes_out_at_its_time(desk, slack):
    desk.click(desk.queue(), actions.REVIEW_PUBLISH, VOTER)
    when = in_a_day()
    desk.schedule(VOTER, when, user=SECOND)
    assert b"published: false" in file_of(desk)
    ((_id, status),) = run_due(desk.settings, desk.db, desk.client, now=when)
    assert status == "done" and b"published: true" in file_of(desk)
    entry = next(e for e in audit(desk) if e.action == "publish")
    assert entry.note == (
        "approved by rita (U0REVIEW) and sam (U0SECOND); scheduled by sam (U0SECOND) for "
        f"{when:%Y-%m-%d %H:%M} UTC"
    )


def test_cancelling_withdraws_the_schedulers_approval(desk, slack):
    desk.schedule(VOTER, in_a_day())
    listed = desk.command("scheduled")
    desk.click(listed, actions.REVIEW_CANCEL_SCHEDULE, VOTER, user=SECOND)
    # Sam's Publish is now a first approval, not the second one.
    replies = desk.click(desk.queue(SECOND), actions.REVIEW_PUBLISH, VOTER, user=SECOND)
    assert any("needs a second reviewer" in r["text"] for r in replies)
    assert desk.decisions("publish") == []


def test_one_waiting_for_a_second_reviewer_fails_when_its_file_changes(desk, slack):
    when = in_a_day()
    desk.schedule(VOTER, when)
    assert [s for _i, s in run_due(desk.settings, desk.db, desk.client, now=when)] == ["waiting"]
    path = desk.settings.articles_dir / VOTER_FILE
    path.write_bytes(path.read_bytes().replace(b"quality: 48", b"quality: 49"))
    sync(desk.db.WriteSession, desk.settings.articles_dir)
    slack.reset()
    later = when + timedelta(hours=2)
    assert [s for _i, s in run_due(desk.settings, desk.db, desk.client, now=later)] == ["stale"]
    (schedule,) = desk.schedules()
    assert schedule.status == "failed"
    (told,) = slack.calls_to("chat.postMessage")
    assert f"<@{REVIEWER}> the publication you scheduled" in told.args["text"]


def test_a_second_reviewer_approves_a_scheduled_one_and_it_still_waits_for_its_time(desk, slack):
    before = file_of(desk)
    shared = desk.share(VOTER)
    when = in_a_day()
    desk.schedule(VOTER, when)
    voter = desk.article_id(VOTER)
    # Sam's card offers Approve, not Publish, and says what it will do.
    queue = desk.queue(SECOND)
    assert action_ids(queue, voter) == [
        actions.REVIEW_PUBLISH,
        actions.REVIEW_CANCEL_SCHEDULE,
        actions.REVIEW_REJECT,
    ]
    assert button(queue, actions.REVIEW_PUBLISH, voter)["text"]["text"] == "Approve"
    assert "needs one more reviewer to Approve by then" in card_text(queue, voter)
    slack.reset()
    replies = desk.click(queue, actions.REVIEW_PUBLISH, VOTER, user=SECOND)
    # Recorded as an approval; nothing is published before its time, and it stays scheduled.
    assert file_of(desk) == before and desk.decisions("publish") == []
    assert [s.status for s in desk.schedules()] == ["pending"]
    assert any("with two approvals, it is published as scheduled" in r["text"] for r in replies)
    assert [d.new_value for d in desk.decisions("approve")] == ["2 of 2"]
    (update,) = slack.calls_to("chat.update")
    assert update.args["ts"] == shared["ts"]
    said = card_text(update.args, voter)
    assert f"Approved by <@{REVIEWER}> and <@{SECOND}> · goes out as scheduled" in said
    assert action_ids(update.args, voter) == [
        actions.REVIEW_CANCEL_SCHEDULE,
        actions.REVIEW_REJECT,
    ]
    # A third reviewer's click on an old card changes nothing either.
    slack.reset()
    replies = desk.click(queue, actions.REVIEW_PUBLISH, VOTER, user=THIRD)
    assert any("Two reviewers approved it already" in r["text"] for r in replies)
    assert file_of(desk) == before and [s.status for s in desk.schedules()] == ["pending"]
    assert len(approvals(desk)) == 2
    # At its time it goes out, naming both approvers and who scheduled it.
    ((_id, status),) = run_due(desk.settings, desk.db, desk.client, now=when)
    assert status == "done" and b"published: true" in file_of(desk)
    entry = next(e for e in audit(desk) if e.action == "publish")
    assert entry.note.startswith("approved by rita (U0REVIEW) and sam (U0SECOND); scheduled by")


def test_two_reviewers_approving_a_scheduled_one_at_once_publish_nothing_before_its_time(
    desk, slack
):
    when = in_a_day()
    desk.schedule(VOTER, when)
    clicks_at_once(desk, [SECOND, THIRD])
    assert desk.decisions("publish") == [] and b"published: false" in file_of(desk)
    assert [s.status for s in desk.schedules()] == ["pending"]
    assert [s for _i, s in run_due(desk.settings, desk.db, desk.client, now=when)] == ["done"]
    assert len(desk.decisions("publish")) == 1


def test_a_refused_second_approval_leaves_no_approval_in_the_audit(desk, slack):
    desk.click(desk.queue(), actions.REVIEW_PUBLISH, VOTER)
    old_card = desk.queue(SECOND)
    # The file is edited on disk; the index has not read it yet.
    path = desk.settings.articles_dir / VOTER_FILE
    edited = path.read_bytes().replace(b"quality: 48", b"quality: 49")
    path.write_bytes(edited)
    replies = desk.click(old_card, actions.REVIEW_PUBLISH, VOTER, user=SECOND)
    assert any("changed since the card was posted" in r["text"] for r in replies)
    assert file_of(desk) == edited and desk.decisions("publish") == []
    assert [(d.reviewer_id, d.new_value) for d in desk.decisions("approve")] == [
        (REVIEWER, "1 of 2")
    ]
    assert [a.reviewer_id for a in approvals(desk)] == [REVIEWER]
    assert [e.action for e in audit(desk)] == ["approve"]


def test_the_approval_that_publishes_is_in_the_audit_before_the_publish(desk, slack):
    desk.click(desk.queue(), actions.REVIEW_PUBLISH, VOTER)
    desk.click(desk.queue(SECOND), actions.REVIEW_PUBLISH, VOTER, user=SECOND)
    assert [(e.action, e.reviewer_id, e.new_value) for e in audit(desk)] == [
        ("approve", REVIEWER, "1 of 2"),
        ("approve", SECOND, "2 of 2"),
        ("publish", SECOND, "true"),
    ]


def test_an_approval_by_someone_no_longer_a_reviewer_does_not_count(
    desk, slack, database_url, articles_dir
):
    desk.click(desk.queue(), actions.REVIEW_PUBLISH, VOTER)
    # rita leaves NEWSBOT_REVIEWERS: her open approval no longer counts towards two.
    later = make_desk(
        slack,
        database_url,
        articles_dir,
        NEWSBOT_TWO_REVIEWERS="privacy",
        NEWSBOT_REVIEWERS=f"{SECOND},{THIRD}",
    )
    replies = later.click(later.queue(SECOND), actions.REVIEW_PUBLISH, VOTER, user=SECOND)
    assert any("needs a second reviewer" in r["text"] for r in replies)
    assert b"published: false" in file_of(desk) and desk.decisions("publish") == []
    later.click(later.queue(THIRD), actions.REVIEW_PUBLISH, VOTER, user=THIRD)
    assert b"published: true" in file_of(desk)
    entry = next(e for e in audit(desk) if e.action == "publish")
    assert entry.note == "approved by sam (U0SECOND) and tia (U0THIRD)"
    later.db.dispose()
