from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.render import (
    Message,
    actions,
    app_home,
    digest_messages,
    ephemeral_text,
    help_message,
    results_message,
    review_queue_message,
    shared_message,
    topics_message,
)
from storage.types import SearchPage, TopicCount
from tests.builders import NOW, article

TZ = ZoneInfo("Europe/Zurich")


def page(
    n: int, *, offset: int = 0, limit: int = 10, has_more: bool = False, **kw: Any
) -> SearchPage:
    return SearchPage(
        query=kw.get("query", "ai"),
        mode=kw.get("mode", "topic"),
        articles=tuple(article(i) for i in range(1, n + 1)),
        offset=offset,
        limit=limit,
        has_more=has_more,
    )


def blocks_with(message: Message, prefix: str) -> list[dict]:
    return [b for b in message.blocks if b.get("block_id", "").startswith(prefix)]


def nav(message: Message, prefix: str) -> dict[str, dict]:
    """Paging buttons by label, with their decoded values."""
    found = {}
    for block in blocks_with(message, prefix):
        if block["type"] != "actions":
            continue
        for el in block["elements"]:
            found[el["text"]["text"]] = {"action_id": el["action_id"], **json.loads(el["value"])}
    return found


# --- results -------------------------------------------------------------------------


def test_results_summary_cards_and_share_buttons() -> None:
    message = results_message(page(3), tz=TZ, reviewer=False)
    assert message.blocks[0]["text"]["text"] == "3 results for *ai* (topic)"
    assert message.text == "3 results for ai (topic)"
    assert len(blocks_with(message, "card:")) == 3
    actions = blocks_with(message, "card-actions:")
    assert all(b["elements"][0]["action_id"] == "news_share" for b in actions)
    # drafts (odd ids) carry Publish/Reject as well
    assert [el["action_id"] for el in actions[0]["elements"]] == [
        "news_share",
        "review_publish",
        "review_reject",
    ]
    assert nav(message, "results-") == {}


def test_results_reviewer_sees_unpublish_on_published_cards() -> None:
    message = results_message(page(2), tz=TZ, reviewer=True)
    published = blocks_with(message, "card-actions:2")[0]
    assert [el["action_id"] for el in published["elements"]] == ["news_share", "review_unpublish"]


def test_results_first_page_has_next_only() -> None:
    message = results_message(page(10, has_more=True), tz=TZ, reviewer=False)
    assert message.blocks[0]["text"]["text"] == "Results 1–10 for *ai* (topic)"
    assert nav(message, "results-") == {"Next →": {"action_id": "news_page", "q": "ai", "o": 10}}


def test_results_middle_page_has_both() -> None:
    message = results_message(page(10, offset=10, has_more=True), tz=TZ, reviewer=False)
    assert nav(message, "results-") == {
        "← Previous": {"action_id": "news_page", "q": "ai", "o": 0},
        "Next →": {"action_id": "news_page", "q": "ai", "o": 20},
    }


def test_results_last_page_has_previous_only() -> None:
    message = results_message(page(4, offset=20), tz=TZ, reviewer=False)
    assert message.blocks[0]["text"]["text"] == "Results 21–24 for *ai* (topic)"
    assert nav(message, "results-") == {
        "← Previous": {"action_id": "news_page", "q": "ai", "o": 10}
    }


def test_results_text_mode_and_escaped_query() -> None:
    message = results_message(page(1, query="<!channel> & co", mode="text"), tz=TZ, reviewer=False)
    assert (
        message.blocks[0]["text"]["text"] == "1 result for *&lt;!channel&gt; &amp; co* (full text)"
    )
    assert "<!channel>" not in message.text


def test_results_keep_full_query_with_filters_in_page_buttons() -> None:
    message = results_message(
        page(10, has_more=True, query="computer vision heat>=80 since:7d"), tz=TZ, reviewer=False
    )
    assert nav(message, "results-")["Next →"]["q"] == "computer vision heat>=80 since:7d"


@pytest.mark.parametrize("limit", range(1, 11))
def test_results_stay_under_50_blocks(limit: int) -> None:
    message = results_message(
        page(limit, limit=limit, has_more=True, offset=10), tz=TZ, reviewer=True
    )
    assert len(message.blocks) <= 50
    assert len(blocks_with(message, "card:")) == limit


def test_results_page_too_big_for_one_message_ends_early_and_pages_on() -> None:
    message = results_message(page(20, limit=20), tz=TZ, reviewer=True)
    shown = len(blocks_with(message, "card:"))
    assert len(message.blocks) <= 50
    assert shown < 20
    assert nav(message, "results-")["Next →"]["o"] == shown


