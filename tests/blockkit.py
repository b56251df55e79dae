"""The one Block Kit checker: what Slack would refuse with `invalid_blocks`, and what it would
show as markup we did not mean.

Each block goes through `slack_sdk.models` (`Block.parse(block).to_dict()` runs the SDK's own
validators: text, value, URL and id lengths, element counts, styles). The SDK counts code
points while Slack may count UTF-16 units, so it sees a copy in which every character outside
the Basic Multilingual Plane takes two. On top of that, the rules the SDK does not have:

- at most 50 blocks in a message, 100 in a home tab or a modal;
- unique block ids in a surface, unique action ids in a block;
- text objects of a known type, not empty, plain text where Slack wants it, fields of at
  most 2000, image URLs that are http(s), a message `text` of at most 40,000;
- no raw `<`, `>` or bare `&` in any text except Slack's own tokens that we write
  (`<@U…>`, `<#C…>`, `<!date^…|…>`, `<https://…|…>`): a title such as `<!channel>` must
  reach Slack escaped.

`FakeSlack` runs `message_problems` on every message, view and unfurl it receives; renderer
tests call `block_kit_problems` on what they build.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

MAX_BLOCKS = {"message": 50, "home": 100, "modal": 100}
MAX_MESSAGE_TEXT = 40_000
MAX_FIELD_TEXT = 2000

TEXT_TYPES = ("plain_text", "mrkdwn")
# Where Slack accepts plain_text only: (parent type or key, key of the text object).
PLAIN_ONLY_KEYS = ("title", "confirm", "deny", "label", "placeholder", "submit", "close")
PLAIN_ONLY_PARENTS = ("header", "button", "option")

# Our own tokens; everything else must reach Slack with `<`, `>` and `&` escaped.
_TOKENS = re.compile(
    r"<@[UW][A-Z0-9]+>"
    r"|<#[CG][A-Z0-9]+(?:\|[^<>]*)?>"
    r"|<!date\^\d+\^[^|<>]*(?:\^[^|<>]*)?\|[^<>]*>"
    r"|<https?://[^|<>\s]+(?:\|[^<>]*)?>"
)
_BARE_AMP = re.compile(r"&(?!amp;|lt;|gt;)")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def block_kit_problems(blocks: Any, *, surface: str = "message") -> list[str]:
    """Every way `blocks` breaks Slack's limits for `surface` ("message", "home", "modal")."""
    if not isinstance(blocks, list):
        return [f"blocks: expected a list, got {type(blocks).__name__}"]
    problems: list[str] = []
    limit = MAX_BLOCKS.get(surface, MAX_BLOCKS["message"])
    if len(blocks) > limit:
        problems.append(f"blocks: {len(blocks)} blocks, at most {limit} in a {surface}")
    seen_ids: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"blocks[{i}]"
        if not isinstance(block, dict):
            problems.append(f"{where}: expected an object")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in seen_ids:
                problems.append(f"{where}.block_id: duplicate block_id {block_id!r}")
            seen_ids.add(block_id)
        problems += _sdk_problems(where, block)
        problems += _action_id_problems(where, block)
        for path, parent, key, obj in _objects(block, where):
            problems += _object_problems(path, parent, key, obj)
    return problems


def message_problems(payload: dict[str, Any], surface: str = "message") -> list[str]:
    """Problems in a whole payload (a message, or a view): its `text` and its `blocks`."""
    problems: list[str] = []
    text = payload.get("text")
    if text is not None:
        if not isinstance(text, str):
            problems.append(f"text: expected a string, got {type(text).__name__}")
        elif len(text) > MAX_MESSAGE_TEXT:
            problems.append(f"text: {len(text)} characters, at most {MAX_MESSAGE_TEXT}")
        else:
            problems += _markup_problems("text", text)
    if payload.get("blocks") is not None:
        problems += block_kit_problems(payload["blocks"], surface=surface)
    return problems


