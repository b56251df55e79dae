"""Block Kit limits checker: what Slack would refuse with `invalid_blocks`.

The numbers are Slack's documented limits, the same ones that
`slack_sdk.models.blocks` enforces in `to_dict()`. Unlike the SDK, this checks
plain dicts (what actually goes over the wire) and reports every problem, each
with a path such as `blocks[3].accessory.text`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MAX_BLOCKS = {"message": 50, "home": 100, "modal": 100}
MAX_MESSAGE_TEXT = 40_000
MAX_BLOCK_ID = 255
MAX_ACTION_ID = 255
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_URL = 3000
MAX_ALT_TEXT = 2000
MAX_IMAGE_TITLE = 2000
MAX_CONFIRM_TITLE = 100
MAX_CONFIRM_TEXT = 300
MAX_CONFIRM_BUTTON = 30

TEXT_TYPES = ("plain_text", "mrkdwn")
BUTTON_STYLES = ("primary", "danger")
Problems = list[str]


def block_kit_problems(blocks: Any, *, surface: str = "message") -> list[str]:
    """Every way `blocks` breaks Slack's limits for `surface` ("message", "home", "modal")."""
    if not isinstance(blocks, list):
        return [f"blocks: expected a list, got {type(blocks).__name__}"]
    problems: Problems = []
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
            _limit(problems, f"{where}.block_id", block_id, MAX_BLOCK_ID)
            if block_id in seen_ids:
                problems.append(f"{where}.block_id: duplicate block_id {block_id!r}")
            seen_ids.add(block_id)
        check = _BLOCK_CHECKS.get(block.get("type"))
        if check is None:
            problems.append(f"{where}.type: unknown block type {block.get('type')!r}")
        else:
            check(problems, where, block)
    return problems


def message_problems(payload: dict[str, Any], surface: str = "message") -> list[str]:
    """Problems in a whole message payload: its `text` and its `blocks`."""
    problems: Problems = []
    text = payload.get("text")
    if text is not None:
        if not isinstance(text, str):
            problems.append(f"text: expected a string, got {type(text).__name__}")
        elif len(text) > MAX_MESSAGE_TEXT:
            problems.append(f"text: {len(text)} characters, at most {MAX_MESSAGE_TEXT}")
    if payload.get("blocks") is not None:
        problems += block_kit_problems(payload["blocks"], surface=surface)
    return problems


# -- helpers -------------------------------------------------------------------


def _limit(problems: Problems, where: str, value: Any, most: int) -> None:
    if not isinstance(value, str):
        problems.append(f"{where}: expected a string, got {type(value).__name__}")
    elif len(value) > most:
        problems.append(f"{where}: {len(value)} characters, at most {most}")


def _text(
    problems: Problems,
    where: str,
    obj: Any,
    most: int,
    *,
    plain_only: bool = False,
    required: bool = True,
) -> None:
    """A text object: right type, non-empty text, within `most` characters."""
    if obj is None:
        if required:
            problems.append(f"{where}: missing text object")
        return
    if not isinstance(obj, dict):
        problems.append(f"{where}: expected a text object, got {type(obj).__name__}")
        return
    allowed = ("plain_text",) if plain_only else TEXT_TYPES
    if obj.get("type") not in allowed:
        problems.append(f"{where}.type: {obj.get('type')!r}, expected one of {allowed}")
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        problems.append(f"{where}.text: must be a non-empty string")
    else:
        _limit(problems, f"{where}.text", text, most)


def _url(problems: Problems, where: str, url: Any) -> None:
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        problems.append(f"{where}: {url!r} is not an http(s) URL")
    else:
        _limit(problems, where, url, MAX_URL)


def _elements(block: dict[str, Any], problems: Problems, where: str) -> list[Any]:
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        problems.append(f"{where}.elements: must be a non-empty list")
        return []
    return elements


# -- elements ------------------------------------------------------------------


def _confirm(problems: Problems, where: str, confirm: dict[str, Any]) -> None:
    _text(problems, f"{where}.title", confirm.get("title"), MAX_CONFIRM_TITLE, plain_only=True)
    _text(problems, f"{where}.text", confirm.get("text"), MAX_CONFIRM_TEXT)
    for key in ("confirm", "deny"):
        _text(problems, f"{where}.{key}", confirm.get(key), MAX_CONFIRM_BUTTON, plain_only=True)
    style = confirm.get("style")
    if style is not None and style not in BUTTON_STYLES:
        problems.append(f"{where}.style: {style!r}, expected one of {BUTTON_STYLES}")


def _interactive(problems: Problems, where: str, element: dict[str, Any]) -> None:
    """What every interactive element shares: action_id and confirm."""
    if element.get("action_id") is not None:
        _limit(problems, f"{where}.action_id", element["action_id"], MAX_ACTION_ID)
    if element.get("confirm") is not None:
        _confirm(problems, f"{where}.confirm", element["confirm"])


