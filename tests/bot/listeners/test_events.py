"""Link unfurls and App Home, from signed event callbacks."""

import json

from tests.builders import REVIEWER
from tests.slack_requests import app_home_opened, link_shared

CAMERAS = "https://www.harborcityherald.com/story/ai-traffic-cameras-pilot-results-4821907"
VOTER_AMP = "https://www.lakeviewledger.com/politics/5530871/voter-roll-privacy-audit/amp"


def test_pasted_article_links_unfurl_as_cards(app, slack):
    request = link_shared([CAMERAS, VOTER_AMP, "https://elsewhere.example/x"], channel="C9")
    assert app.dispatch(request.bolt_request()).status == 200
    (call,) = slack.calls_to("chat.unfurl")
    unfurls = call.args["unfurls"]
    assert set(unfurls) == {CAMERAS, VOTER_AMP}
    assert "Harbor City Lets AI Cameras" in json.dumps(unfurls[CAMERAS])
    assert "Draft" in json.dumps(unfurls[VOTER_AMP])  # the voter-roll story is unpublished
    assert call.args.get("unfurl_id") or call.args.get("channel") == "C9"


def test_unknown_links_are_left_alone(app, slack):
    app.dispatch(link_shared(["https://elsewhere.example/x"]).bolt_request())
    assert slack.calls_to("chat.unfurl") == []


def test_an_event_retry_does_not_unfurl_twice(app, slack):
    request = link_shared([CAMERAS])
    app.dispatch(request.bolt_request())
    retry = link_shared([CAMERAS], retry_num=1, event_id=request.payload["event_id"])
    assert app.dispatch(retry.bolt_request()).status == 200
    assert len(slack.calls_to("chat.unfurl")) == 1


def test_app_home_shows_hottest_and_topics(app, slack):
    app.dispatch(app_home_opened("U111").bolt_request())
    (call,) = slack.calls_to("views.publish")
    assert call.args["user_id"] == "U111"
    home = json.dumps(call.args["view"])
    assert call.args["view"]["type"] == "home"
    assert "Top topics" in home
    assert "drafts waiting" not in home  # not a reviewer


def test_app_home_tells_reviewers_how_many_drafts_wait(app, slack):
    app.dispatch(app_home_opened(REVIEWER).bolt_request())
    (call,) = slack.calls_to("views.publish")
    assert "drafts waiting" in json.dumps(call.args["view"])
