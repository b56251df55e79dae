from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.render import article_card, decided_card, unfurl_blocks
from storage.types import Decision, Image
from tests.builders import article

TZ = ZoneInfo("America/New_York")


def by_type(blocks: list[dict], kind: str) -> list[dict]:
    return [b for b in blocks if b["type"] == kind]


def action_ids(blocks: list[dict]) -> list[str]:
    return [el["action_id"] for b in by_type(blocks, "actions") for el in b["elements"]]


def meta_text(blocks: list[dict]) -> str:
    return by_type(blocks, "context")[0]["elements"][0]["text"]


PUBLISHED = Decision("publish", "U123ABC", "ann", datetime(2026, 11, 26, 9, 0, tzinfo=UTC))


def test_card_has_linked_title_excerpt_and_image() -> None:
    section = article_card(article(), tz=TZ)[0]
    assert section["block_id"] == "card:7"
    assert section["text"]["text"] == (
        "*<https://www.lakeviewledger.com/politics/5530871/voter-roll-privacy-audit"
        "|State Auditor Finds Voter Roll Exports Shared Birth Dates With Vendors>*\n"
        "The audit covers four years of data requests."
    )
    assert section["accessory"] == {
        "type": "image",
        "image_url": "https://cdn.lakeviewledger.com/a.jpg?w=1&h=2",
        "alt_text": "Voters",
    }


def test_context_line_has_provider_local_date_topics_heat_quality_and_draft() -> None:
    assert meta_text(article_card(article(), tz=TZ)) == (
        "Lakeview Ledger · Nov 25, 2026 · Privacy, Elections · 🔥 57 · quality 48 · *Draft*"
    )
    published = article_card(article(published=True), tz=ZoneInfo("Asia/Tokyo"))
    assert meta_text(published) == (
        "Lakeview Ledger · Nov 26, 2026 · Privacy, Elections · 🔥 57 · quality 48"
    )


def test_context_line_without_provider_date_or_topics() -> None:
    bare = article(provider_name=None, provider_domain=None, published_at=None, topics=())
    assert meta_text(article_card(bare, tz=TZ)) == "🔥 57 · quality 48 · *Draft*"
    domain_only = article(provider_name="", provider_domain="lakeviewledger.com")
    assert meta_text(article_card(domain_only, tz=TZ)).startswith("lakeviewledger.com · ")


def test_many_topics_are_capped() -> None:
    many = article(topics=tuple(f"Topic {i}" for i in range(60)))
    assert "Topic 5 +54 more" in meta_text(article_card(many, tz=TZ))


def test_non_http_images_are_skipped_for_the_first_http_one() -> None:
    images = (
        Image(url="javascript:alert(1)"),
        Image(url="data:image/png;base64,AAAA"),
        Image(url="https://cdn.example.com/ok.png"),
    )
    section = article_card(article(images=images), tz=TZ)[0]
    assert section["accessory"]["image_url"] == "https://cdn.example.com/ok.png"
    assert section["accessory"]["alt_text"] == article().title
    none_usable = article(images=(Image(url="javascript:alert(1)"),))
    assert "accessory" not in article_card(none_usable, tz=TZ)[0]
    assert "accessory" not in article_card(article(images=()), tz=TZ)[0]


def test_long_excerpt_is_cut_at_a_word() -> None:
    long = article(excerpt="lorem ipsum " * 400)
    text = article_card(long, tz=TZ)[0]["text"]["text"]
    assert len(text) <= 3000
    assert text.endswith("ipsum…") or text.endswith("lorem…")


def test_huge_title_stays_inside_the_section() -> None:
    huge = article(title="🗳️ <!channel> & " * 400, excerpt="x " * 2000)
    blocks = article_card(huge, tz=TZ, share=True, review=True)
    assert len(blocks[0]["text"]["text"]) <= 3000
    assert len(blocks[0]["accessory"]["alt_text"]) <= 2000


def test_empty_excerpt_leaves_just_the_title() -> None:
    text = article_card(article(excerpt=""), tz=TZ)[0]["text"]["text"]
    assert "\n" not in text


def test_title_that_tries_to_ping_or_link_is_escaped() -> None:
    evil = article(
        title="<!channel> breaking & <https://evil.example|click>",
        excerpt="<!here> read <@U024BE7LH> & more",
        provider_name="<!everyone>",
        topics=("<!subteam^S123>",),
        images=(Image(url="https://cdn.example.com/a.jpg", title="<!channel>"),),
    )
    blocks = article_card(evil, tz=TZ, share=True, review=True)
    dumped = json.dumps(blocks, ensure_ascii=False)
    assert "&lt;!channel&gt; breaking &amp; &lt;https://evil.example|click&gt;" in dumped
    assert "<!" not in dumped
    assert "<@" not in dumped
    confirm = by_type(blocks, "actions")[0]["elements"][2]["confirm"]
    assert "&lt;!channel&gt;" in confirm["text"]["text"]


