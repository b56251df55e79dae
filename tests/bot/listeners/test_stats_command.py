"""`/news stats`, and the log every `/news` search leaves, through the real Bolt app."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect, select, text

from bot.render import actions
from storage.models import SearchLog
from tests.insights_builders import add_article
from tests.slack_requests import block_action, slash_command


def news(app, slack, typed, **kw):
    request = slash_command(typed, response_url=slack.response_url(), **kw)
    assert app.dispatch(request.bolt_request()).status == 200
    (reply,) = slack.calls_to("response_url")
    slack.reset()
    return reply.args


def logged(db) -> list[tuple[str, int]]:
    with db.Session() as session:
        rows = session.execute(select(SearchLog.query, SearchLog.results).order_by(SearchLog.id))
        return [tuple(row) for row in rows]


def test_news_stats_shows_the_last_seven_days_only_to_the_caller(app, slack):
    reply = news(app, slack, "stats")
    assert reply["response_type"] == "ephemeral"
    blocks = json.dumps(reply["blocks"], ensure_ascii=False)
    assert "Desk stats:" in blocks
    assert "*Articles in*\\n5" in blocks  # the examples, indexed just now
    assert "`▁▁▁▁▁▁█` articles in" in blocks
    assert "*Still waiting*\\n" in blocks and "Top topics by heat" in blocks


_TODAY = datetime.now(UTC).date()


@pytest.mark.parametrize(
    "period",
    ["30d", "2w", f"{_TODAY - timedelta(days=9)}..{_TODAY - timedelta(days=3)}", " STATS 7D "],
)
def test_news_stats_takes_a_period(app, slack, period):
    typed = period if period.strip().lower().startswith("stats") else f"stats {period}"
    reply = news(app, slack, typed)
    assert "Desk stats:" in json.dumps(reply["blocks"])


@pytest.mark.parametrize(
    "period", ["7x", "yesterday", "2026-11-30..2026-11-01", "400d", "9999-12-30..9999-12-31"]
)
def test_a_bad_period_gets_one_sentence(app, slack, period):
    reply = news(app, slack, f"stats {period}")
    (block,) = reply["blocks"]
    said = block["text"]["text"]
    assert said.startswith(f"`/news stats {period}`") and said.endswith(".")
    assert "\n" not in said


def test_help_lists_stats(app, slack):
    reply = news(app, slack, "help")
    assert "/news stats [7d|30d|DATE..DATE]" in json.dumps(reply["blocks"])


def test_a_search_is_logged_with_its_results_and_nothing_about_who_asked(app, slack, bot_db):
    news(app, slack, "Computer   VISION", user_id="U0SECRET7", channel_id="C0PRIVATE")
    news(app, slack, "nothing-matches-this", user_id="U0SECRET7")
    news(app, slack, "AI heat>=90", user_id="U0SECRET7")
    assert logged(bot_db) == [
        ("computer vision", 1),
        ("nothing-matches-this", 0),
        ("ai heat>=90", 0),
    ]
    columns = {c["name"] for c in inspect(bot_db.engine).get_columns("search_log")}
    assert columns == {"id", "searched_at", "query", "results"}
    with bot_db.Session() as session:
        everything = json.dumps(
            [list(map(str, r)) for r in session.execute(text("SELECT * FROM search_log"))]
        )
    assert (
        "U0SECRET7" not in everything and "C0PRIVATE" not in everything and "jane" not in everything
    )


def test_results_beyond_the_first_page_are_counted(app, slack, bot_db):
    for _ in range(8):
        add_article(bot_db, "2026-11-20 10:00", topics=("Municipal Budgets",))
    reply = news(app, slack, "municipal budgets")
    assert any(b["type"] == "actions" for b in reply["blocks"])  # a Next button: more follow
    assert logged(bot_db) == [("municipal budgets", 8)]


def test_only_new_searches_are_logged(app, slack, bot_db):
    for _ in range(8):
        add_article(bot_db, "2026-11-20 10:00", topics=("Municipal Budgets",))
    reply = news(app, slack, "municipal budgets")
    button = next(
        e
        for b in reply["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == actions.NEWS_PAGE
    )
    click = block_action(
        button["action_id"], button["value"], message_blocks=reply["blocks"],
        response_url=slack.response_url(),
    )  # fmt: skip
    assert app.dispatch(click.bolt_request()).status == 200
    assert len(slack.calls_to("response_url")) == 1  # the next page
    slack.reset()
    news(app, slack, "heat>=abc")  # not a search: the filter is refused
    news(app, slack, "stats")
    news(app, slack, "topics")
    assert logged(bot_db) == [("municipal budgets", 8)]


def test_a_failing_log_never_costs_the_answer(app, slack, bot_db, caplog):
    caplog.set_level(logging.WARNING)
    with bot_db.engine.begin() as conn:
        conn.execute(text("DROP TABLE search_log"))
    reply = news(app, slack, "computer vision")
    assert "Harbor City" in json.dumps(reply["blocks"])
    (warning,) = [r for r in caplog.records if r.name == "bot.flows.search"]
    assert "a search was not logged" in warning.getMessage()
    assert "computer vision" not in warning.getMessage()
