"""Publish at…: the button opens a modal with the click's trigger_id; its submission is refused
inline (Bolt answers the view_submission with the ack's JSON) or recorded, and the cards say so."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.localtime import next_full_hour
from bot.render import actions
from storage.sync import sync
from tests.bot.flows.editorial_kit import (
    OUTSIDER,
    SECOND,
    SHARE_CHANNEL,
    VOTER,
    VOTER_FILE,
    Desk,
    action_ids,
    at,
    button,
    card_text,
    make_desk,
)
from tests.builders import REVIEWER
from tests.slack_requests import app_home_opened, block_action
from tests.slack_requests import view_submission as submission

ERRORS_AT = actions.PUBLISH_AT_BLOCK


@pytest.fixture
def desk(slack, database_url, articles_dir) -> Desk:
    desk = make_desk(slack, database_url, articles_dir, NEWSBOT_TIMEZONE="Europe/Berlin")
    yield desk
    desk.db.dispose()


def soon() -> datetime:
    return datetime.now(UTC) + timedelta(days=1)


def errors(body: dict) -> str:
    assert body.get("response_action") == "errors", body
    return body["errors"][ERRORS_AT]


# --- the modal --------------------------------------------------------------------------------


def test_the_button_opens_a_modal_with_the_clicks_trigger_and_the_next_full_hour(desk, slack):
    queue = desk.queue()
    voter = desk.article_id(VOTER)
    assert action_ids(queue, voter) == [
        actions.REVIEW_PUBLISH,
        actions.REVIEW_PUBLISH_AT,
        actions.REVIEW_REJECT,
    ]
    element = button(queue, actions.REVIEW_PUBLISH_AT, voter)
    click = block_action(
        actions.REVIEW_PUBLISH_AT,
        element["value"],
        user_id=REVIEWER,
        message_blocks=queue["blocks"],
        response_url=slack.response_url(),
    )
    before = datetime.now(UTC)
    assert desk.app.dispatch(click.bolt_request()).status == 200
    (opened,) = slack.calls_to("views.open")
    assert opened.args["trigger_id"] == click.payload["trigger_id"]
    view = opened.args["view"]
    assert view["type"] == "modal" and view["callback_id"] == actions.PUBLISH_AT_VIEW
    picker = next(b for b in view["blocks"] if b["block_id"] == ERRORS_AT)["element"]
    assert picker["type"] == "datetimepicker"
    initial = datetime.fromtimestamp(picker["initial_date_time"], UTC)
    local = initial.astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.minute, local.second) == (0, 0)
    assert before < initial <= datetime.now(UTC) + timedelta(hours=1)
    meta = json.loads(view["private_metadata"])
    assert meta["a"] == voter and meta["f"] == desk.article(VOTER).content_hash
    assert (meta["c"], meta["t"]) == ("C123", click.payload["container"]["message_ts"])
    assert "Voter Roll" in json.dumps(view["blocks"])


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (at("2026-11-30 10:20"), "2026-11-30 12:00+01:00"),  # Berlin, winter
        (at("2026-11-30 10:00"), "2026-11-30 12:00+01:00"),  # a full hour gives the next one
        (at("2026-03-29 00:30"), "2026-03-29 03:00+02:00"),  # 01:30 CET; 02:00 does not exist
        (at("2026-10-25 00:30"), "2026-10-25 02:00+01:00"),  # 02:30 CEST; then 02:00 CET
    ],
)
def test_the_next_full_hour_in_the_desks_zone(now, expected):
    found = next_full_hour(now, ZoneInfo("Europe/Berlin"))
    # In UTC: Python never finds a time in the repeated hour equal to one in another zone.
    assert found.astimezone(UTC) == datetime.fromisoformat(expected).astimezone(UTC)
    assert (found.minute, found.second) == (0, 0)


def test_a_zone_half_an_hour_off_utc_gets_its_own_full_hours():
    kolkata = next_full_hour(at("2026-11-30 10:20"), ZoneInfo("Asia/Kolkata"))  # 15:50 there
    assert kolkata == datetime.fromisoformat("2026-11-30 16:00+05:30")


# --- refused inline ------------------------------------------------------------------------


def test_a_time_in_the_past_is_refused_on_the_field_and_nothing_is_recorded(desk, slack):
    view = desk.open_publish_at(desk.queue(), VOTER)
    body = desk.submit(view, datetime.now(UTC) - timedelta(minutes=5))
    assert "passed" in errors(body)
    assert desk.schedules() == [] and desk.decisions() == []


def test_more_than_ninety_days_ahead_is_refused_and_ninety_are_fine(desk, slack):
    view = desk.open_publish_at(desk.queue(), VOTER)
    assert "90 days" in errors(desk.submit(view, datetime.now(UTC) + timedelta(days=90, hours=1)))
    assert desk.schedules() == []
    assert desk.submit(view, datetime.now(UTC) + timedelta(days=89, hours=23)) == {}
    assert [s.status for s in desk.schedules()] == ["pending"]


def test_no_time_chosen_is_refused(desk):
    view = desk.open_publish_at(desk.queue(), VOTER)
    assert "Choose" in errors(desk.submit(view, None))


def test_a_file_changed_since_the_card_is_refused(desk):
    view = desk.open_publish_at(desk.queue(), VOTER)
    path = desk.settings.articles_dir / VOTER_FILE
    path.write_bytes(path.read_bytes().replace(b"quality: 48", b"quality: 49"))
    sync(desk.db.WriteSession, desk.settings.articles_dir)
    assert "changed" in errors(desk.submit(view, soon()))
    assert desk.schedules() == []


def test_a_second_schedule_is_refused_while_one_is_pending(desk):
    view = desk.open_publish_at(desk.queue(), VOTER)
    assert desk.submit(view, soon()) == {}
    again = desk.submit(view, soon() + timedelta(hours=2), user=SECOND)
    assert "scheduled already" in errors(again) and "rita" in errors(again)
    assert len(desk.schedules()) == 1


def test_a_broken_form_is_refused(desk):
    view = desk.open_publish_at(desk.queue(), VOTER)
    forged = {**view, "private_metadata": "not json"}
    assert "broken" in errors(desk.submit(forged, soon()))


# --- non-reviewers ---------------------------------------------------------------------------


def test_non_reviewers_are_refused_the_modal_and_the_submission(desk, slack):
    queue = desk.queue()
    replies = desk.click(queue, actions.REVIEW_PUBLISH_AT, VOTER, user=OUTSIDER)
    assert slack.calls_to("views.open") == []
    assert any("Only reviewers can schedule" in r["text"] for r in replies)
    # A submission from someone who is no reviewer (say, removed meanwhile).
    view = desk.open_publish_at(queue, VOTER)
    assert "Only reviewers" in errors(desk.submit(view, soon(), user=OUTSIDER))
    assert desk.schedules() == [] and desk.decisions() == []


# --- recorded ----------------------------------------------------------------------------------


def test_scheduling_records_who_when_and_what_and_updates_the_cards(desk, slack):
    shared = desk.share(VOTER)
    view = desk.open_publish_at(desk.queue(), VOTER)
    when = (datetime.now(UTC) + timedelta(days=2)).replace(second=0, microsecond=0)
    slack.reset()
    assert desk.submit(view, when) == {}
    (schedule,) = desk.schedules()
    assert (schedule.status, schedule.due_at, schedule.scheduled_by_id) == (
        "pending",
        when,
        REVIEWER,
    )
    assert schedule.fingerprint == desk.article(VOTER).content_hash
    # The shared card says so, with Cancel; it stays a draft.
    (update,) = slack.calls_to("chat.update")
    assert update.args["ts"] == shared["ts"]
    voter = desk.article_id(VOTER)
    said = card_text(update.args, voter)
    assert f"Scheduled for <!date^{int(when.timestamp())}^" in said and f"<@{REVIEWER}>" in said
    assert actions.REVIEW_CANCEL_SCHEDULE in action_ids(update.args, voter)
    assert actions.REVIEW_PUBLISH_AT not in action_ids(update.args, voter)
    # The reviewer is told where they clicked (an ephemeral /news review), with the card.
    (told,) = slack.calls_to("response_url")
    assert told.args["response_type"] == "ephemeral" and "Scheduled for" in told.args["text"]
    assert actions.REVIEW_CANCEL_SCHEDULE in action_ids(told.args, voter)
    assert b"published: false" in (desk.settings.articles_dir / VOTER_FILE).read_bytes()
    # The audit trail has it.
    (audited,) = desk.decisions("schedule")
    assert audited.reviewer_id == REVIEWER and audited.new_value.startswith(f"{when:%Y-%m-%d}")


def test_newsbot_audit_lists_the_schedule(desk, tmp_path):
    desk.schedule(VOTER, soon())
    env = {
        "NEWSBOT_DATABASE_URL": desk.settings.database_url,
        "NEWSBOT_ARTICLES_DIR": str(desk.settings.articles_dir),
        "PATH": "/usr/bin:/bin",
    }
    out = subprocess.run(
        [sys.executable, "-m", "bot", "audit", "--since", "1d"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(line for line in out.splitlines() if "schedule" in line)
    assert "rita (U0REVIEW)" in line and "State Auditor" in line and " UTC" in line


def test_from_app_home_the_tab_is_published_again_with_the_news(desk, slack):
    slack.reset()
    desk.app.dispatch(app_home_opened(REVIEWER).bolt_request())
    (home,) = slack.calls_to("views.publish")
    view = home.args["view"]
    voter = desk.article_id(VOTER)
    element = button(view, actions.REVIEW_PUBLISH_AT, voter)
    slack.reset()
    click = block_action(
        actions.REVIEW_PUBLISH_AT,
        element["value"],
        user_id=REVIEWER,
        container_type="view",
        view=view,
    )
    assert desk.app.dispatch(click.bolt_request()).status == 200
    modal = slack.calls_to("views.open")[0].args["view"]
    assert "c" not in json.loads(modal["private_metadata"])
    slack.reset()
    assert desk.submit(modal, soon()) == {}
    (again,) = slack.calls_to("views.publish")
    assert "Scheduled for" in json.dumps(again.args["view"])


def test_an_expired_trigger_tells_the_reviewer_to_click_again(desk, slack):
    queue = desk.queue()  # (which forgets scripted failures)
    slack.fail_next("views.open", "expired_trigger_id")
    replies = desk.click(queue, actions.REVIEW_PUBLISH_AT, VOTER)
    assert any("click Publish at… again" in r["text"] for r in replies)


def test_a_card_that_is_no_draft_any_more_does_not_open_the_modal(desk, slack):
    queue = desk.queue()
    desk.click(queue, actions.REVIEW_REJECT, VOTER)
    slack.reset()
    replies = desk.click(queue, actions.REVIEW_PUBLISH_AT, VOTER)
    assert slack.calls_to("views.open") == []
    assert any("not a draft" in r.get("text", "") for r in replies)


def test_the_view_submission_is_signed_like_everything_else(desk, slack):
    view = desk.open_publish_at(desk.queue(), VOTER)
    forged = submission(view, {}, user_id=REVIEWER, secret="not-the-signing-secret")
    assert desk.app.dispatch(forged.bolt_request()).status == 401
    assert desk.schedules() == []


def test_shared_channel_cards_do_not_offer_publish_at(desk, slack):
    shared = desk.share(VOTER, SHARE_CHANNEL)
    voter = desk.article_id(VOTER)
    assert action_ids(shared, voter) == [actions.REVIEW_PUBLISH, actions.REVIEW_REJECT]
