"""Reminders of drafts that waited too long: when (a fake clock, quiet hours, daylight saving),
what they say, and one per slot across restarts, refusals and two processes."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.flows.reminders import draft_due, post_reminder, reminder_slot
from bot.localtime import QuietHours
from bot.render import actions
from storage.models import ReminderRun
from tests.bot.flows.editorial_kit import (
    CLINIC,
    CLOUD,
    REVIEW_CHANNEL,
    VOTER,
    ZURICH,
    Desk,
    action_ids,
    at,
    make_desk,
)
from tests.builders import REVIEWER, closed_port_url
from tests.slack_api import BOT_TOKEN
from tests.slack_requests import SIGNING_SECRET

BERLIN = ZoneInfo("Europe/Berlin")
NIGHT = QuietHours(time(20), time(8))
REPO = Path(__file__).resolve().parents[3]


# --- when: a pure function of the clock, the settings and the last reminders ------------------


def test_no_slot_inside_quiet_hours_and_the_first_at_their_end_across_spring_forward():
    slot = lambda now: reminder_slot(now, hours=4, quiet=NIGHT, tz=BERLIN)  # noqa: E731
    # Saturday 2026-03-28 is CET (UTC+1); clocks spring forward that night at 02:00.
    assert slot(at("2026-03-28 06:59")) is None  # 07:59 CET
    assert slot(at("2026-03-28 07:00")) == at("2026-03-28 07:00")  # 08:00 CET
    assert slot(at("2026-03-28 18:59")) == at("2026-03-28 18:00")  # 19:59 CET
    assert slot(at("2026-03-28 19:00")) is None  # 20:00 CET
    # Sunday is CEST (UTC+2): quiet hours end at 08:00 local, an hour earlier in UTC.
    assert slot(at("2026-03-29 05:59")) is None  # 07:59 CEST
    assert slot(at("2026-03-29 06:00")) == at("2026-03-29 06:00")  # 08:00 CEST
    assert slot(at("2026-03-29 06:30")) == at("2026-03-29 06:00")
    assert slot(at("2026-03-29 07:10")) == at("2026-03-29 07:00")
    assert slot(at("2026-03-29 17:59")) == at("2026-03-29 17:00")  # 19:59 CEST
    assert slot(at("2026-03-29 18:00")) is None  # 20:00 CEST


def test_quiet_hours_end_at_local_eight_after_falling_back():
    slot = lambda now: reminder_slot(now, hours=4, quiet=NIGHT, tz=BERLIN)  # noqa: E731
    # Saturday 2026-10-24 is CEST; clocks fall back that night at 03:00 to CET.
    assert slot(at("2026-10-24 06:00")) == at("2026-10-24 06:00")  # 08:00 CEST
    assert slot(at("2026-10-24 18:00")) is None  # 20:00 CEST
    assert slot(at("2026-10-25 06:30")) is None  # 07:30 CET
    assert slot(at("2026-10-25 07:00")) == at("2026-10-25 07:00")  # 08:00 CET
    assert slot(at("2026-10-25 18:59")) == at("2026-10-25 18:00")  # 19:59 CET
    assert slot(at("2026-10-25 19:00")) is None


def reminders_between(
    start: datetime, end: datetime, *, since: datetime, quiet: QuietHours | None, hours: int = 4
) -> list[datetime]:
    """The slots whose reminder names a draft waiting since `since`, for a job that runs every
    five minutes from `start` to `end` (a fake clock)."""
    named: list[datetime] = []
    now = start
    while now < end:
        slot = reminder_slot(now, hours=hours, quiet=quiet, tz=BERLIN)
        last = named[-1] if named else None
        due = slot is not None and slot != last
        if due and draft_due(slot, waiting_since=since, last_reminded=last, hours=hours):
            named.append(slot)
        now += timedelta(minutes=5)
    return named


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        # Due at 21:00 CET on the night clocks spring forward: out at 08:00 CEST.
        (at("2026-03-28 16:00"), [at("2026-03-29 06:00"), at("2026-03-29 10:00")]),
        # Due at 22:00 CEST on the night clocks fall back: out at 08:00 CET.
        (at("2026-10-24 16:00"), [at("2026-10-25 07:00"), at("2026-10-25 11:00")]),
    ],
    ids=["spring-forward", "fall-back"],
)
def test_what_falls_due_in_quiet_hours_goes_out_when_they_end(since, expected):
    named = reminders_between(since, since + timedelta(hours=20), since=since, quiet=NIGHT)
    assert named == expected


NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("quiet", "start"),
    [
        # 02:30 does not exist on 2026-03-08: the clock jumps from 02:00 to 03:00.
        (QuietHours(time(22), time(2, 30)), at("2026-03-07 12:00")),
        # 01:30 happens twice on 2026-11-01: once in EDT, then again in EST.
        (QuietHours(time(23), time(1, 30)), at("2026-10-31 12:00")),
        (QuietHours(time(1, 30), time(8)), at("2026-10-31 12:00")),
        (QuietHours(time(2, 30), time(6)), at("2026-03-07 12:00")),
    ],
    ids=["end-in-gap", "end-in-fold", "start-in-fold", "start-in-gap"],
)
def test_slots_and_quiet_hours_agree_across_daylight_saving(quiet, start):
    """A fake clock runs the job every five minutes for two days around the change."""
    named: list[datetime] = []  # when a draft waiting all along was named, hours=1
    last: datetime | None = None
    now, running = start, False
    while now < start + timedelta(days=2):
        slot = reminder_slot(now, hours=1, quiet=quiet, tz=NEW_YORK)
        assert (slot is None) == (quiet.span(now, NEW_YORK) is not None)
        running = running or slot == now  # the job's first run is at the start of a slot
        if slot is not None and running:
            # A slot starts where quiet hours are over, never in the night before.
            assert quiet.span(slot, NEW_YORK) is None and slot <= now < slot + timedelta(hours=1)
            if draft_due(
                slot, waiting_since=start - timedelta(days=1), last_reminded=last, hours=1
            ):
                named.append(now)
                last = slot
        now += timedelta(minutes=5)
    gaps = [b - a for a, b in itertools.pairwise(named)]
    assert len(named) > 20 and min(gaps) >= timedelta(hours=1)


def test_quiet_hours_ending_in_the_spring_gap_end_when_the_clock_reaches_them():
    night = QuietHours(time(22), time(2, 30))
    # At 03:00 EDT the clock has skipped 02:30; like the digest's time, it is reached at 03:30.
    assert reminder_slot(at("2026-03-08 07:00"), hours=1, quiet=night, tz=NEW_YORK) is None
    assert reminder_slot(at("2026-03-08 07:30"), hours=1, quiet=night, tz=NEW_YORK) == at(
        "2026-03-08 07:30"
    )  # 03:30 EDT


def test_without_quiet_hours_a_draft_is_reminded_every_interval_across_the_change():
    since = at("2026-03-28 20:00")  # 21:00 CET; at 02:00 the clocks jump to 03:00
    named = reminders_between(since, since + timedelta(hours=14), since=since, quiet=None)
    # Waited exactly four hours at 00:00 UTC is not "longer than" four hours.
    assert named == [at("2026-03-29 01:00"), at("2026-03-29 05:00"), at("2026-03-29 09:00")]


def test_reminders_off_and_the_interval_rules():
    assert reminder_slot(at("2026-11-30 10:00"), hours=0, quiet=None, tz=BERLIN) is None
    slot = at("2026-11-30 10:00")
    four = timedelta(hours=4)
    assert not draft_due(slot, waiting_since=slot - four, last_reminded=None, hours=4)
    assert draft_due(
        slot, waiting_since=slot - four - timedelta(minutes=1), last_reminded=None, hours=4
    )
    waited = slot - timedelta(days=2)
    assert not draft_due(
        slot, waiting_since=waited, last_reminded=slot - timedelta(hours=3), hours=4
    )
    assert draft_due(slot, waiting_since=waited, last_reminded=slot - four, hours=4)


def test_quiet_hours_within_one_day():
    lunch = QuietHours(time(12), time(13))
    assert reminder_slot(at("2026-11-30 12:30"), hours=1, quiet=lunch, tz=ZoneInfo("UTC")) is None
    # After 13:00 the slots start again from the end of the quiet hours.
    assert reminder_slot(at("2026-11-30 13:10"), hours=1, quiet=lunch, tz=ZoneInfo("UTC")) == at(
        "2026-11-30 13:00"
    )
    assert reminder_slot(at("2026-12-01 09:20"), hours=1, quiet=lunch, tz=ZoneInfo("UTC")) == at(
        "2026-12-01 09:00"
    )


# --- what the review channel gets -----------------------------------------------------------

MONDAY = at("2026-11-30 09:05")  # UTC desk, quiet 20:00-08:00


@pytest.fixture
def desk(slack, database_url, articles_dir) -> Desk:
    desk = make_desk(
        slack,
        database_url,
        articles_dir,
        NEWSBOT_REVIEW_CHANNEL=REVIEW_CHANNEL,
        NEWSBOT_REMIND_HOURS="4",
        NEWSBOT_QUIET_HOURS="20:00-08:00",
    )
    desk.everything_waited_since(at("2026-11-30 04:30"))
    yield desk
    desk.db.dispose()


def remind(desk: Desk, now: datetime, client: WebClient | None = None):
    return post_reminder(desk.settings, desk.db, client or desk.client, now=now)


def test_one_message_lists_waiting_drafts_hottest_first_with_their_wait_and_buttons(desk, slack):
    result = remind(desk, MONDAY)
    assert result.status == "posted" and result.slot == at("2026-11-30 09:00")
    (post,) = slack.calls_to("chat.postMessage")
    assert post.args["channel"] == REVIEW_CHANNEL and "thread_ts" not in post.args
    message = post.args
    assert "4 drafts waited more than 4 hours for review" in message["text"]
    order = [b["block_id"] for b in message["blocks"] if b.get("block_id", "").startswith("card:")]
    ids = [desk.article_id(t) for t in (ZURICH, VOTER, CLOUD, CLINIC)]
    assert order == [f"card:{i}" for i in ids]
    metas = [b for b in message["blocks"] if b.get("block_id", "").startswith("card-meta:")]
    assert all("waiting 4 h" in json.dumps(m) for m in metas)
    assert action_ids(message, ids[0]) == [
        actions.REVIEW_PUBLISH,
        actions.REVIEW_PUBLISH_AT,
        actions.REVIEW_REJECT,
    ]
    # The same slot, again (this process later, a replica, a restart): nothing more.
    assert remind(desk, MONDAY + timedelta(minutes=30)).status == "already-posted"
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_a_draft_is_reminded_at_most_once_per_interval_and_later_ones_go_in_the_thread(desk, slack):
    desk.waited_since(CLINIC, at("2026-11-30 05:30"))  # due an hour later than the rest
    first = remind(desk, MONDAY)
    assert desk.article_id(CLINIC) not in first.article_ids and len(first.article_ids) == 3
    second = remind(desk, at("2026-11-30 10:01"))
    assert second.article_ids == (desk.article_id(CLINIC),)
    assert second.thread_ts == first.message_ts
    assert remind(desk, at("2026-11-30 12:00")).status == "nothing-due"
    # Four hours after their reminder, the first three come again, in the same thread.
    again = remind(desk, at("2026-11-30 13:00"))
    assert sorted(again.article_ids) == sorted(first.article_ids)
    assert again.thread_ts == first.message_ts
    posts = slack.calls_to("chat.postMessage")
    assert [p.args.get("thread_ts") for p in posts] == [None, first.message_ts, first.message_ts]
    assert not any(p.args.get("reply_broadcast") for p in posts)
    # The next morning's goes in the same thread, under the previous reminder, and is also
    # sent to the channel, where the night's news would otherwise hide it.
    slack.reset()
    morning = remind(desk, at("2026-12-01 08:00"))
    assert morning.status == "posted" and morning.thread_ts == first.message_ts
    (post,) = slack.calls_to("chat.postMessage")
    assert post.args["thread_ts"] == first.message_ts and post.args["reply_broadcast"] is True
    later = remind(desk, at("2026-12-01 12:00"))
    assert later.status == "posted" and later.thread_ts == first.message_ts
    assert "reply_broadcast" not in slack.calls_to("chat.postMessage")[-1].args


def test_nothing_inside_quiet_hours_and_what_fell_due_goes_out_when_they_end(desk, slack):
    desk.everything_waited_since(at("2026-11-30 17:00"))  # due at 21:00, in quiet hours
    assert remind(desk, at("2026-11-30 20:00")).status == "quiet"
    assert remind(desk, at("2026-12-01 07:55")).status == "quiet"
    assert slack.calls_to("chat.postMessage") == []
    morning = remind(desk, at("2026-12-01 08:00"))
    assert morning.status == "posted" and len(morning.article_ids) == 4


def test_decided_scheduled_and_cold_drafts_are_left_out(slack, database_url, articles_dir):
    desk = make_desk(
        slack,
        database_url,
        articles_dir,
        NEWSBOT_REVIEW_CHANNEL=REVIEW_CHANNEL,
        NEWSBOT_REVIEW_MIN_HEAT="30",
    )
    desk.everything_waited_since(at("2026-11-30 04:30"))
    queue = desk.queue()
    desk.click(queue, actions.REVIEW_REJECT, CLOUD)
    desk.schedule(VOTER, datetime.now(UTC) + timedelta(days=2))
    slack.reset()
    result = remind(desk, MONDAY)
    # Rejected, scheduled to go out, and colder than NEWSBOT_REVIEW_MIN_HEAT (12): not named.
    assert result.article_ids == (desk.article_id(ZURICH),)
    desk.db.dispose()


def test_refused_or_unreachable_slack_gives_the_slot_back(desk, slack):
    slack.fail_next("chat.postMessage", "not_in_channel")
    refused = remind(desk, MONDAY)
    assert refused.status == "not-posted" and "/invite @newsbot" in (refused.error or "")
    unreachable = WebClient(token=BOT_TOKEN, base_url=closed_port_url())
    assert remind(desk, MONDAY, unreachable).status == "not-posted"
    with desk.db.Session() as session:
        assert session.scalars(select(ReminderRun)).all() == []
    later = remind(desk, MONDAY + timedelta(minutes=5))
    assert later.status == "posted" and len(later.article_ids) == 4


def test_a_connection_dropped_after_sending_is_not_posted_again(desk, slack):
    slack.drop_next("chat.postMessage")
    assert remind(desk, MONDAY).status == "not-posted"
    assert remind(desk, MONDAY + timedelta(minutes=5)).status == "already-posted"
    # The drafts it named count as reminded: the next slot does not repeat them.
    assert remind(desk, at("2026-11-30 10:00")).status == "nothing-due"


def test_a_decision_updates_the_reminder_and_the_other_cards_keep_their_buttons(desk, slack):
    result = remind(desk, MONDAY)
    (post,) = slack.calls_to("chat.postMessage")
    slack.reset()
    reminder = {**post.args, "ts": result.message_ts}
    desk.click(
        reminder, actions.REVIEW_REJECT, VOTER, channel=REVIEW_CHANNEL, message_ts=result.message_ts
    )
    (update,) = slack.calls_to("chat.update")
    assert update.args["ts"] == result.message_ts
    edited = update.args
    assert "Rejected by" in json.dumps(edited["blocks"])
    assert actions.REVIEW_PUBLISH_AT in action_ids(edited, desk.article_id(ZURICH))


# --- exactly once across processes ----------------------------------------------------------


@pytest.mark.postgres
def test_two_processes_post_one_reminder_per_slot(slack, postgres_url, articles_dir, tmp_path):
    desk = make_desk(slack, postgres_url, articles_dir, NEWSBOT_REVIEW_CHANNEL=REVIEW_CHANNEL)
    desk.everything_waited_since(at("2026-11-30 04:30"))
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "NEWSBOT_DATABASE_URL": postgres_url,
        "NEWSBOT_ARTICLES_DIR": str(articles_dir),
        "NEWSBOT_REVIEW_CHANNEL": REVIEW_CHANNEL,
        "NEWSBOT_REVIEWERS": REVIEWER,
    }
    worker = [sys.executable, "-m", "tests.bot.flows.editorial_worker", "remind"]

    def start(now: datetime) -> subprocess.Popen:
        return subprocess.Popen(
            [*worker, now.isoformat()], env=env, cwd=REPO, stdout=subprocess.PIPE, text=True
        )

    # The first one holds its claim while Slack keeps it waiting; the second comes meanwhile.
    gate = slack.hold_next("chat.postMessage")
    first = start(MONDAY)
    gate.wait_reached(timeout=60)
    second = start(MONDAY + timedelta(minutes=20))
    said_second = second.communicate(timeout=60)[0].strip()
    gate.release()
    said_first = first.communicate(timeout=60)[0].strip()
    assert (said_first, said_second) == ("posted", "already-posted")
    assert len(slack.calls_to("chat.postMessage")) == 1
    desk.db.dispose()
