from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from bot.render.mrkdwn import (
    date_token,
    escape,
    escape_truncate,
    grapheme_floor,
    http_url,
    link,
    slack_len,
    truncate,
    user_mention,
)


def test_escape_neutralises_mentions_and_links() -> None:
    assert escape("<!channel> breaking & <https://evil.example|click>") == (
        "&lt;!channel&gt; breaking &amp; &lt;https://evil.example|click&gt;"
    )


def test_escape_escapes_existing_entities_again() -> None:
    # A title that literally says "&amp;" must show "&amp;", not "&".
    assert escape("AT&amp;T") == "AT&amp;amp;T"


def test_link_escapes_label_and_keeps_url_in_one_piece() -> None:
    assert link("https://x.example/a?b=1&c=2", "Q&A <b>") == (
        "<https://x.example/a?b=1&amp;c=2|Q&amp;A &lt;b&gt;>"
    )
    assert link("https://evil.example|click", "t") == "<https://evil.example%7Cclick|t>"
    assert link("https://x.example/<!channel>", "t") == "<https://x.example/%3C!channel%3E|t>"


def test_link_only_for_http_urls() -> None:
    assert link("javascript:alert(1)", "click <me>") == "click &lt;me&gt;"
    assert link("data:text/html,hi", "x") == "x"
    assert link(None, "x") == "x"
    assert link("HTTPS://Example.com/A", "x") == "<https://Example.com/A|x>"


def test_link_label_is_one_line_and_never_empty() -> None:
    assert link("https://x.example/", "two\nlines") == "<https://x.example/|two lines>"
    assert link("https://x.example/", "") == "<https://x.example/|https://x.example/>"


def test_http_url_encodes_what_would_break_a_link_but_keeps_the_rest() -> None:
    assert http_url("https://i.example.com/x/&apos;s%20photo.jpeg") == (
        "https://i.example.com/x/&apos;s%20photo.jpeg"
    )
    assert http_url("https://example.com/a b") == "https://example.com/a%20b"
    assert http_url("https://") is None
    assert http_url("ftp://example.com/a.jpg") is None


def test_truncate_leaves_short_text_alone() -> None:
    assert truncate("short", 10) == "short"
    assert truncate("exactly10!", 10) == "exactly10!"


def test_truncate_cuts_at_a_word_with_an_ellipsis() -> None:
    text = "The quick brown fox jumps over the lazy dog"
    assert truncate(text, 20) == "The quick brown fox…"
    assert len(truncate(text, 20)) <= 20


def test_truncate_cuts_mid_word_when_there_is_no_space_in_reach() -> None:
    assert truncate("中文" * 50, 11) == "中文中文中文中文中文…"


def test_truncate_never_splits_an_emoji_sequence() -> None:
    family = "👨\u200d👩\u200d👧"
    for limit in range(1, 12):
        cut = truncate("ab" + family * 3, limit)
        assert "\u200d…" not in cut
        assert not cut.startswith("\u200d")
        assert slack_len(cut) <= limit
    flags = "🇺🇸🇩🇪🇯🇵"
    for limit in range(1, 12):
        body = truncate(flags, limit).removesuffix("…")
        assert len(body) % 2 == 0  # regional indicators stay paired
    assert truncate("🗳️🗳️🗳️", 4) == "🗳️…"
    assert truncate("e\u0301e\u0301e\u0301", 4) == "e\u0301…"


def test_escape_truncate_fits_after_escaping_and_never_splits_an_entity() -> None:
    text = "R&D & <more> & " * 50
    for limit in range(1, 80):
        out = escape_truncate(text, limit)
        assert slack_len(out) <= limit
        body = out.removesuffix("…")
        assert body.count("&") == body.count("&amp;") + body.count("&lt;") + body.count("&gt;")


def test_escape_truncate_short_text_is_just_escaped() -> None:
    assert escape_truncate("a & b", 100) == "a &amp; b"


def test_slack_len_counts_astral_characters_twice() -> None:
    assert slack_len("a🔥") == 3


@given(st.text(), st.integers(0, 200))
def test_truncate_always_fits(text: str, limit: int) -> None:
    assert slack_len(truncate(text, limit)) <= limit
    assert slack_len(escape_truncate(text, limit)) <= limit


@given(st.text(), st.integers(0, 300))
def test_grapheme_floor_moves_back_only(text: str, i: int) -> None:
    i = min(i, len(text))
    assert 0 <= grapheme_floor(text, i) <= i


def test_user_mention_only_for_real_user_ids() -> None:
    assert user_mention("U024BE7LH") == "<@U024BE7LH>"
    assert user_mention("<!channel>") == "&lt;!channel&gt;"
    assert user_mention("nope", "Ann & Bo") == "Ann &amp; Bo"


def test_date_token_uses_utc_timestamp_and_fallback() -> None:
    moment = datetime(2026, 11, 26, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    ts = int(datetime(2026, 11, 26, 9, 0, tzinfo=UTC).timestamp())
    assert date_token(moment) == (
        f"<!date^{ts}^{{date_short_pretty}} at {{time}}|2026-11-26 09:00 UTC>"
    )
    assert date_token(datetime(2026, 11, 26, 9, 0)) == date_token(moment)
