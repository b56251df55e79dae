"""Pages of `/news` results: Next and Previous replace the message in place."""

from __future__ import annotations

from bot.render import actions
from storage.sync import sync
from tests.builders import button, click, news, texts, write_article


def test_next_and_previous_replace_the_page(app, slack, settings, bot_db):
    for n in range(7):
        write_article(settings.articles_dir, f"vote-{n}", heat=10 + n, topics=["Elections"])
    sync(bot_db.WriteSession, settings.articles_dir)
    first = news(app, slack, "elections")
    assert "Story vote-6" in texts(first) and "Story vote-2" not in texts(first)
    (second,) = click(app, slack, first, actions.NEWS_PAGE, user_id="U111")
    assert second["replace_original"] is True
    assert "Story vote-2" in texts(second) and "Story vote-6" not in texts(second)
    assert "Previous" in button(second, actions.NEWS_PAGE)["text"]["text"]
    (previous,) = click(app, slack, second, actions.NEWS_PAGE, user_id="U111")
    assert previous["replace_original"] is True
    assert "Story vote-6" in texts(previous) and "Story vote-2" not in texts(previous)
