"""Scheduled publication: published at its time exactly once (replicas, restarts, a runner that
died), late after downtime, refused when the file changed (and the scheduler told), cancelled
by Cancel, Reject or an earlier Publish; `/news scheduled`; every step in the audit trail."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from slack_sdk import WebClient
from sqlalchemy import update

from bot.flows.schedule import run_due
from bot.render import actions
from storage.decisions import decisions_since
from storage.models import ScheduledPublication
from storage.sync import sync
from tests.bot.flows.editorial_kit import (
    OUTSIDER,
    REVIEW_CHANNEL,
    SECOND,
    SHARE_CHANNEL,
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
from tests.builders import REVIEWER, closed_port_url
from tests.slack_api import BOT_TOKEN
from tests.slack_requests import SIGNING_SECRET, block_action

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def desk(slack, database_url, articles_dir) -> Desk:
    desk = make_desk(slack, database_url, articles_dir, NEWSBOT_REVIEW_CHANNEL=REVIEW_CHANNEL)
    yield desk
    desk.db.dispose()


def in_a_day() -> datetime:
    return (datetime.now(UTC) + timedelta(days=1)).replace(second=0, microsecond=0)


def publish_due(desk: Desk, now: datetime, **kw) -> list[tuple[int, str]]:
    return run_due(desk.settings, desk.db, desk.client, now=now, **kw)


def file_of(desk: Desk) -> bytes:
    return (desk.settings.articles_dir / VOTER_FILE).read_bytes()


def test_published_at_its_time_exactly_once(desk, slack):
    before = file_of(desk)
    shared = desk.share(VOTER)
    when = in_a_day()
    desk.schedule(VOTER, when)
    assert publish_due(desk, when - timedelta(minutes=1)) == []
    assert file_of(desk) == before
    slack.reset()
    ((_id, status),) = publish_due(desk, when + timedelta(seconds=20))
    assert status == "done"
    assert file_of(desk) == before.replace(b"published: false", b"published: true")
    (published,) = desk.decisions("publish")
    assert (published.reviewer_id, published.reviewer_name) == (REVIEWER, "rita")
    (schedule,) = desk.schedules()
    assert (schedule.status, schedule.decision_id, schedule.late) == (
        "published",
        published.id,
        False,
    )
    (update_,) = slack.calls_to("chat.update")
    assert update_.args["ts"] == shared["ts"]
    said = card_text(update_.args, desk.article_id(VOTER))
    assert f"Published by <@{REVIEWER}>" in said and "late" not in said
    # A later run, a restart, a retry: nothing more.
    assert publish_due(desk, when + timedelta(minutes=2)) == []
    assert publish_due(desk, when + timedelta(hours=3), at_start=True) == []
    assert len(desk.decisions("publish")) == 1
    # The audit trail says who scheduled it, for when.
    entry = next(e for e in decisions_since_all(desk) if e.action == "publish")
    assert entry.note.startswith("scheduled by rita (U0REVIEW) for ")


def decisions_since_all(desk: Desk):
    with desk.db.Session() as session:
        return decisions_since(session, datetime(2000, 1, 1, tzinfo=UTC))


def test_missed_while_down_it_is_published_at_start_and_says_late(desk, slack):
    shared = desk.share(VOTER)
    when = in_a_day()
    desk.schedule(VOTER, when)
    slack.reset()
    # The app was down at that time; it starts three hours later.
    ((_id, status),) = publish_due(desk, when + timedelta(hours=3), at_start=True)
    assert status == "done"
    assert b"published: true" in file_of(desk)
    (schedule,) = desk.schedules()
    assert schedule.late is True
    (update_,) = slack.calls_to("chat.update")
    assert update_.args["ts"] == shared["ts"]
    assert "published late" in card_text(update_.args, desk.article_id(VOTER))
    entry = next(e for e in decisions_since_all(desk) if e.action == "publish")
    assert entry.note.endswith(", published late")


@pytest.mark.parametrize("reindexed", [True, False], ids=["reindexed", "just-edited"])
def test_a_file_changed_since_is_not_written_and_the_scheduler_is_told(desk, slack, reindexed):
    shared = desk.share(VOTER)
    when = in_a_day()
    desk.schedule(VOTER, when)
    path = desk.settings.articles_dir / VOTER_FILE
    edited = path.read_bytes().replace(b"quality: 48", b"quality: 49")
    path.write_bytes(edited)
    if reindexed:
        sync(desk.db.WriteSession, desk.settings.articles_dir)
    slack.reset()
    ((_id, status),) = publish_due(desk, when + timedelta(seconds=10))
    assert status == "stale"
    assert path.read_bytes() == edited  # nothing written
    assert desk.decisions("publish") == []
    (schedule,) = desk.schedules()
    assert schedule.status == "failed" and "changed" in (schedule.reason or "")
    voter = desk.article_id(VOTER)
    # The shared card says why, and is a draft with its buttons again.
    (update_,) = slack.calls_to("chat.update")
    assert update_.args["ts"] == shared["ts"]
    assert "the file changed after it was scheduled" in card_text(update_.args, voter)
    assert actions.REVIEW_PUBLISH in action_ids(update_.args, voter)
    # Whoever scheduled it is told in the review channel, with the card as it is now.
    (told,) = slack.calls_to("chat.postMessage")
    assert told.args["channel"] == REVIEW_CHANNEL
    assert told.args["text"].startswith(f"<@{REVIEWER}> the publication you scheduled")
    assert action_ids(told.args, voter) == [
        actions.REVIEW_PUBLISH,
        actions.REVIEW_PUBLISH_AT,
        actions.REVIEW_REJECT,
    ]
    if reindexed:  # the fresh card carries the file's new fingerprint
        assert json.loads(button(told.args, actions.REVIEW_PUBLISH, voter)["value"])["f"] == (
            desk.article(VOTER).content_hash
        )
    assert [d.new_value for d in desk.decisions("schedule-failed")] == ["file changed"]
    # Told once.
    slack.reset()
    assert publish_due(desk, when + timedelta(minutes=5)) == []
    assert slack.calls_to("chat.postMessage") == []


def test_without_a_review_channel_the_scheduler_is_told_where_they_scheduled_it(
    slack, database_url, articles_dir
):
    desk = make_desk(slack, database_url, articles_dir)
    when = in_a_day()
    desk.schedule(VOTER, when, channel=SHARE_CHANNEL)
    path = desk.settings.articles_dir / VOTER_FILE
    path.write_bytes(path.read_bytes().replace(b"quality: 48", b"quality: 49"))
    slack.reset()
    publish_due(desk, when)
    (told,) = slack.calls_to("chat.postMessage")
    assert told.args["channel"] == SHARE_CHANNEL and f"<@{REVIEWER}>" in told.args["text"]
    desk.db.dispose()


def test_when_no_channel_takes_the_news_it_goes_to_the_schedulers_app_home(desk, slack):
    when = in_a_day()
    desk.schedule(VOTER, when)  # from /news review in C123
    path = desk.settings.articles_dir / VOTER_FILE
    path.write_bytes(path.read_bytes().replace(b"quality: 48", b"quality: 49"))
    slack.reset()
    slack.fail_next("chat.postMessage", "not_in_channel", times=2)
    publish_due(desk, when)
    (home,) = slack.calls_to("views.publish")
    assert home.args["user_id"] == REVIEWER
    assert "did not happen" in json.dumps(home.args["view"])


def test_cancel_by_any_reviewer_stops_it(desk, slack):
    shared = desk.share(VOTER)
    when = in_a_day()
    desk.schedule(VOTER, when)
    shared = {**shared, "blocks": slack_blocks_now(desk, shared)}
    slack.reset()
    replies = desk.click(
        shared,
        actions.REVIEW_CANCEL_SCHEDULE,
        VOTER,
        user=SECOND,
        channel=SHARE_CHANNEL,
        message_ts=shared["ts"],
    )
    assert any("Cancelled the publication scheduled for" in r["text"] for r in replies)
    (schedule,) = desk.schedules()
    assert (schedule.status, schedule.closed_by_id) == ("cancelled", SECOND)
    (update_,) = slack.calls_to("chat.update")
    voter = desk.article_id(VOTER)
    assert "Scheduled for" not in card_text(update_.args, voter)
    assert actions.REVIEW_CANCEL_SCHEDULE not in action_ids(update_.args, voter)
    assert publish_due(desk, when + timedelta(minutes=1)) == []
    assert b"published: false" in file_of(desk)
    (unscheduled,) = desk.decisions("unschedule")
    assert unscheduled.reviewer_id == SECOND
    # A second click on the old card changes nothing more.
    slack.reset()
    again = desk.click(shared, actions.REVIEW_CANCEL_SCHEDULE, VOTER, user=REVIEWER)
    assert any("cancelled already" in r["text"] for r in again)
    assert len(desk.decisions("unschedule")) == 1


def slack_blocks_now(desk: Desk, shared: dict) -> list[dict]:
    """The shared message's blocks as Slack has them now (after the last chat.update)."""
    updates = [c for c in desk.slack.calls_to("chat.update") if c.args["ts"] == shared["ts"]]
    return updates[-1].args["blocks"] if updates else shared["blocks"]


