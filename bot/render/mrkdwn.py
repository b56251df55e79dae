"""Slack mrkdwn: escaping, safe links, length-aware truncation and Slack's own tokens."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

ELLIPSIS = "…"

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_ESCAPE_RE = re.compile("[&<>]")
# C0/C1 controls (tab and newline excepted) and lone surrogates: JSON can carry
# them but Slack rejects or mangles them, and no article legitimately holds one.
_JUNK_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_SPACE_RE = re.compile(r"\s+")
_USER_ID_RE = re.compile(r"^[UW][A-Z0-9]{2,20}$")
# Everything RFC 3986 allows unencoded, plus "%" so existing escapes survive.
# "|", "<", ">", quotes, spaces and non-ASCII get percent-encoded.
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~-._"

# How far back `truncate` will look for a space before it cuts mid-word.
_WORD_LOOKBACK = 80


def slack_len(text: str) -> int:
    """Length in UTF-16 code units, the stricter of the ways Slack may count a limit."""
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


def clean(text: str | None) -> str:
    """Drop control characters and lone surrogates that no Slack surface accepts."""
    return _JUNK_RE.sub("", text or "")


def one_line(text: str | None) -> str:
    """`clean` plus every run of whitespace (newlines included) folded to one space."""
    return _SPACE_RE.sub(" ", clean(text)).strip()


def escape(text: str) -> str:
    """Escape `&`, `<` and `>` so Slack shows them literally instead of as links or mentions."""
    return _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group()], text)


def _unit_cost(c: str) -> int:
    return 2 if ord(c) > 0xFFFF else 1


def _escaped_cost(c: str) -> int:
    return len(_ESCAPES[c]) if c in _ESCAPES else _unit_cost(c)


def _is_extender(c: str) -> bool:
    """True for code points that belong to the grapheme before them."""
    o = ord(c)
    return (
        unicodedata.category(c) in ("Mn", "Me", "Mc")
        or 0xFE00 <= o <= 0xFE0F  # variation selectors
        or 0xE0100 <= o <= 0xE01EF
        or 0x1F3FB <= o <= 0x1F3FF  # skin tones
        or 0xE0020 <= o <= 0xE007F  # emoji tag sequences
        or o == 0x200D  # zero width joiner
    )


def _is_regional(c: str) -> bool:
    return 0x1F1E6 <= ord(c) <= 0x1F1FF


def grapheme_floor(text: str, i: int) -> int:
    """The largest cut point <= i that does not split an emoji, flag or combining sequence."""
    while 0 < i < len(text):
        if _is_extender(text[i]) or text[i - 1] == "\u200d":
            i -= 1
            continue
        if _is_regional(text[i]):
            run = 0
            while i - run - 1 >= 0 and _is_regional(text[i - run - 1]):
                run += 1
            if run % 2:
                i -= 1
                continue
        break
    return i


def _prefix_end(text: str, budget: int, cost: Callable[[str], int]) -> int:
    """The end of the longest grapheme-safe prefix of text costing at most budget."""
    used = 0
    end = len(text)
    for i, c in enumerate(text):
        used += cost(c)
        if used > budget:
            end = i
            break
    return grapheme_floor(text, end)


def _word_end(text: str, end: int) -> int:
    """Move a cut back to the last space within reach, so a word is not chopped."""
    if end >= len(text) or text[end].isspace():
        return end
    floor = max(0, end - min(_WORD_LOOKBACK, end // 3))
    for i in range(end - 1, floor - 1, -1):
        if text[i].isspace():
            return i
    return end


def _cut(text: str, limit: int, cost: Callable[[str], int]) -> str | None:
    """The raw prefix to keep before an ellipsis, or None when text already fits."""
    if sum(cost(c) for c in text) <= limit:
        return None
    budget = limit - 1
    if budget <= 0:
        return ""
    end = _word_end(text, _prefix_end(text, budget, cost))
    return text[:end].rstrip(" \t\n,;:-–—")


def truncate(text: str, limit: int) -> str:
    """Shorten text to at most `limit` Slack units, cutting at a word and ending in "…"."""
    head = _cut(text, limit, _unit_cost)
    if head is None:
        return text
    return (head + ELLIPSIS) if limit > 0 else ""


def escape_truncate(text: str, limit: int) -> str:
    """Escape text for mrkdwn and shorten it so the escaped result fits `limit` units.

    The cut is made on the raw text, so an entity such as `&amp;` is never split.
    """
    head = _cut(text, limit, _escaped_cost)
    if head is None:
        return escape(text)
    return (escape(head) + ELLIPSIS) if limit > 0 else ""


def prefix(text: str, limit: int, cost: Callable[[str], int] = _unit_cost) -> str:
    """The longest grapheme-safe prefix within `limit`, preferring a cut at a space; no ellipsis."""
    end = _prefix_end(text, limit, cost)
    if end < len(text):
        end = _word_end(text, end)
    return text[:end]


def http_url(url: str | None) -> str | None:
    """The URL percent-encoded for safe transport if it is an absolute http(s) URL, else None."""
    if not url:
        return None
    url = clean(url).strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    # Lower-case the scheme: Slack's link syntax and image fetcher expect "http(s)://".
    return quote(scheme + url[len(scheme) :], safe=_URL_SAFE)


def link(url: str | None, label: str) -> str:
    """`<url|label>` with the label escaped; anything but an http(s) URL gives the bare label."""
    label = one_line(label)
    safe = http_url(url)
    if safe is None:
        return escape(label)
    # After http_url, "&" is the only mrkdwn control character left in the URL.
    return f"<{escape(safe)}|{escape(label) or escape(safe)}>"


def user_mention(user_id: str, fallback: str = "") -> str:
    """`<@U…>` for a well-formed Slack user ID; otherwise the escaped fallback name."""
    if _USER_ID_RE.match(user_id or ""):
        return f"<@{user_id}>"
    return escape_truncate(one_line(fallback or user_id), 80) or "someone"


def date_token(moment: datetime, fmt: str = "{date_short_pretty} at {time}") -> str:
    """Slack's `<!date^…>` token, shown in each reader's own timezone, with a UTC fallback."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    utc = moment.astimezone(UTC)
    return f"<!date^{int(utc.timestamp())}^{fmt}|{utc:%Y-%m-%d %H:%M} UTC>"
