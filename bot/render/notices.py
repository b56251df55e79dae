"""Short ephemeral answers that carry our own mentions, so they cannot go through escape()."""

from __future__ import annotations

from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock

from bot.render.card import decision_line
from bot.render.message import Message, to_dicts
from storage.types import Decision


def already_decided(decision: Decision | None) -> Message:
    """ "Already published by @x" for a second click, a retry or the loser of a race."""
    if decision is None:
        line = "Already decided."
    else:
        said = decision_line(decision)  # "Published by <@U…> · <!date^…>"
        line = f"Already {said[0].lower()}{said[1:]}."
    return Message(
        text=line,
        blocks=to_dicts([SectionBlock(block_id="notice", text=MarkdownTextObject(text=line))]),
    )