def units(text: str) -> int:
    """Length in UTF-16 code units, the stricter of the ways Slack may count a limit."""
    return len(text) + len(_ASTRAL.findall(text))


# -- the SDK's validators, on a copy that counts UTF-16 units -------------------------


def _widened(value: Any) -> Any:
    if isinstance(value, str):
        return _ASTRAL.sub("\ufffd\ufffd", value)
    if isinstance(value, dict):
        return {key: _widened(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_widened(item) for item in value]
    return value


def _sdk_problems(where: str, block: dict[str, Any]) -> list[str]:
    try:
        parsed = Block.parse(_widened(block))
    except (SlackObjectFormationError, KeyError, TypeError, ValueError, AttributeError) as exc:
        return [f"{where}: slack_sdk cannot read it: {exc!r}"]
    if parsed is None:
        return [f"{where}.type: unknown block type {block.get('type')!r}"]
    try:
        parsed.to_dict()
    except SlackObjectFormationError as exc:
        return [f"{where} ({block.get('type')}): {exc}"]
    return []


# -- what the SDK does not check ------------------------------------------------------


def _action_id_problems(where: str, block: dict[str, Any]) -> list[str]:
    elements = block.get("elements") if block.get("type") == "actions" else None
    seen: set[str] = set()
    problems = []
    for i, element in enumerate(elements or []):
        action_id = element.get("action_id") if isinstance(element, dict) else None
        if action_id is None:
            continue
        if action_id in seen:
            problems.append(
                f"{where}.elements[{i}].action_id: duplicate action_id {action_id!r} in block"
            )
        seen.add(action_id)
    return problems


def _objects(value: Any, path: str, parent: str = "", key: str = "") -> Iterator[tuple]:
    """(path, parent type, key, object) for every object nested in a block, the block too."""
    if isinstance(value, dict):
        yield path, parent, key, value
        kind = str(value.get("type") or key or parent)
        for name, item in value.items():
            yield from _objects(item, f"{path}.{name}", kind, name)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _objects(item, f"{path}[{i}]", parent, key)


def _object_problems(path: str, parent: str, key: str, obj: dict[str, Any]) -> list[str]:
    kind = obj.get("type")
    problems: list[str] = []
    looks_like_text = isinstance(obj.get("text"), str) and key in (*PLAIN_ONLY_KEYS, "text")
    if looks_like_text and kind not in TEXT_TYPES:
        return [f"{path}.type: {kind!r}, expected one of {TEXT_TYPES}"]
    if kind in TEXT_TYPES:
        text = obj.get("text")
        if not isinstance(text, str) or not text:
            return [f"{path}.text: must be a non-empty string"]
        if kind == "mrkdwn" and (key in PLAIN_ONLY_KEYS or parent in PLAIN_ONLY_PARENTS):
            problems.append(f"{path}.type: 'mrkdwn' where Slack takes plain_text only")
        if parent == "section" and key == "fields" and units(text) > MAX_FIELD_TEXT:
            problems.append(f"{path}.text: {units(text)} characters, at most {MAX_FIELD_TEXT}")
        problems += _markup_problems(f"{path}.text", text)
    if kind == "image" or "image_url" in obj:
        url = obj.get("image_url")
        if "slack_file" not in obj and (
            not isinstance(url, str) or not url.startswith(("http://", "https://"))
        ):
            problems.append(f"{path}.image_url: {url!r:.80} is not an http(s) URL")
        alt = obj.get("alt_text")
        if isinstance(alt, str):
            problems += _markup_problems(f"{path}.alt_text", alt)
    return problems


def _markup_problems(where: str, text: str) -> list[str]:
    rest = _TOKENS.sub("", text)
    problems = []
    if "<" in rest or ">" in rest:
        problems.append(f"{where}: raw < or > outside Slack's tokens: {text!r:.120}")
    if _BARE_AMP.search(text):
        problems.append(f"{where}: unescaped &: {text!r:.120}")
    return problems