def test_reject_or_an_earlier_publish_in_between_cancels_it(desk, slack):
    when = in_a_day()
    desk.schedule(VOTER, when)
    desk.schedule(ZURICH, when)
    queue = desk.queue(SECOND)
    desk.click(queue, actions.REVIEW_REJECT, VOTER, user=SECOND)
    desk.click(queue, actions.REVIEW_PUBLISH, ZURICH, user=SECOND)
    statuses = {s.article_id: (s.status, s.reason) for s in desk.schedules()}
    assert statuses[desk.article_id(VOTER)] == ("cancelled", "rejected by sam")
    assert statuses[desk.article_id(ZURICH)] == ("cancelled", "published by sam before its time")
    assert publish_due(desk, when + timedelta(minutes=1)) == []
    assert len(desk.decisions("unschedule")) == 2 and len(desk.decisions("publish")) == 1


def test_news_scheduled_lists_what_is_to_come_for_reviewers_only(desk, slack):
    soon, later = in_a_day(), in_a_day() + timedelta(days=1)
    desk.schedule(ZURICH, later)
    desk.schedule(VOTER, soon, user=SECOND)
    listed = desk.command("scheduled")
    lines = [b for b in listed["blocks"] if b.get("block_id", "").startswith("scheduled:")]
    assert [b["block_id"] for b in lines] == [
        f"scheduled:{desk.article_id(VOTER)}",
        f"scheduled:{desk.article_id(ZURICH)}",
    ]
    assert f"<@{SECOND}>" in lines[0]["text"]["text"]
    assert lines[0]["accessory"]["action_id"] == actions.REVIEW_CANCEL_SCHEDULE
    # Cancel right from the list.
    desk.click(listed, actions.REVIEW_CANCEL_SCHEDULE, VOTER)
    assert [s.status for s in desk.schedules()] == ["pending", "cancelled"]
    refused = desk.command("scheduled", OUTSIDER)
    assert "Only reviewers" in refused["text"] and "Zürich" not in json.dumps(refused)