def test_draft_review_buttons() -> None:
    blocks = article_card(article(), tz=TZ, share=True, review=True)
    actions = by_type(blocks, "actions")
    assert actions[0]["block_id"] == "card-actions:7"
    share, publish, reject = actions[0]["elements"]
    assert (share["action_id"], json.loads(share["value"])) == ("news_share", {"a": 7})
    assert publish["action_id"] == "review_publish" and publish["style"] == "primary"
    assert json.loads(publish["value"]) == {"a": 7, "f": "c0ffee"}
    assert reject["action_id"] == "review_reject" and reject["style"] == "danger"
    assert reject["confirm"]["title"]["text"] == "Reject this draft?"
    assert reject["confirm"]["confirm"]["text"] == "Reject"
    assert reject["confirm"]["deny"]["text"] == "Cancel"
    assert article().title in reject["confirm"]["text"]["text"]


def test_reject_confirm_text_fits_with_a_long_title() -> None:
    blocks = article_card(article(title="word & " * 300), tz=TZ, review=True)
    confirm = by_type(blocks, "actions")[0]["elements"][1]["confirm"]
    assert len(confirm["text"]["text"]) <= 300


def test_buttons_by_state() -> None:
    draft, live = article(), article(published=True)
    assert action_ids(article_card(draft, tz=TZ)) == []
    assert action_ids(article_card(draft, tz=TZ, share=True)) == ["news_share"]
    assert action_ids(article_card(draft, tz=TZ, review=True)) == [
        "review_publish",
        "review_reject",
    ]
    # reviewer alone shows nothing on a draft: Unpublish is for published articles
    assert action_ids(article_card(draft, tz=TZ, reviewer=True)) == []
    assert action_ids(article_card(live, tz=TZ, review=True)) == []
    assert action_ids(article_card(live, tz=TZ, review=True, reviewer=True)) == ["review_unpublish"]
    unpublish = by_type(article_card(live, tz=TZ, reviewer=True), "actions")[0]["elements"][0]
    assert unpublish["confirm"]["confirm"]["text"] == "Unpublish"
    assert json.loads(unpublish["value"]) == {"a": 7, "f": "c0ffee"}


def test_decided_card_shows_who_and_when_instead_of_buttons() -> None:
    rejected = article(decision=replace(PUBLISHED, action="reject"))
    blocks = article_card(rejected, tz=TZ, review=True)
    assert action_ids(blocks) == []
    assert meta_text(blocks).endswith(
        "\nRejected by <@U123ABC> · <!date^1795683600^{date_short_pretty} at {time}"
        "|2026-11-26 09:00 UTC>"
    )
    published = article(published=True, decision=PUBLISHED)
    assert "Published by <@U123ABC>" in meta_text(decided_card(published, tz=TZ))
    assert action_ids(decided_card(published, tz=TZ)) == []
    assert action_ids(decided_card(published, tz=TZ, share=True)) == ["news_share"]
    # Unpublish still offered to reviewers on a published card
    assert action_ids(article_card(published, tz=TZ, reviewer=True)) == ["review_unpublish"]


def test_unpublished_draft_can_be_published_again() -> None:
    unpublished = article(decision=replace(PUBLISHED, action="unpublish"))
    blocks = article_card(unpublished, tz=TZ, review=True)
    assert action_ids(blocks) == ["review_publish", "review_reject"]
    assert "Unpublished by <@U123ABC>" in meta_text(blocks)
    assert action_ids(decided_card(unpublished, tz=TZ)) == []


def test_reviewer_id_that_is_not_a_user_id_is_escaped() -> None:
    odd = article(decision=replace(PUBLISHED, reviewer_id="<!channel>", reviewer_name="Ann <x>"))
    text = meta_text(article_card(odd, tz=TZ))
    assert "Published by Ann &lt;x&gt;" in text


def test_unfurl_is_the_card_with_review_buttons_only() -> None:
    assert action_ids(unfurl_blocks(article(), tz=TZ)) == ["review_publish", "review_reject"]
    assert "*Draft*" in meta_text(unfurl_blocks(article(), tz=TZ))
    assert action_ids(unfurl_blocks(article(published=True), tz=TZ)) == []


def test_block_ids_are_per_article() -> None:
    ids = [b["block_id"] for b in article_card(article(id=99), tz=TZ, share=True)]
    assert ids == ["card:99", "card-meta:99", "card-actions:99"]


def test_link_url_with_pipe_and_ampersand_is_kept_whole() -> None:
    odd = article(web_url="https://x.example/a?b=1&c=2|3")
    text = article_card(odd, tz=TZ)[0]["text"]["text"]
    assert re.match(r"^\*<https://x\.example/a\?b=1&amp;c=2%7C3\|", text)


def test_non_http_web_url_renders_an_unlinked_title() -> None:
    text = article_card(article(web_url="javascript:alert(1)"), tz=TZ)[0]["text"]["text"]
    assert text.startswith("*State Auditor")
    assert "javascript" not in text


def test_url_full_of_ampersands_does_not_overflow_the_section() -> None:
    odd = article(title="", web_url="https://example.com/" + "&" * 900, excerpt="x " * 2000)
    text = article_card(odd, tz=TZ)[0]["text"]["text"]
    assert len(text) <= 3000
