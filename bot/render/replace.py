"""Swapping one article's card inside a message that was already posted."""

from __future__ import annotations

import re
from typing import Any


def replace_card(
    blocks: list[dict[str, Any]], article_id: int, card: list[dict[str, Any]]
) -> list[dict[str, Any]] | None:
    """The message's blocks with the article's card (`card:<id>`, `card-…:<id>`) replaced.

    None when the message carries no card of that article. Everything else in
    the message (headers, who shared it, other cards, paging) is kept.
    """
    mine = re.compile(rf"^card(-[a-z]+)?:{article_id}$")
    out: list[dict[str, Any]] = []
    found = False
    for block in blocks:
        if mine.match(str(block.get("block_id", ""))):
            if not found:
                out.extend(card)
                found = True
            continue
        out.append(block)
    return out if found else None
