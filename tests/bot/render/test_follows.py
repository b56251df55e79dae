"""The follow messages stay inside Block Kit's limits and escape what users and articles
wrote, however long or hostile."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from bot import render
from storage.types import ArticleView, FollowRecord, Image
from tests.blockkit import message_problems
from tests.slack_api import mentions_in

TZ = ZoneInfo("Europe/Berlin")
NASTY = "<!channel> & <@U123> *bold* `code` ~x~ <https://evil.example|click>"
_text = st.text(max_size=700) | st.just(NASTY) | st.just("x" * 5000)


def article(n: int, title: str, url: str = "") -> ArticleView:
    return ArticleView(
        id=n,
        web_url=url or f"https://news.example/{n}?a=1&b=2",
        title=title,
        excerpt=title,
        heat=n,
        topics=(title[:50],),
        images=(Image(url=f"https://img.example/{n}.jpg", title=title),),
    )


def follow(n: int, query: str, *, source: str = "user") -> FollowRecord:
    return FollowRecord(
        id=n,
        channel="C1",
        number=n,
        query=query,
        source=source,
        created_by="U111" if n % 2 else "not-an-id",
        created_by_name=NASTY,
        created_at=datetime(2026, 11, 26, tzinfo=UTC),
        cards=n,
    )


def assert_clean(message: render.Message) -> None:
    payload = {"text": message.text, "blocks": message.blocks}
    assert message_problems(payload) == []
    assert not [m for m in mentions_in(payload) if not m.startswith(("<@U111>", "<!date^"))]


@given(st.lists(_text, min_size=1, max_size=25), _text)
def test_a_follow_card_names_every_query_safely(queries: list[str], title: str):
    message = render.follow_card(article(1, title), queries=queries, tz=TZ)
    assert_clean(message)
    assert message.blocks[0]["block_id"] == "follow-queries"


@given(
    st.lists(_text, min_size=0, max_size=20), st.lists(_text, max_size=25), st.integers(0, 10**6)
)
def test_a_summary_fits_one_message(titles: list[str], queries: list[str], more: int):
    long_url = "https://news.example/" + "a" * 2500
    articles = [article(n, t, long_url if n % 3 == 0 else "") for n, t in enumerate(titles)]
    message = render.follow_summary(articles, more=more, queries=queries)
    assert_clean(message)
    said = json.dumps(message.blocks)
    assert str(len(articles) + more) in message.text
    assert (f"and {more} more" in said) == (more > 0)


def test_the_summary_lists_titles_as_links_in_the_order_given():
    articles = [article(n, f"Title {n}") for n in (9, 7, 3)]
    message = render.follow_summary(articles, more=4, queries=["ai heat>=70", "ai heat>=70"])
    said = json.dumps(message.blocks)
    assert message.text == "7 more articles match ai heat&gt;=70"
    assert said.index("Title 9") < said.index("Title 7") < said.index("Title 3")
    assert "<https://news.example/9?a=1&amp;b=2|Title 9>" in said


@given(st.lists(_text, max_size=26), st.none() | _text)
def test_the_follows_list_fits_and_has_a_button_per_user_follow(queries, notice):
    follows = [
        follow(n + 1, q, source="config" if n == 25 else "user") for n, q in enumerate(queries)
    ]
    message = render.follows_list(follows, limit=25, notice=notice)
    assert_clean(message)
    buttons = [b for b in message.blocks if b.get("accessory", {}).get("type") == "button"]
    assert len(buttons) == len([f for f in follows if not f.configured])


@given(_text, st.lists(_text, max_size=5))
def test_the_follow_answer_fits(query: str, titles: list[str]):
    record = follow(3, query)
    message = render.follow_added(
        record, previews=[article(n, t) for n, t in enumerate(titles)], burst=5, tz=TZ
    )
    assert_clean(message)
