"""`/news`: help, topics, search and its mistakes, through the real app with signed requests."""

from __future__ import annotations

import os

import pytest

from bot.render import actions
from storage.sync import sync
from tests.builders import button, news, texts, write_article
from tests.slack_api import mentions_in

CAMERAS = "https://www.harborcityherald.com/story/ai-traffic-cameras-pilot-results-4821907"


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
    assert button(reply, actions.NEWS_SHARE)["text"]["text"] == "Share"
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


def test_malicious_article_text_reaches_slack_escaped(app, slack, settings, bot_db):
    write_article(
        settings.articles_dir,
        "evil",
        title="<!channel> breaking <https://evil.example|click> & more",
        excerpt=f"<!here> {'long ' * 900}",
        webUrl="https://ex.example/evil",
        heat=99,
        topics=["Evil"],
        images=[{"url": "javascript:alert(1)"}],
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
