"""Whatever an article holds, every rendered message stays inside Block Kit's limits."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.render import (
    app_home,
    article_card,
    decided_card,
    digest_messages,
    ephemeral_text,
    limits,
    results_message,
    review_queue_message,
    shared_message,
    topics_message,
    unfurl_blocks,
)
from bot.render.message import Message
from storage.types import ArticleView, Decision, Image, SearchPage, TopicCount
from tests import builders
from tests.blockkit import block_kit_problems, units
from tests.blockkit import message_problems as payload_problems
from tests.depth import depth

TZ = ZoneInfo("Pacific/Chatham")  # +12:45/+13:45: odd offsets catch naive date maths


def _our_contract(blocks: list[dict]) -> list[str]:
    """What the renderers promise beyond Block Kit: JSON button values, encoded URLs."""
    out = []
    for i, block in enumerate(blocks):
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            value = element.get("value")
            if value is not None:
                try:
                    json.loads(value)
                except ValueError:
                    out.append(f"blocks[{i}]: button value is not JSON: {value!r:.80}")
            url = element.get("image_url")
            if isinstance(url, str) and re.search(r"[\s<>|\"]", url):
                out.append(f"blocks[{i}]: unencoded character in URL {url!r:.80}")
    return out


def problems(blocks: list[dict], surface: str = "message") -> list[str]:
    return block_kit_problems(blocks, surface=surface) + _our_contract(blocks)


def message_problems(message: Message) -> list[str]:
    out = payload_problems({"text": message.text, "blocks": message.blocks})
    if units(message.text) > limits.FALLBACK_TEXT:
        out.append(f"text: {units(message.text)} > {limits.FALLBACK_TEXT}")
    return out + _our_contract(message.blocks)


# --- strategies -------------------------------------------------------------------

TRICKY = [
    "<!channel>",
    "<!here>",
    "<@U024BE7LH>",
    "<https://evil.example|click>",
    "&",
    "&amp;",
    "&lt;",
    "<",
    ">",
    "|",
    "*",
    "`",
    "🇺🇸",
    "👨‍👩‍👧",
    "🗳️",
    "1️⃣",
    "e\u0301",
    "中文",
    "𝔘",
    "\n",
    " ",
    "\u200d",
    "\ufe0f",
    "\x00",
    "\ud800",
]
fragment = st.one_of(st.sampled_from(TRICKY), st.text(max_size=12))
short_text = st.lists(fragment, max_size=6).map("".join)
long_text = st.builds(
    lambda parts, n: ("".join(parts) * n)[:6000],
    st.lists(fragment, min_size=1, max_size=8),
    st.integers(1, 2000),
)
any_text = st.one_of(short_text, long_text)
ODD_URLS = [
    "javascript:alert(1)",
    "data:image/png;base64,AAAA",
    "ftp://example.com/x.jpg",
    "",
    "not a url",
    "https://",
    "https://static.example.com/uploads/a.png?w=600&h=400&fit=crop",
    "https://i.example.com/x/&apos;s%20photo.jpeg",
    "https://evil.example|click",
    "https://example.com/<!channel>",
    "HTTPS://EXAMPLE.COM/UPPER",
    "https://exa mple.com/a b\nc",
    "https://example.com/" + "&|<>" * 900,
    "https://example.com/" + "a" * 3100,
    "https://例え.jp/パス",
]
url = st.one_of(
    st.sampled_from(ODD_URLS),
    st.builds(lambda path: f"https://example.com/{path}", any_text),
)
moment = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2099, 1, 1), timezones=st.just(UTC)
)
decision = st.builds(
    Decision,
    action=st.sampled_from(["publish", "reject", "unpublish", "archive"]),
    reviewer_id=st.one_of(st.sampled_from(["U123ABC", "W0XYZ", "<!channel>", ""]), short_text),
    reviewer_name=any_text,
    decided_at=moment,
)
image = st.builds(Image, url=url, title=st.none() | any_text)
article = st.builds(
    ArticleView,
    id=st.integers(1, 2**63 - 1),
    web_url=url,
    title=any_text,
    excerpt=any_text,
    published_at=st.none() | moment,
    provider_name=st.none() | any_text,
    provider_domain=st.none() | short_text,
    topics=st.lists(st.one_of(short_text, long_text), max_size=60).map(tuple),
    heat=st.integers(-(2**63), 2**63 - 1),
    quality=st.integers(-(2**63), 2**63 - 1),
    published=st.booleans(),
    images=st.lists(image, max_size=3).map(tuple),
    fingerprint=st.text("0123456789abcdef", max_size=64),
    decision=st.none() | decision,
)
articles = st.lists(article, max_size=20, unique_by=lambda a: a.id)
slow = settings(max_examples=depth(60))


def _assert_fine(found: list[str]) -> None:
    assert not found, "\n".join(found[:20])


@slow
@given(article, st.booleans(), st.booleans(), st.booleans())
def test_any_article_card_fits(a: ArticleView, share: bool, review: bool, reviewer: bool) -> None:
    _assert_fine(problems(article_card(a, tz=TZ, share=share, review=review, reviewer=reviewer)))
    _assert_fine(problems(decided_card(a, tz=TZ, share=share)))
    _assert_fine(problems(unfurl_blocks(a, tz=TZ)))
    _assert_fine(message_problems(shared_message(a, shared_by="U024BE7LH", tz=TZ)))


@slow
@given(
    st.lists(article, max_size=12, unique_by=lambda a: a.id),
    any_text,
    st.sampled_from(["topic", "text", "<odd>"]),
    st.integers(0, 10**6),
    st.integers(1, 12),
    st.booleans(),
    st.booleans(),
)
def test_any_results_page_fits(
    found: list[ArticleView],
    query: str,
    mode: str,
    offset: int,
    limit: int,
    has_more: bool,
    reviewer: bool,
) -> None:
    page = SearchPage(query, mode, tuple(found), offset, limit, has_more)
    _assert_fine(message_problems(results_message(page, tz=TZ, reviewer=reviewer)))


@slow
@given(articles, st.dictionaries(st.integers(1, 2**63 - 1), st.integers(-5, 10**6)), st.booleans())
def test_any_digest_fits(items: list[ArticleView], related: dict, late: bool) -> None:
    related.update({a.id: 3 for a in items[::2]})
    messages = digest_messages(
        local_date=date(2026, 11, 26), articles=items, related_counts=related, late=late, tz=TZ
    )
    for message in messages:
        _assert_fine(message_problems(message))
    shown = [b for m in messages for b in m.blocks if b.get("block_id", "").startswith("card:")]
    assert len(shown) == len(items)


@slow
@given(articles, st.integers(0, 10**6), st.booleans(), moment)
def test_any_review_queue_fits(
    items: list[ArticleView], offset: int, has_more: bool, now: datetime
) -> None:
    message = review_queue_message(items, now=now, offset=offset, has_more=has_more, tz=TZ)
    _assert_fine(message_problems(message))


topic_counts = st.lists(
    st.builds(TopicCount, name=any_text, count=st.integers(0, 10**9)), max_size=600
)


@slow
@given(articles, topic_counts, st.none() | st.integers(0, 10**9))
def test_any_app_home_fits(hot: list[ArticleView], topics: list, pending: int | None) -> None:
    view = app_home(hottest=hot, topics=topics, pending_reviews=pending, tz=TZ)
    assert view["type"] == "home"
    _assert_fine(problems(view["blocks"], surface="home"))


@slow
@given(topic_counts)
def test_any_topics_fit(topics: list[TopicCount]) -> None:
    _assert_fine(message_problems(topics_message(topics)))


@slow
@given(any_text)
def test_any_ephemeral_text_fits(text: str) -> None:
    _assert_fine(message_problems(ephemeral_text(text)))


def _huge(i: int) -> ArticleView:
    """A draft whose every text is at or past what a card can show."""
    return builders.article(
        i,
        web_url=f"https://example.com/{i}?a=1&b=2",
        title="<!channel> " + "Å𝔘🗳️ & " * 700,
        excerpt="word & <b> " * 500,
        published_at=None,
        provider_name=None,
        topics=tuple(f"Topic {n} & <x>" for n in range(60)),
        heat=99,
        quality=0,
        published=False,
        images=(Image(url="javascript:alert(1)"), Image(url="https://cdn.example.com/a.jpg")),
        fingerprint="f" * 64,
    )


def test_twenty_huge_articles_split_into_thread_replies() -> None:
    items = [_huge(i) for i in range(1, 21)]
    messages = digest_messages(
        local_date=date(2026, 11, 26),
        articles=items,
        related_counts={i: i for i in range(1, 21)},
        late=True,
        tz=TZ,
    )
    assert len(messages) >= 2
    for message in messages:
        assert len(message.blocks) <= 50
        _assert_fine(message_problems(message))


def test_checker_catches_what_it_should() -> None:
    bad = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "<!channel> & " + "x" * 3000}},
        {"type": "header", "text": {"type": "plain_text", "text": "y" * 151}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "ok"}, "block_id": "a"},
        {"type": "divider", "block_id": "a"},
    ]
    found = "\n".join(problems(bad))
    for expected in (
        "text attribute cannot exceed 3000",
        "raw < or >",
        "unescaped &",
        "text attribute cannot exceed 150",
        "duplicate block_id",
    ):
        assert expected in found
    assert problems(article_card(_huge(1), tz=TZ, share=True, review=True)) == []
