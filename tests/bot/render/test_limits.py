"""Whatever an article holds, every rendered message stays inside Block Kit's limits."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from bot.render import (
    app_home,
    article_card,
    decided_card,
    digest_messages,
    ephemeral_text,
    results_message,
    review_queue_message,
    shared_message,
    topics_message,
    unfurl_blocks,
)
from bot.render.message import Message
from storage.types import ArticleView, Decision, Image, SearchPage, TopicCount

try:  # written by another engineer; used when present
    from tests.blockkit import block_kit_problems as shared_problems
except ImportError:  # pragma: no cover - depends on the tree
    shared_problems = None

TZ = ZoneInfo("Pacific/Chatham")  # +12:45/+13:45: odd offsets catch naive date maths

# --- a small, strict checker ---------------------------------------------------

# Our own tokens; everything else must reach Slack with `<`, `>` and `&` escaped.
_TOKENS = re.compile(
    r"<@[UW][A-Z0-9]+>"
    r"|<!date\^\d+\^[^|<>]*\|[^<>]*>"
    r"|<https?://[^|<>\s]+\|[^<>]*>"
)
_BARE_AMP = re.compile(r"&(?!amp;|lt;|gt;)")


def units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _text_problems(where: str, obj: Any, limit: int, *, kind: str | None = None) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        return [f"{where}: not a text object: {obj!r:.80}"]
    if kind and obj["type"] != kind:
        return [f"{where}: must be {kind}"]
    return _string_problems(where, obj.get("text"), limit)


def _string_problems(where: str, text: Any, limit: int) -> list[str]:
    if not isinstance(text, str) or not text:
        return [f"{where}: empty text"]
    out = []
    if units(text) > limit:
        out.append(f"{where}: {units(text)} > {limit}")
    rest = _TOKENS.sub("", text)
    if "<" in rest or ">" in rest:
        out.append(f"{where}: raw < or > outside our tokens: {text!r:.120}")
    if _BARE_AMP.search(text):
        out.append(f"{where}: unescaped &: {text!r:.120}")
    return out


def _url_problems(where: str, url: Any) -> list[str]:
    if not isinstance(url, str) or not re.match(r"https?://", url):
        return [f"{where}: not an http(s) URL: {url!r:.80}"]
    out = []
    if units(url) > 3000:
        out.append(f"{where}: URL too long")
    if re.search(r"[\s<>|\"]", url):
        out.append(f"{where}: unencoded character in URL")
    return out


def _image_problems(where: str, el: dict) -> list[str]:
    return _url_problems(f"{where}.image_url", el.get("image_url")) + _string_problems(
        f"{where}.alt_text", el.get("alt_text"), 2000
    )


def _button_problems(where: str, el: dict) -> list[str]:
    out = _text_problems(f"{where}.text", el.get("text"), 75, kind="plain_text")
    action_id = el.get("action_id", "")
    if not action_id or len(action_id) > 255:
        out.append(f"{where}: bad action_id")
    value = el.get("value")
    if value is not None:
        if units(value) > 2000:
            out.append(f"{where}: value {units(value)} > 2000")
        try:
            json.loads(value)
        except ValueError:
            out.append(f"{where}: value is not JSON")
    if el.get("style") not in (None, "primary", "danger"):
        out.append(f"{where}: bad style")
    confirm = el.get("confirm")
    if confirm is not None:
        out += _text_problems(f"{where}.confirm.title", confirm.get("title"), 100)
        out += _text_problems(f"{where}.confirm.text", confirm.get("text"), 300)
        out += _text_problems(f"{where}.confirm.confirm", confirm.get("confirm"), 30)
        out += _text_problems(f"{where}.confirm.deny", confirm.get("deny"), 30)
    return out


def local_problems(blocks: list[dict], surface: str = "message") -> list[str]:
    """Block Kit limits, counted in UTF-16 units, plus our no-raw-markup rule."""
    out: list[str] = []
    most = 100 if surface in ("home", "modal") else 50
    if not blocks or len(blocks) > most:
        out.append(f"{len(blocks)} blocks (1..{most} allowed)")
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    if len(ids) != len(set(ids)):
        out.append(f"duplicate block_id: {sorted(i for i in ids if ids.count(i) > 1)}")
    for i, block in enumerate(blocks):
        where = f"blocks[{i}]({block.get('type')})"
        if len(block.get("block_id", "")) > 255:
            out.append(f"{where}: block_id too long")
        kind = block.get("type")
        if kind == "section":
            out += _text_problems(f"{where}.text", block.get("text"), 3000)
            accessory = block.get("accessory")
            if accessory is not None:
                if accessory.get("type") == "image":
                    out += _image_problems(f"{where}.accessory", accessory)
                elif accessory.get("type") == "button":
                    out += _button_problems(f"{where}.accessory", accessory)
        elif kind == "header":
            out += _text_problems(f"{where}.text", block.get("text"), 150, kind="plain_text")
        elif kind == "context":
            elements = block.get("elements", [])
            if not 1 <= len(elements) <= 10:
                out.append(f"{where}: {len(elements)} elements")
            for j, el in enumerate(elements):
                if el.get("type") == "image":
                    out += _image_problems(f"{where}[{j}]", el)
                else:
                    out += _text_problems(f"{where}[{j}]", el, 2000)
        elif kind == "actions":
            elements = block.get("elements", [])
            if not 1 <= len(elements) <= 25:
                out.append(f"{where}: {len(elements)} elements")
            action_ids = [el.get("action_id") for el in elements]
            if len(action_ids) != len(set(action_ids)):
                out.append(f"{where}: duplicate action_id in one block")
            for j, el in enumerate(elements):
                out += _button_problems(f"{where}[{j}]", el)
        elif kind != "divider":
            out.append(f"{where}: unexpected block type")
    return out


def problems(blocks: list[dict], surface: str = "message") -> list[str]:
    """Our checker, slack_sdk's own validators again, and tests/blockkit.py when it exists."""
    out = local_problems(blocks, surface)
    for i, block in enumerate(blocks):
        try:
            Block.parse(block).to_dict()
        except Exception as exc:  # any validator failure is a finding
            out.append(f"blocks[{i}]: slack_sdk: {exc}")
    if shared_problems is not None:
        out += [f"tests/blockkit.py: {p}" for p in shared_problems(blocks, surface=surface)]
    return out


def message_problems(message: Message) -> list[str]:
    out = problems(message.blocks)
    out += _string_problems("text", message.text, 3000)
    return out


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
slow = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


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


def _huge(i: int, **changes: Any) -> ArticleView:
    fields: dict[str, Any] = dict(
        id=i,
        web_url=f"https://example.com/{i}?a=1&b=2",
        title="<!channel> " + "Å𝔘🗳️ & " * 700,
        excerpt="word & <b> " * 500,
        provider_name=None,
        topics=tuple(f"Topic {n} & <x>" for n in range(60)),
        heat=99,
        images=(Image(url="javascript:alert(1)"), Image(url="https://cdn.example.com/a.jpg")),
        fingerprint="f" * 64,
    )
    fields.update(changes)
    return ArticleView(**fields)


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
    found = "\n".join(local_problems(bad))
    for expected in ("3013 > 3000", "raw < or >", "unescaped &", "151 > 150", "duplicate block_id"):
        assert expected in found
    assert local_problems(article_card(_huge(1), tz=TZ, share=True, review=True)) == []
