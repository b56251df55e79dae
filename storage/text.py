"""Text from files and users, made safe for one line of a report or a log."""

from __future__ import annotations

import re

# Characters that would break a report line or rearrange it on a terminal: controls,
# line and paragraph separators, and the bidirectional overrides.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """Text for one line of a report or log: unprintable characters as escapes."""
    if text.isprintable():
        return text
    return _UNPRINTABLE.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)


def name_key(name: str) -> str:
    """A topic or category name as NEWSBOT_TWO_REVIEWERS compares it: any case, any spacing."""
    return " ".join(name.split()).casefold()