def test_non_reviewers_cannot_cancel(desk, slack):
    desk.schedule(VOTER, in_a_day())
    listed = desk.command("scheduled")
    replies = desk.click(listed, actions.REVIEW_CANCEL_SCHEDULE, VOTER, user=OUTSIDER)
    assert any("Only reviewers" in r["text"] for r in replies)
    assert [s.status for s in desk.schedules()] == ["pending"]


def test_the_git_commit_says_who_scheduled_it(slack, database_url, articles_dir):
    git = ["git", "-C", str(articles_dir)]
    subprocess.run([*git, "init", "-q"], check=True)
    ident = ["-c", "user.name=pipe", "-c", "user.email=p@x"]
    subprocess.run([*git, *ident, "add", "."], check=True)
    subprocess.run([*git, *ident, "commit", "-qm", "import"], check=True)
    desk = make_desk(
        slack,
        database_url,
        articles_dir,
        NEWSBOT_GIT_COMMIT="true",
        NEWSBOT_GIT_AUTHOR="Newsbot <newsbot@desk.example>",
    )
    when = in_a_day()
    desk.schedule(VOTER, when, user=SECOND)
    publish_due(desk, when)
    log = subprocess.run(
        [*git, "log", "-1", "--format=%B"], capture_output=True, text=True, check=True
    ).stdout
    assert log.startswith("Publish: State Auditor Finds Voter Roll")
    assert f"Approved-by: sam <{SECOND}>" in log and f"Scheduled-by: sam <{SECOND}>" in log
    desk.db.dispose()


