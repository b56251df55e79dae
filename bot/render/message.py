"""The rendered message handed to the listeners."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import Block


@dataclass(frozen=True, slots=True)
class Message:
    """A message ready to post: `text` is the escaped notification fallback, `blocks` Block Kit."""

    text: str
    blocks: list[dict[str, Any]]

    def as_kwargs(self) -> dict[str, Any]:
        """`{"text": ..., "blocks": ...}` for `say(**m.as_kwargs())` or `chat_postMessage`."""
        return {"text": self.text, "blocks": self.blocks}


def to_dicts(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    """Serialize blocks; slack_sdk's validators raise here if a limit was missed."""
    return [block.to_dict() for block in blocks]
