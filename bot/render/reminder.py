"""The reminder posted to the review channel: drafts that waited too long, hottest first."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block, ContextBlock, SectionBlock

from bot.render import limits
from bot.render.card import card_blocks, md
from bot.render.message import Message, to_dicts
from bot.render.views import fill_cards, waiting_note
from storage.types import ArticleView


def _plural(n: int, word: str) -> str:
    return f"{n} {word if n == 1 else word + 's'}"


def reminder_message(
    drafts: Sequence[ArticleView], *, total: int, hours: int, now: datetime, tz: ZoneInfo
) -> tuple[Message, list[int]]:
    """The reminder, and the ids of the drafts whose cards fit in it (in order).

    `total` is how many drafts are due in all; those that do not fit one
    message are counted at the end and come again in the next reminder.
    """
    summary = (
        f"{_plural(total, 'draft')} waited more than {_plural(hours, 'hour')} for review,"
        " hottest first"
    )
    blocks: list[Block] = [SectionBlock(block_id="reminder-summary", text=md(f"*{summary}*"))]
    cards = [
        card_blocks(a, tz=tz, review=True, reviewer=True, notes=waiting_note(a, now))
        for a in drafts
    ]
    shown = fill_cards(blocks, cards, max_blocks=limits.MESSAGE_BLOCKS, reserve=1)
    if total > shown:
        rest = f"…and {total - shown} more: type `/news review` to see them all."
        blocks.append(ContextBlock(block_id="reminder-more", elements=[md(rest)]))
    return Message(text=summary, blocks=to_dicts(blocks)), [a.id for a in drafts[:shown]]