def test_a_schedule_fulfilled_by_a_second_reviewer_says_who_scheduled_it(
    slack, database_url, articles_dir
):
    git = ["git", "-C", str(articles_dir)]
    subprocess.run([*git, "init", "-q"], check=True)
    ident = ["-c", "user.name=pipe", "-c", "user.email=p@x"]
    subprocess.run([*git, *ident, "add", "."], check=True)
    subprocess.run([*git, *ident, "commit", "-qm", "import"], check=True)
    desk = make_desk(
        slack,
        database_url,
        articles_dir,
        NEWSBOT_GIT_COMMIT="true",
        NEWSBOT_TWO_REVIEWERS="privacy",
        NEWSBOT_GIT_AUTHOR="Newsbot <newsbot@desk.example>",
    )
    when = in_a_day()
    desk.schedule(VOTER, when)  # rita's schedule waits for a second reviewer at its time
    assert [status for _id, status in publish_due(desk, when)] == ["waiting"]

    desk.click(desk.queue(SECOND), actions.REVIEW_PUBLISH, VOTER, user=SECOND)

    log = subprocess.run(
        [*git, "log", "-1", "--format=%B"], capture_output=True, text=True, check=True
    ).stdout
    assert log.startswith("Publish: State Auditor Finds Voter Roll")
    assert f"Approved-by: sam <{SECOND}>" in log and f"Scheduled-by: rita <{REVIEWER}>" in log
    desk.db.dispose()


# --- replicas, restarts and a runner that died ----------------------------------------------


