"""Action ids and button values: the contract between the renderers and the listeners.

Every value is a compact JSON object of at most 2000 characters (Slack's limit):

- `news_share`: `{"a": article_id}`
- `news_page`: `{"q": query, "o": offset}` (the query is shortened if it must be)
- `review_publish`, `review_reject`, `review_unpublish`: `{"a": article_id, "f": fingerprint}`
- `review_page`: `{"o": offset}`
- `review_publish_at`: `{"a": article_id, "f": fingerprint}` (opens the "Publish at…" modal)
- `review_cancel_schedule`: `{"a": article_id, "s": schedule_id}`

The "Publish at…" modal (callback id `publish_at`) carries in its private_metadata
`{"a": article_id, "f": fingerprint, "c": channel, "t": message ts, "r": response_url}`
(the last three of the card it was opened from, when there is one).
- `follow_unfollow`: `{"c": channel, "n": follow number}`
"""

from __future__ import annotations

import json
from typing import Any

from bot.render import limits
from bot.render.mrkdwn import prefix, slack_len

NEWS_SHARE = "news_share"
NEWS_PAGE = "news_page"
REVIEW_PUBLISH = "review_publish"
REVIEW_REJECT = "review_reject"
REVIEW_UNPUBLISH = "review_unpublish"
REVIEW_PAGE = "review_page"
FOLLOW_UNFOLLOW = "follow_unfollow"

ALL: tuple[str, ...] = (
    NEWS_SHARE,
    NEWS_PAGE,
    REVIEW_PUBLISH,
    REVIEW_REJECT,
    REVIEW_UNPUBLISH,
    REVIEW_PAGE,
    FOLLOW_UNFOLLOW,
)


def _dumps(obj: dict[str, Any]) -> str:
    # ensure_ascii=False: "\u4e2d" would spend six of the 2000 characters on one.
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _json_cost(c: str) -> int:
    return slack_len(_dumps({"": c})) - slack_len(_dumps({"": ""}))


def share_value(article_id: int) -> str:
    """The value of a `news_share` button."""
    return _dumps({"a": article_id})


def page_value(query: str, offset: int) -> str:
    """The value of a `news_page` button; a huge query is cut (at a space) to fit 2000."""
    room = limits.BUTTON_VALUE - slack_len(_dumps({"q": "", "o": offset}))
    return _dumps({"q": prefix(query, room, _json_cost), "o": offset})


def review_value(article_id: int, fingerprint: str) -> str:
    """The value of a `review_publish`, `review_reject` or `review_unpublish` button."""
    return _dumps({"a": article_id, "f": fingerprint})


def review_page_value(offset: int) -> str:
    """The value of a `review_page` button."""
    return _dumps({"o": offset})


#: The largest integer a payload may carry: an id, offset or number must fit SQL INTEGER, which
#: PostgreSQL refuses to compare beyond (a hand-made value would be an error, not a refusal).
MAX_INT = 2**31 - 1


def value_int(value: dict[str, Any], key: str, default: int = 0) -> int:
    """A non-negative integer field of a decoded button value or private_metadata, no larger
    than `MAX_INT`; `default` when absent, not an integer, or out of that range.

    Every id, offset and number read from a payload comes through here, so a forged
    one is refused at the edge as a broken button."""
    found = value.get(key)
    if isinstance(found, int) and not isinstance(found, bool) and 0 <= found <= MAX_INT:
        return found
    return default


def value_str(value: dict[str, Any], key: str) -> str | None:
    """A string field of a decoded button value, or None."""
    found = value.get(key)
    return found if isinstance(found, str) else None


def parse_value(value: str) -> dict[str, Any]:
    """Decode a button value; a malformed one gives `{}` so the listener can refuse it."""
    try:
        decoded = json.loads(value)
    except (TypeError, ValueError):
        return {}
    return decoded if isinstance(decoded, dict) else {}


# --- editorial workflow (issue 12)
REVIEW_PUBLISH_AT = "review_publish_at"
REVIEW_CANCEL_SCHEDULE = "review_cancel_schedule"
#: The "Publish at…" modal: its callback id, and the input block and element of its time.
PUBLISH_AT_VIEW = "publish_at"
PUBLISH_AT_BLOCK = "publish_at_when"
PUBLISH_AT_ELEMENT = "when"

ALL += (REVIEW_PUBLISH_AT, REVIEW_CANCEL_SCHEDULE)


def cancel_schedule_value(article_id: int, schedule_id: int) -> str:
    """The value of a `review_cancel_schedule` button."""
    return _dumps({"a": article_id, "s": schedule_id})


def publish_at_metadata(
    article_id: int,
    fingerprint: str,
    *,
    channel: str | None,
    message_ts: str | None,
    response_url: str | None,
) -> str:
    """The "Publish at…" modal's private_metadata (at most 3000 characters)."""
    found: dict[str, Any] = {"a": article_id, "f": fingerprint}
    for key, value in (("c", channel), ("t", message_ts), ("r", response_url)):
        if value and slack_len(value) <= 500:
            found[key] = value
    return _dumps(found)


# --- follows (issue 11)


def unfollow_value(channel: str, number: int) -> str:
    """The value of a `follow_unfollow` button."""
    return _dumps({"c": channel, "n": number})