def test_empty_results_are_friendly() -> None:
    message = results_message(page(0, query="zzz"), tz=TZ, reviewer=False)
    assert message.blocks[0]["text"]["text"] == "No articles match *zzz*."
    assert "/news topics" in message.blocks[1]["elements"][0]["text"]
    assert nav(message, "results-") == {}
    later = results_message(page(0, query="zzz", offset=10), tz=TZ, reviewer=False)
    assert later.blocks[0]["text"]["text"] == "No more results for *zzz*."
    assert nav(later, "results-")["← Previous"]["o"] == 0


def test_duplicate_articles_are_shown_once() -> None:
    dup = SearchPage("ai", "topic", (article(1), article(1)), 0, 10, False)
    message = results_message(dup, tz=TZ, reviewer=False)
    assert len(blocks_with(message, "card:")) == 1


# --- topics ------------------------------------------------------------------------


def test_topics_listed_by_count() -> None:
    message = topics_message(
        [TopicCount("Privacy", 3), TopicCount("AI", 370), TopicCount("A&B", 3)]
    )
    assert message.blocks[0]["text"]["text"] == "Topics"
    body = message.blocks[2]["text"]["text"]
    assert body == "• *AI* — 370\n• *A&amp;B* — 3\n• *Privacy* — 3"
    assert message.text == "Newsbot topics: 3 topics"


def test_many_topics_are_split_and_summarized() -> None:
    topics = [TopicCount(f"Topic number {i} " + "x" * 40, 1000 - i) for i in range(1000)]
    message = topics_message(topics)
    assert len(message.blocks) <= 50
    sections = [b for b in message.blocks if b["type"] == "section"]
    assert len(sections) > 1
    assert all(len(s["text"]["text"]) <= 3000 for s in sections)
    assert "more topics with fewer articles" in message.blocks[-1]["elements"][0]["text"]


def test_no_topics() -> None:
    assert "No topics yet" in topics_message([]).text


# --- share, help, ephemeral ----------------------------------------------------------


def test_shared_message_names_the_sharer_and_has_no_share_button() -> None:
    message = shared_message(article(1, title="A & B"), shared_by="U024BE7LH", tz=TZ)
    assert message.blocks[0]["text"]["text"] == "<@U024BE7LH> shared:"
    assert message.text == "<@U024BE7LH> shared: A &amp; B"
    ids = [el["action_id"] for b in blocks_with(message, "card-actions:") for el in b["elements"]]
    assert ids == ["review_publish", "review_reject"]


def test_help_mentions_every_command_and_filter() -> None:
    message = help_message()
    text = json.dumps(message.blocks)
    for needle in (
        "/news TERMS",
        "heat&gt;=N",
        "since:7d",
        "since:YYYY-MM-DD",
        "provider:DOMAIN",
        "`published`",
        "`unpublished`",
        "/news topics",
        "/news review",
        "/news digest",
        "*Examples*",
    ):
        assert needle in text
    assert message.text


def test_ephemeral_text_is_escaped() -> None:
    message = ephemeral_text("Only reviewers can publish <!channel> & co.")
    assert message.text == "Only reviewers can publish &lt;!channel&gt; &amp; co."
    assert message.blocks[0]["text"]["text"] == message.text
    assert message.as_kwargs() == {"text": message.text, "blocks": message.blocks}


# --- review queue -----------------------------------------------------------------------


def test_review_queue_cards_say_how_long_they_waited() -> None:
    drafts = [
        article(1, published=False, published_at=NOW - timedelta(hours=3)),
        article(2, published=False, published_at=NOW - timedelta(days=2, hours=5)),
        article(3, published=False, published_at=NOW - timedelta(minutes=12)),
        article(4, published=False, published_at=None),
    ]
    message = review_queue_message(drafts, now=NOW, offset=0, has_more=False, tz=TZ)
    assert message.blocks[0]["text"]["text"] == "*4 drafts waiting for review, hottest first*"
    metas = [b["elements"][0]["text"] for b in blocks_with(message, "card-meta:")]
    assert metas[0].endswith("*Draft* · waiting 3 h")
    assert metas[1].endswith("*Draft* · waiting 2 days")
    assert metas[2].endswith("*Draft* · waiting 12 min")
    assert metas[3].endswith("*Draft*")
    for block in blocks_with(message, "card-actions:"):
        assert [el["action_id"] for el in block["elements"]] == [
            "review_publish",
            "review_publish_at",
            "review_reject",
        ]
    assert nav(message, "review-") == {}


def test_review_queue_paging() -> None:
    drafts = [article(i, published=False) for i in range(1, 11)]
    message = review_queue_message(drafts, now=NOW, offset=10, has_more=True, tz=TZ)
    assert nav(message, "review-") == {
        "← Previous": {"action_id": "review_page", "o": 0},
        "Next →": {"action_id": "review_page", "o": 20},
    }
    assert len(message.blocks) <= 50


def test_empty_review_queue() -> None:
    message = review_queue_message([], now=NOW, offset=0, has_more=False, tz=TZ)
    assert message.text == "No drafts waiting for review. 🎉"


