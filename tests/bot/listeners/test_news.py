"""`/news` and its buttons, driven through the real Bolt app with signed requests."""

from __future__ import annotations

import json
import os

import pytest

from bot.render import actions
from storage.models import PostedMessage
from storage.sync import sync
from tests.slack_api import mentions_in
from tests.slack_requests import SIGNING_SECRET, block_action, sign, slash_command

CAMERAS = "https://www.harborcityherald.com/story/ai-traffic-cameras-pilot-results-4821907"


def news(app, slack, text, *, status=200, **kw):
    request = slash_command(text, response_url=slack.response_url(), **kw)
    response = app.dispatch(request.bolt_request())
    assert response.status == status
    (reply,) = slack.calls_to("response_url")
    slack.reset()
    return reply.args


def texts(payload) -> str:
    return json.dumps(payload.get("blocks", []), ensure_ascii=False)


def buttons(payload, action_id):
    return [
        element
        for block in payload.get("blocks", [])
        if block["type"] == "actions"
        for element in block["elements"]
        if element.get("action_id") == action_id
    ]


def click(app, slack, button, payload, **kw):
    request = block_action(
        button["action_id"],
        button["value"],
        message_blocks=payload["blocks"],
        response_url=slack.response_url(),
        **kw,
    )
    response = app.dispatch(request.bolt_request())
    assert response.status == 200
    return request


def replay(request):
    """The same delivery again, as Slack retries it: same body, fresh signature."""
    headers = sign(request.body, SIGNING_SECRET, content_type=request.content_type)
    headers |= {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    return type(request)(body=request.body, headers=headers, payload=request.payload)


@pytest.mark.parametrize("text", ["", "help", "  HELP  "])
def test_help(app, slack, text):
    reply = news(app, slack, text)
    assert reply["response_type"] == "ephemeral"
    assert "since:7d" in texts(reply) and "/news topics" in texts(reply)


def test_topic_search_returns_cards_with_share_buttons(app, slack):
    reply = news(app, slack, "computer vision")
    assert reply["response_type"] == "ephemeral"
    assert "Harbor City Lets AI Cameras" in texts(reply)
    assert CAMERAS in texts(reply)
    (share,) = buttons(reply, actions.NEWS_SHARE)
    assert share["text"]["text"] == "Share"
    image = next(
        b["accessory"] for b in reply["blocks"] if b.get("accessory", {}).get("type") == "image"
    )
    assert image["image_url"].startswith("https://")


def test_text_fallback_and_no_results(app, slack):
    assert "Cloud Bills" in texts(news(app, slack, "bills"))
    reply = news(app, slack, "zeppelin")
    assert "No articles match" in texts(reply)


def test_topics(app, slack):
    reply = news(app, slack, "topics")
    assert "Computer Vision" in texts(reply) and "Privacy" in texts(reply)


def test_bad_filter_gets_one_sentence_and_help_pointer(app, slack):
    reply = news(app, slack, "ai since:someday")
    assert "since:7d" in reply["text"] and "/news help" in reply["text"]


def test_next_and_previous_replace_the_page(app, slack, settings, bot_db):
    for n in range(7):
        (settings.articles_dir / f"vote-{n}.md").write_text(
            f'---\ntitle: "Vote story {n}"\nwebUrl: "https://ex.example/v{n}"\n'
            f"heat: {10 + n}\ntopics:\n  - Elections\n---\n"
        )
    sync(bot_db.WriteSession, settings.articles_dir)
    first = news(app, slack, "elections")
    assert "Vote story 6" in texts(first) and "Vote story 2" not in texts(first)
    (next_button,) = buttons(first, actions.NEWS_PAGE)
    click(app, slack, next_button, first)
    second = slack.calls_to("response_url")[0].args
    assert second["replace_original"] is True
    assert "Vote story 2" in texts(second) and "Vote story 6" not in texts(second)
    assert "Previous" in texts(second)


def test_share_posts_the_card_once_even_when_slack_retries(app, slack, bot_db):
    reply = news(app, slack, "computer vision")
    (share,) = buttons(reply, actions.NEWS_SHARE)
    request = click(app, slack, share, reply, user_id="U111", channel_id="C777")
    (post,) = slack.calls_to("chat.postMessage")
    assert post.args["channel"] == "C777"
    assert "<@U111>" in texts(post.args) and "Harbor City" in texts(post.args)
    assert app.dispatch(replay(request).bolt_request()).status == 200
    assert len(slack.calls_to("chat.postMessage")) == 1
    with bot_db.Session() as session:
        (message,) = session.query(PostedMessage).all()
        assert (message.channel, message.kind) == ("C777", "share")
        assert message.blocks == post.args["blocks"]


def test_share_where_the_bot_is_not_invited_says_how_to_fix_it(app, slack):
    reply = news(app, slack, "computer vision")
    (share,) = buttons(reply, actions.NEWS_SHARE)
    slack.fail_next("chat.postMessage", "not_in_channel")
    click(app, slack, share, reply)
    (told,) = slack.calls_to("response_url")
    assert "/invite @newsbot" in told.args["text"]


def test_malicious_article_text_reaches_slack_escaped(app, slack, settings, bot_db):
    (settings.articles_dir / "evil.md").write_text(
        "---\n"
        'title: "<!channel> breaking <https://evil.example|click> & more"\n'
        f'excerpt: "<!here> {"long " * 900}"\n'
        'webUrl: "https://ex.example/evil"\n'
        "heat: 99\n"
        "topics:\n  - Evil\n"
        'images:\n  - url: "javascript:alert(1)"\n'
        "---\n"
    )
    sync(bot_db.WriteSession, settings.articles_dir)
    reply = news(app, slack, "evil")
    assert mentions_in(reply) == []
    assert "&lt;!channel&gt;" in texts(reply)
    assert "javascript:" not in texts(reply)


def test_an_error_tells_the_user_and_is_logged(app, slack, bot_db, caplog):
    bot_db.engine.dispose()
    os.remove(bot_db.engine.url.database)  # the next query meets an empty database
    reply = news(app, slack, "ai", status=500)
    assert "something went wrong" in reply["text"].lower()
    assert "listener failed" in caplog.text