def test_two_runners_at_once_publish_once(desk, slack):
    when = in_a_day()
    desk.schedule(VOTER, when)
    barrier = threading.Barrier(4)
    ran: list[list[tuple[int, str]]] = []

    def runner() -> None:
        barrier.wait()
        ran.append(publish_due(desk, when + timedelta(seconds=5)))

    threads = [threading.Thread(target=runner) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(len(r) for r in ran) == [0, 0, 0, 1]
    assert len(desk.decisions("publish")) == 1


def test_a_runner_that_died_is_replaced_and_it_goes_out_once(desk, slack):
    when = in_a_day()
    desk.schedule(VOTER, when)
    dead = dead_pid()
    with desk.db.WriteSession.begin() as session:
        session.execute(
            update(ScheduledPublication).values(
                status="running", claimed_by=f"{socket.gethostname()}:{dead}", claimed_at=when
            )
        )
    ((_id, status),) = publish_due(desk, when + timedelta(seconds=30))
    assert status == "done" and len(desk.decisions("publish")) == 1
    assert publish_due(desk, when + timedelta(minutes=1), at_start=True) == []


def test_a_runner_alive_on_another_host_is_left_alone_until_its_lease_ends(desk, slack):
    when = in_a_day()
    desk.schedule(VOTER, when)
    with desk.db.WriteSession.begin() as session:
        session.execute(
            update(ScheduledPublication).values(
                status="running", claimed_by="replica-b:4242", claimed_at=when
            )
        )
    assert publish_due(desk, when + timedelta(minutes=1)) == []
    # Five minutes later no live runner would still hold it: it is run, once.
    ((_id, status),) = publish_due(desk, when + timedelta(minutes=6))
    assert status == "done" and len(desk.decisions("publish")) == 1


def dead_pid() -> int:
    """The id of a process of this host that has exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.postgres
def test_two_processes_publish_once(slack, postgres_url, articles_dir):
    desk = make_desk(slack, postgres_url, articles_dir)
    shared = desk.share(VOTER)
    when = in_a_day()
    desk.schedule(VOTER, when)
    slack.reset()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "NEWSBOT_DATABASE_URL": postgres_url,
        "NEWSBOT_ARTICLES_DIR": str(articles_dir),
        "NEWSBOT_REVIEWERS": REVIEWER,
    }
    worker = [sys.executable, "-m", "tests.bot.flows.editorial_worker", "publish-due"]
    # Both find it due, then both claim it at once: the row is held until both wait for it.
    with row_held(desk, "scheduled_publications") as held:
        procs = [
            subprocess.Popen(
                [*worker, (when + timedelta(seconds=n)).isoformat()],
                env=env,
                cwd=REPO,
                stdout=subprocess.PIPE,
                text=True,
            )
            for n in range(2)
        ]
        held.wait_for_waiters("UPDATE scheduled_publications", 2)
    said = sorted(p.communicate(timeout=60)[0].strip() for p in procs)
    assert said == ["done", "nothing"]
    assert len(desk.decisions("publish")) == 1
    assert [c.args["ts"] for c in slack.calls_to("chat.update")] == [shared["ts"]]
    desk.db.dispose()


def test_a_click_from_someone_else_at_the_same_moment_publishes_once(desk, slack):
    when = in_a_day()
    desk.schedule(VOTER, when)
    queue = desk.queue(SECOND)
    element = button(queue, actions.REVIEW_PUBLISH, desk.article_id(VOTER))
    click = block_action(
        actions.REVIEW_PUBLISH,
        element["value"],
        user_id=SECOND,
        message_blocks=queue["blocks"],
        response_url=slack.response_url(),
    )
    barrier = threading.Barrier(2)
    threads = [
        threading.Thread(
            target=lambda: (barrier.wait(), publish_due(desk, when + timedelta(seconds=1)))
        ),
        threading.Thread(target=lambda: (barrier.wait(), desk.app.dispatch(click.bolt_request()))),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(desk.decisions("publish")) == 1
    assert b"published: true" in file_of(desk)
    (schedule,) = desk.schedules()
    assert schedule.status in ("published", "cancelled")


def test_the_scheduler_is_told_once_even_when_slack_was_unreachable_first(desk, slack):
    when = in_a_day()
    desk.schedule(VOTER, when)
    path = desk.settings.articles_dir / VOTER_FILE
    path.write_bytes(path.read_bytes().replace(b"quality: 48", b"quality: 49"))
    slack.reset()
    unreachable = WebClient(token=BOT_TOKEN, base_url=closed_port_url())
    run_due(desk.settings, desk.db, unreachable, now=when)
    assert slack.calls_to("chat.postMessage") == []
    publish_due(desk, when + timedelta(minutes=1))
    (told,) = slack.calls_to("chat.postMessage")
    assert told.args["channel"] == REVIEW_CHANNEL
    publish_due(desk, when + timedelta(minutes=2))
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_a_notice_dropped_after_sending_is_not_sent_again(desk, slack):
    when = in_a_day()
    desk.schedule(VOTER, when)
    path = desk.settings.articles_dir / VOTER_FILE
    path.write_bytes(path.read_bytes().replace(b"quality: 48", b"quality: 49"))
    slack.reset()
    slack.drop_next("chat.postMessage")
    publish_due(desk, when)
    publish_due(desk, when + timedelta(minutes=10))
    # One attempt, dropped after sending: it may have been posted, so it is not sent again.
    assert len(slack.calls_to("chat.postMessage", all_attempts=True)) == 1


# --- the scheduler's rights, checked when it runs ------------------------------------------


def test_a_scheduler_removed_from_the_reviewers_publishes_nothing_and_everyone_is_told(
    desk, slack, database_url, articles_dir
):
    shared = desk.share(ZURICH)
    before = (articles_dir / "2026/11/zurich-heat-pump-subsidy.md").read_bytes()
    when = in_a_day()
    desk.schedule(ZURICH, when)
    slack.reset()
    # NEWSBOT_REVIEWERS no longer names rita when the time comes.
    later = make_desk(
        slack,
        database_url,
        articles_dir,
        NEWSBOT_REVIEW_CHANNEL=REVIEW_CHANNEL,
        NEWSBOT_REVIEWERS=SECOND,
    )
    ((_id, status),) = run_due(later.settings, later.db, later.client, now=when)
    later.db.dispose()
    assert status == "not-reviewer"
    assert (articles_dir / "2026/11/zurich-heat-pump-subsidy.md").read_bytes() == before
    assert desk.decisions("publish") == []
    (schedule,) = desk.schedules()
    assert schedule.status == "failed" and schedule.reason == "rita is no longer a reviewer"
    assert [d.new_value for d in desk.decisions("schedule-failed")] == ["not a reviewer"]
    zurich = desk.article_id(ZURICH)
    (update_,) = slack.calls_to("chat.update")
    assert update_.args["ts"] == shared["ts"]
    assert "rita is no longer a reviewer" in card_text(update_.args, zurich)
    (told,) = slack.calls_to("chat.postMessage")
    assert told.args["channel"] == REVIEW_CHANNEL
    assert "rita is no longer a reviewer" in told.args["text"]


def test_a_scheduler_slack_cannot_vouch_for_now_is_asked_again_at_the_next_run(
    desk, slack, database_url, articles_dir
):
    when = in_a_day()
    desk.schedule(ZURICH, when)
    # rita is a reviewer through a user group, and Slack cannot list it just now.
    slack.fail_next("usergroups.users.list", "ratelimited")
    later = make_desk(slack, database_url, articles_dir, NEWSBOT_REVIEWERS="S0DESK")
    assert [s for _i, s in run_due(later.settings, later.db, later.client, now=when)] == [
        "unknown-reviewer"
    ]
    assert [s.status for s in desk.schedules()] == ["pending"]
    assert desk.decisions("publish") == [] and desk.decisions("schedule-failed") == []
    slack.set_usergroup("S0DESK", [REVIEWER])
    again = when + timedelta(minutes=1)
    assert [s for _i, s in run_due(later.settings, later.db, later.client, now=again)] == ["done"]
    later.db.dispose()