# --- App Home -----------------------------------------------------------------------------


def test_app_home_counts_the_drafts_to_review_and_apart_those_scheduled() -> None:
    def header(waiting: int, going_out: int) -> str:
        view = app_home(
            hottest=[],
            topics=[],
            pending_reviews=waiting,
            scheduled_reviews=going_out,
            tz=TZ,
        )
        (block,) = [b for b in view["blocks"] if b.get("block_id") == "home-reviews"]
        return block["text"]["text"]

    assert header(7, 3) == (
        "*7 drafts waiting* for review, and 3 more drafts scheduled to go out — type"
        " `/news review` to go through them."
    )
    assert header(0, 1) == "No drafts waiting for review; 1 more draft scheduled to go out."
    assert header(0, 0) == "No drafts waiting for review."


def test_app_home_for_a_reviewer() -> None:
    view = app_home(
        hottest=[article(1), article(2)],
        topics=[TopicCount("AI", 370)],
        pending_reviews=7,
        tz=TZ,
    )
    assert view["type"] == "home"
    texts = json.dumps(view["blocks"], ensure_ascii=False)
    assert "*7 drafts waiting* for review — type `/news review`" in texts
    assert "• *AI* — 370" in texts
    # Reviewers act from App Home too: drafts carry Publish and Reject.
    ids = [e["action_id"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert actions.REVIEW_PUBLISH in ids and actions.REVIEW_REJECT in ids


def test_app_home_for_everyone_else_and_when_empty() -> None:
    view = app_home(hottest=[], topics=[], pending_reviews=None, tz=TZ)
    texts = json.dumps(view["blocks"])
    assert "waiting" not in texts
    assert "Nothing hot yet today." in texts


def test_app_home_caps_blocks() -> None:
    view = app_home(
        hottest=[article(i) for i in range(1, 60)],
        topics=[TopicCount(f"T{i}", i) for i in range(500)],
        pending_reviews=0,
        tz=TZ,
    )
    assert len(view["blocks"]) <= 100


# --- digest ---------------------------------------------------------------------------------


def digest(n: int, **kw: Any) -> list[Message]:
    return digest_messages(
        local_date=date(2026, 11, 26),
        articles=[article(i) for i in range(1, n + 1)],
        related_counts=kw.pop("related_counts", {1: 3, 2: 0}),
        late=kw.pop("late", False),
        tz=TZ,
        **kw,
    )


def test_digest_header_cards_and_fallback() -> None:
    [message] = digest(8)
    assert message.blocks[0] == {
        "type": "header",
        "block_id": "digest-header",
        "text": {"type": "plain_text", "text": "Newsbot digest — Thursday, Nov 26", "emoji": True},
    }
    assert message.text == "Newsbot digest for Thursday, Nov 26: 8 stories"
    assert len(blocks_with(message, "card:")) == 8
    metas = {b["block_id"]: b["elements"][0]["text"] for b in blocks_with(message, "card-meta:")}
    assert metas["card-meta:1"].endswith("· +3 related")
    assert "related" not in metas["card-meta:2"]
    assert "posted late" not in json.dumps(message.blocks)


def test_digest_posted_late() -> None:
    [message] = digest(1, late=True)
    info = blocks_with(message, "digest-info")[0]
    assert [el["text"] for el in info["elements"]] == ["1 story", "(posted late)"]
    assert message.text == "Newsbot digest for Thursday, Nov 26: 1 story"


def test_digest_review_buttons_on_drafts_only_when_asked() -> None:
    [with_buttons] = digest(3)
    ids = [
        el["action_id"] for b in blocks_with(with_buttons, "card-actions:") for el in b["elements"]
    ]
    assert ids == ["review_publish", "review_reject"] * 2
    [without] = digest(3, reviewer_buttons=False)
    assert blocks_with(without, "card-actions:") == []


def test_digest_of_twenty_splits_into_thread_replies() -> None:
    messages = digest(20)
    assert len(messages) >= 2
    assert all(len(m.blocks) <= 50 for m in messages)
    cards = [b["block_id"] for m in messages for b in blocks_with(m, "card:")]
    assert cards == [f"card:{i}" for i in range(1, 21)]
    first_count = len(blocks_with(messages[0], "card:"))
    pointer = blocks_with(messages[0], "digest-more")[0]["elements"][0]["text"]
    assert pointer == f"{20 - first_count} more stories in the thread ↓"
    assert messages[1].text == (
        f"Newsbot digest for Thursday, Nov 26 (continued): stories {first_count + 1}–"
        f"{first_count + len(blocks_with(messages[1], 'card:'))}"
    )


def test_empty_digest() -> None:
    [message] = digest(0)
    assert message.text == "Newsbot digest for Thursday, Nov 26: no stories"
