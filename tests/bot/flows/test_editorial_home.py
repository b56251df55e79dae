"""App Home for reviewers: the queue (drafts waiting, hottest first, with how long they waited and
who approved them) and the publications scheduled, with Cancel. Non-reviewers see no buttons."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.render import actions
from tests.bot.flows.editorial_kit import (
    CLINIC,
    CLOUD,
    OUTSIDER,
    SECOND,
    VOTER,
    ZURICH,
    Desk,
    action_ids,
    button,
    make_desk,
)
from tests.builders import REVIEWER
from tests.slack_requests import app_home_opened, block_action


@pytest.fixture
def desk(slack, database_url, articles_dir) -> Desk:
    desk = make_desk(slack, database_url, articles_dir, NEWSBOT_TWO_REVIEWERS="housing")
    desk.everything_waited_since(datetime.now(UTC) - timedelta(hours=5, minutes=10))
    yield desk
    desk.db.dispose()


def home(desk: Desk, user: str) -> dict:
    desk.slack.reset()
    assert desk.app.dispatch(app_home_opened(user).bolt_request()).status == 200
    (published,) = desk.slack.calls_to("views.publish")
    return published.args["view"]


def block_ids(view: dict, prefix: str) -> list[str]:
    return [b["block_id"] for b in view["blocks"] if b.get("block_id", "").startswith(prefix)]


def test_the_reviewers_queue_and_what_is_scheduled(desk, slack):
    desk.click(desk.queue(), actions.REVIEW_PUBLISH, ZURICH)  # needs two: an approval
    when = (datetime.now(UTC) + timedelta(days=1)).replace(second=0, microsecond=0)
    desk.schedule(CLOUD, when, user=SECOND)
    view = home(desk, REVIEWER)
    queue_start = block_ids(view, "home-queue")[0]
    assert queue_start == "home-queue"
    cards = block_ids(view, "card:")
    waiting = [desk.article_id(t) for t in (ZURICH, VOTER, CLINIC)]  # hottest first
    assert cards[:3] == [f"card:{i}" for i in waiting]
    metas = {b.get("block_id"): json.dumps(b, ensure_ascii=False) for b in view["blocks"]}
    assert "waiting 5 h" in metas[f"card-meta:{waiting[1]}"]
    zurich_meta = metas[f"card-meta:{waiting[0]}"]
    assert f"Approved by <@{REVIEWER}> · needs one more reviewer" in zurich_meta
    assert action_ids(view, waiting[1]) == [
        actions.REVIEW_PUBLISH,
        actions.REVIEW_PUBLISH_AT,
        actions.REVIEW_REJECT,
    ]
    # The scheduled one is listed with its time, who scheduled it, and Cancel.
    cloud = desk.article_id(CLOUD)
    (line,) = [b for b in view["blocks"] if b.get("block_id") == f"scheduled:{cloud}"]
    assert f"<!date^{int(when.timestamp())}^" in line["text"]["text"]
    assert f"<@{SECOND}>" in line["text"]["text"]
    assert line["accessory"]["action_id"] == actions.REVIEW_CANCEL_SCHEDULE
    assert f"card:{cloud}" not in cards[:3]


def test_the_header_counts_what_the_queue_lists_and_the_scheduled_apart(desk, slack):
    desk.schedule(CLOUD, datetime.now(UTC) + timedelta(days=1))
    view = home(desk, REVIEWER)
    (header,) = [b for b in view["blocks"] if b.get("block_id") == "home-reviews"]
    # Four drafts: three wait for review (the queue lists them), one is scheduled to go out.
    assert header["text"]["text"].startswith(
        "*3 drafts waiting* for review, and 1 more draft scheduled to go out"
    )
    queued = block_ids(view, "card:")[:3]
    assert f"card:{desk.article_id(CLOUD)}" not in queued
    assert block_ids(view, "home-queue-more") == []


def test_cancel_on_app_home_publishes_the_tab_again(desk, slack):
    desk.schedule(CLOUD, datetime.now(UTC) + timedelta(days=1))
    view = home(desk, REVIEWER)
    element = button(view, actions.REVIEW_CANCEL_SCHEDULE, desk.article_id(CLOUD))
    slack.reset()
    click = block_action(
        actions.REVIEW_CANCEL_SCHEDULE,
        element["value"],
        user_id=SECOND,
        container_type="view",
        view=view,
    )
    assert desk.app.dispatch(click.bolt_request()).status == 200
    assert [s.status for s in desk.schedules()] == ["cancelled"]
    again = slack.calls_to("views.publish")[-1].args["view"]
    assert "Cancelled the publication" in json.dumps(again)
    assert block_ids(again, "scheduled:") == []


def test_everyone_else_sees_no_buttons_and_no_queue(desk, slack):
    desk.schedule(CLOUD, datetime.now(UTC) + timedelta(days=1))
    view = home(desk, OUTSIDER)
    assert [
        b
        for b in view["blocks"]
        if b["type"] == "actions" or ("accessory" in b and b["accessory"].get("type") == "button")
    ] == []
    assert block_ids(view, "home-queue") == [] and block_ids(view, "scheduled:") == []
