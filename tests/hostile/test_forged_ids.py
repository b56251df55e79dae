"""Signed, hand-made payloads whose ids Slack's own buttons never carry: too large for the
database's INTEGER, negative, or not integers. Every one is answered as a broken button (or a
broken form), on both databases, with no error logged and nothing written.

And a datetimepicker value beyond the calendar is a time too far ahead (or past), not "no time".
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import SORRY
from bot.render import BROKEN_BUTTON, actions
from tests.bot.flows.editorial_kit import VOTER, Desk, make_desk
from tests.builders import REVIEWER
from tests.slack_requests import block_action, picked_datetime, view_submission

FORGED = [2**31, 2**63, 2**70, -1, 1.5, True, "1"]


@pytest.fixture
def desk(slack, database_url, articles_dir) -> Desk:
    desk = make_desk(slack, database_url, articles_dir)
    yield desk
    desk.db.dispose()


def clicked(desk: Desk, action_id: str, value: dict) -> list[str]:
    """A reviewer clicks a button carrying `value`; what they were told."""
    request = block_action(
        action_id,
        json.dumps(value),
        user_id=REVIEWER,
        user_name="rita",
        response_url=desk.slack.response_url(),
    )
    assert desk.app.dispatch(request.bolt_request()).status == 200
    return [c.args.get("text", "") for c in desk.slack.calls_to("response_url")]


def nothing_happened(desk: Desk, caplog: pytest.LogCaptureFixture) -> None:
    assert desk.decisions() == [] and desk.schedules() == []
    assert desk.slack.calls_to("views.open") == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("forged", FORGED, ids=repr)
@pytest.mark.parametrize(
    ("action_id", "key"),
    [
        (actions.REVIEW_PUBLISH, "a"),
        (actions.REVIEW_REJECT, "a"),
        (actions.REVIEW_UNPUBLISH, "a"),
        (actions.REVIEW_PUBLISH_AT, "a"),
        (actions.REVIEW_CANCEL_SCHEDULE, "a"),
        (actions.REVIEW_CANCEL_SCHEDULE, "s"),
    ],
)
def test_a_forged_id_in_a_button_is_a_broken_button(desk, caplog, action_id, key, forged):
    value = {"a": desk.article_id(VOTER), "f": desk.article(VOTER).content_hash, "s": 1}
    told = clicked(desk, action_id, {**value, key: forged})
    assert told == [BROKEN_BUTTON]
    assert SORRY not in told
    nothing_happened(desk, caplog)


@pytest.mark.parametrize("forged", [2**31, 2**70], ids=repr)
def test_a_forged_id_in_share_and_paging_is_refused_quietly(desk, caplog, forged):
    told = clicked(desk, actions.NEWS_SHARE, {"a": forged})
    assert len(told) == 1 and SORRY not in told
    assert desk.slack.calls_to("chat.postMessage") == []
    desk.slack.reset()
    paged = clicked(desk, actions.REVIEW_PAGE, {"o": forged})
    assert len(paged) == 1 and SORRY not in paged
    nothing_happened(desk, caplog)


@pytest.mark.parametrize("forged", FORGED, ids=repr)
def test_a_forged_id_in_the_modal_is_a_broken_form(desk, caplog, forged):
    view = {
        "callback_id": actions.PUBLISH_AT_VIEW,
        "private_metadata": json.dumps({"a": forged, "f": "x"}),
        "blocks": [],
    }
    when = int((datetime.now(UTC) + timedelta(days=1)).timestamp())
    values = {actions.PUBLISH_AT_BLOCK: {actions.PUBLISH_AT_ELEMENT: picked_datetime(when)}}
    request = view_submission(view, values, user_id=REVIEWER, user_name="rita")
    response = desk.app.dispatch(request.bolt_request())
    assert response.status == 200
    body = json.loads(response.body)
    assert body["response_action"] == "errors"
    assert "broken" in body["errors"][actions.PUBLISH_AT_BLOCK]
    nothing_happened(desk, caplog)


@pytest.mark.parametrize(
    ("seconds", "said"), [(10**13, "90 days"), (10**18, "90 days"), (-(10**13), "passed")]
)
def test_a_time_beyond_the_calendar_is_refused_as_too_far_or_past(desk, seconds, said):
    view = desk.open_publish_at(desk.queue(), VOTER)
    values = {actions.PUBLISH_AT_BLOCK: {actions.PUBLISH_AT_ELEMENT: picked_datetime(seconds)}}
    request = view_submission(view, values, user_id=REVIEWER, user_name="rita")
    body = json.loads(desk.app.dispatch(request.bolt_request()).body)
    assert said in body["errors"][actions.PUBLISH_AT_BLOCK]
    assert desk.schedules() == []
