"""Share: a result card posted to the channel, naming who shared it, once."""

from __future__ import annotations

from bot.render import actions
from storage.models import PostedMessage
from tests.builders import click, click_request, dispatch, news, replay, texts


def test_share_posts_the_card_once_even_when_slack_retries(app, slack, bot_db):
    reply = news(app, slack, "computer vision")
    request = click_request(slack, reply, actions.NEWS_SHARE, user_id="U111", channel_id="C777")
    dispatch(app, slack, request)
    (post,) = slack.calls_to("chat.postMessage")
    assert post.args["channel"] == "C777"
    assert "<@U111>" in texts(post.args) and "Harbor City" in texts(post.args)
    dispatch(app, slack, replay(request))
    assert len(slack.calls_to("chat.postMessage")) == 1
    with bot_db.Session() as session:
        (message,) = session.query(PostedMessage).all()
        assert (message.channel, message.kind) == ("C777", "share")
        assert message.blocks == post.args["blocks"]


def test_share_where_the_bot_is_not_invited_says_how_to_fix_it(app, slack):
    reply = news(app, slack, "computer vision")
    slack.fail_next("chat.postMessage", "not_in_channel")
    (told,) = click(app, slack, reply, actions.NEWS_SHARE, user_id="U111")
    assert "/invite @newsbot" in told["text"]
    assert [c.response["ok"] for c in slack.calls_to("chat.postMessage")] == [False]
