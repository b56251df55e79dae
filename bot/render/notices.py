"""Short ephemeral answers that carry our own mentions, so they cannot go through escape()."""

from __future__ import annotations

from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock

from bot.render.card import decision_line
from bot.render.message import Message, to_dicts
from storage.types import Decision

# The state each decision leaves an article in.
_LEAVES = {"publish": "published", "unpublish": "draft", "reject": "rejected"}
_STATE = {
    "published": "It is published already, so nothing changed.",
    "draft": "It is a draft, not published, so nothing changed.",
    "rejected": "It was rejected already, so nothing changed.",
}


def already_decided(decision: Decision | None, state: str | None = None) -> Message:
    """ "Already published by @x" for a second click, a retry, the loser of a race or an old card.

    `decision` is the one that put the article in its `state` ("published",
    "draft", "rejected"); when the article got there otherwise (the file was
    edited), the state is said plainly.
    """
    if decision is not None and (state is None or _LEAVES.get(decision.action) == state):
        said = decision_line(decision)  # "Published by <@U…> · <!date^…>"
        line = f"Already {said[0].lower()}{said[1:]}."
    else:
        line = _STATE.get(state or "", "Already decided.")
    return Message(
        text=line,
        blocks=to_dicts([SectionBlock(block_id="notice", text=MarkdownTextObject(text=line))]),
    )