def _button(problems: Problems, where: str, element: dict[str, Any]) -> None:
    _text(problems, f"{where}.text", element.get("text"), MAX_BUTTON_TEXT, plain_only=True)
    if element.get("value") is not None:
        _limit(problems, f"{where}.value", element["value"], MAX_BUTTON_VALUE)
    if element.get("url") is not None:
        _limit(problems, f"{where}.url", element["url"], MAX_URL)
    style = element.get("style")
    if style is not None and style not in BUTTON_STYLES:
        problems.append(f"{where}.style: {style!r}, expected one of {BUTTON_STYLES}")


def _image_element(problems: Problems, where: str, element: dict[str, Any]) -> None:
    if "slack_file" not in element:
        _url(problems, f"{where}.image_url", element.get("image_url"))
    alt = element.get("alt_text")
    if not isinstance(alt, str) or not alt:
        problems.append(f"{where}.alt_text: must be a non-empty string")
    else:
        _limit(problems, f"{where}.alt_text", alt, MAX_ALT_TEXT)


def _element(problems: Problems, where: str, element: Any) -> None:
    """An accessory or an element of an actions block."""
    if not isinstance(element, dict):
        problems.append(f"{where}: expected an object")
        return
    if element.get("type") == "image":
        _image_element(problems, where, element)
        return
    _interactive(problems, where, element)
    if element.get("type") == "button":
        _button(problems, where, element)


# -- blocks --------------------------------------------------------------------


def _section(problems: Problems, where: str, block: dict[str, Any]) -> None:
    text, fields = block.get("text"), block.get("fields")
    if text is None and not fields:
        problems.append(f"{where}: a section needs text or fields")
    if text is not None:
        _text(problems, f"{where}.text", text, MAX_SECTION_TEXT)
    if fields is not None:
        if not isinstance(fields, list):
            problems.append(f"{where}.fields: expected a list")
        else:
            if len(fields) > MAX_SECTION_FIELDS:
                problems.append(
                    f"{where}.fields: {len(fields)} fields, at most {MAX_SECTION_FIELDS}"
                )
            for i, field in enumerate(fields):
                _text(problems, f"{where}.fields[{i}]", field, MAX_FIELD_TEXT)
    if block.get("accessory") is not None:
        _element(problems, f"{where}.accessory", block["accessory"])


def _header(problems: Problems, where: str, block: dict[str, Any]) -> None:
    _text(problems, f"{where}.text", block.get("text"), MAX_HEADER_TEXT, plain_only=True)


def _context(problems: Problems, where: str, block: dict[str, Any]) -> None:
    elements = _elements(block, problems, where)
    if len(elements) > MAX_CONTEXT_ELEMENTS:
        problems.append(
            f"{where}.elements: {len(elements)} elements, at most {MAX_CONTEXT_ELEMENTS}"
        )
    for i, element in enumerate(elements):
        at = f"{where}.elements[{i}]"
        if isinstance(element, dict) and element.get("type") == "image":
            _image_element(problems, at, element)
        else:
            _text(problems, at, element, MAX_SECTION_TEXT)


def _actions(problems: Problems, where: str, block: dict[str, Any]) -> None:
    elements = _elements(block, problems, where)
    if len(elements) > MAX_ACTIONS_ELEMENTS:
        problems.append(
            f"{where}.elements: {len(elements)} elements, at most {MAX_ACTIONS_ELEMENTS}"
        )
    action_ids: set[str] = set()
    for i, element in enumerate(elements):
        at = f"{where}.elements[{i}]"
        _element(problems, at, element)
        action_id = element.get("action_id") if isinstance(element, dict) else None
        if action_id is not None:
            if action_id in action_ids:
                problems.append(f"{at}.action_id: duplicate action_id {action_id!r} in block")
            action_ids.add(action_id)


def _image(problems: Problems, where: str, block: dict[str, Any]) -> None:
    _image_element(problems, where, block)
    if block.get("title") is not None:
        _text(problems, f"{where}.title", block["title"], MAX_IMAGE_TITLE, plain_only=True)


def _unchecked(problems: Problems, where: str, block: dict[str, Any]) -> None:
    """Known block types whose details newsbot never sends."""


_BLOCK_CHECKS: dict[Any, Callable[[Problems, str, dict[str, Any]], None]] = {
    "section": _section,
    "header": _header,
    "context": _context,
    "actions": _actions,
    "image": _image,
    **dict.fromkeys(("divider", "file", "input", "markdown", "rich_text", "video"), _unchecked),
}
# Block types this checker knows; anything else is flagged, as Slack would.
KNOWN_BLOCKS = frozenset(_BLOCK_CHECKS)
