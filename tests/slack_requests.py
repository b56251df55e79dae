"""Requests exactly as Slack sends them to a Request URL, signed.

    req = slash_command("ai heat>=50", response_url=fake.response_url())
    resp = app.dispatch(req.bolt_request())

Every builder takes `secret` and `timestamp` (to make stale or badly signed
requests) and `retry_num` (to replay a delivery as Slack's retries do: same body,
new timestamp, plus `X-Slack-Retry-Num` and `X-Slack-Retry-Reason`).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from slack_bolt.request import BoltRequest

SIGNING_SECRET = "test-signing-secret"
VERIFICATION_TOKEN = "legacy-verification-token"  # deprecated, but Slack still sends one
TEAM_ID = "T123"
TEAM_DOMAIN = "example"
API_APP_ID = "A123"
BOT_USER_ID = "UBOT"
MESSAGE_TS = "1764150000.000100"
# A local port nothing listens on: an app that responds to a request built
# without `response_url=fake.response_url()` fails at once instead of reaching Slack.
UNUSED_RESPONSE_URL = "http://127.0.0.1:9/response/unset"

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

_ids = itertools.count(1)


@dataclass(frozen=True)
class SlackRequest:
    """A signed request: raw `body`, `headers`, and `payload` as Socket Mode would deliver it."""

    body: str
    headers: dict[str, str]
    payload: dict[str, Any]

    @property
    def content_type(self) -> str:
        return self.headers["Content-Type"]

    def bolt_request(self) -> BoltRequest:
        return BoltRequest(body=self.body, headers=dict(self.headers))

    def socket_mode_request(self) -> BoltRequest:
        return BoltRequest(body=self.payload, mode="socket_mode")

    def post(self, url: str, timeout: float = 5) -> tuple[int, str]:
        """Send it over HTTP (to `newsbot serve`); the status and body of the answer."""
        request = urllib.request.Request(
            url, data=self.body.encode(), headers=self.headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


def sign(
    body: str,
    secret: str,
    timestamp: int | None = None,
    *,
    content_type: str | None = None,
) -> dict[str, str]:
    """Headers Slack sends with `body`: v0 HMAC-SHA256 over `v0:{timestamp}:{body}`."""
    return sign_bytes(
        body.encode(),
        secret,
        timestamp,
        content_type=content_type or (JSON if body.startswith("{") else FORM),
    )


def sign_bytes(
    body: bytes, secret: str, timestamp: int | str | None = None, *, content_type: str = FORM
) -> dict[str, str]:
    """`sign` for any bytes, also those that are not UTF-8; `timestamp` as sent, when a str."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
    return {
        "Content-Type": content_type,
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest.hexdigest()}",
    }


def _signed(
    body: str,
    payload: dict[str, Any],
    content_type: str,
    secret: str,
    timestamp: int | None,
    retry_num: int | None,
) -> SlackRequest:
    headers = sign(body, secret, timestamp, content_type=content_type)
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return SlackRequest(body=body, headers=headers, payload=payload)


def _trigger_id() -> str:
    n = next(_ids)
    return f"{1764150000 + n}.{n:09d}.{hashlib.sha1(str(n).encode()).hexdigest()[:32]}"


def _now_ts() -> str:
    return f"{time.time():.6f}"


# -- slash commands and interactivity (form bodies) ----------------------------


def slash_command(
    text: str,
    *,
    command: str = "/news",
    user_id: str = "U111",
    user_name: str = "jane",
    channel_id: str = "C123",
    channel_name: str = "news",
    team_id: str = TEAM_ID,
    response_url: str = UNUSED_RESPONSE_URL,
    trigger_id: str | None = None,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    retry_num: int | None = None,
) -> SlackRequest:
    """A slash command, form-encoded with Slack's fields in Slack's order."""
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": API_APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or _trigger_id(),
    }
    return _signed(urlencode(fields), fields, FORM, secret, timestamp, retry_num)


def _find_element(blocks: list[dict[str, Any]], action_id: str) -> tuple[str, dict[str, Any]]:
    """The (block_id, element) with `action_id` in `blocks`, else ("", {})."""
    for block in blocks:
        candidates = [*block.get("elements", []), block.get("accessory") or {}]
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return block.get("block_id", ""), element
    return "", {}


def block_action(
    action_id: str,
    value: str | None = None,
    *,
    block_id: str | None = None,
    text: str | None = None,
    user_id: str = "U111",
    user_name: str = "jane",
    team_id: str = TEAM_ID,
    channel_id: str = "C123",
    channel_name: str = "news",
    message_ts: str = MESSAGE_TS,
    message_text: str = "",
    message_blocks: list[dict[str, Any]] | None = None,
    response_url: str = UNUSED_RESPONSE_URL,
    container_type: str = "message",
    view: dict[str, Any] | None = None,
    ephemeral: bool = False,
    action_type: str = "button",
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    retry_num: int | None = None,
) -> SlackRequest:
    """A click on `action_id`, as a `block_actions` payload.

    When the element is found in `message_blocks` (or the view's blocks), its
    block_id, text, style and value fill whatever was not given, as in a real click.
    """
    in_view = container_type == "view"
    if in_view and view is None:
        view = {"id": "V0001", "type": "home", "blocks": message_blocks or []}
    blocks = (view or {}).get("blocks", []) if in_view else message_blocks or []
    found_block_id, element = _find_element(blocks, action_id)
    value = value if value is not None else element.get("value", "")
    label = text or element.get("text", {}).get("text", "Button")
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id or found_block_id or "b1",
        "type": action_type,
        "action_ts": _now_ts(),
    }
    if action_type == "button":
        action |= {"text": {"type": "plain_text", "text": label, "emoji": True}, "value": value}
        if element.get("style"):
            action["style"] = element["style"]
    else:  # selects and overflow menus report the chosen option
        option = {"text": {"type": "plain_text", "text": label, "emoji": True}, "value": value}
        action["selected_option"] = option

    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {},
        "trigger_id": _trigger_id(),
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
    }
    if in_view:
        assert view is not None
        payload["container"] = {"type": "view", "view_id": view.get("id", "V0001")}
        # App Home actions carry the view, and neither channel, message nor response_url.
        payload["view"] = {
            "team_id": team_id,
            "app_id": API_APP_ID,
            "bot_id": "BBOT",
            "callback_id": "",  # App Home's view has one, empty
            **view,
        }
    else:
        payload["container"] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": ephemeral,
        }
        payload["channel"] = {"id": channel_id, "name": channel_name}
        if not ephemeral:
            # Slack leaves `message` out for clicks in ephemeral messages: those
            # handlers only have the container and response_url to work with.
            payload["message"] = {
                "type": "message",
                "user": BOT_USER_ID,
                "bot_id": "BBOT",
                "app_id": API_APP_ID,
                "team": team_id,
                "ts": message_ts,
                "text": message_text,
                "blocks": message_blocks or [],
            }
        payload["response_url"] = response_url
    payload["state"] = {"values": {}}
    payload["actions"] = [action]
    body = urlencode({"payload": json.dumps(payload)})
    return _signed(body, payload, FORM, secret, timestamp, retry_num)


# -- Events API (JSON bodies) ---------------------------------------------------


def event_callback(
    event: dict[str, Any],
    *,
    event_id: str | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = API_APP_ID,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    retry_num: int | None = None,
) -> SlackRequest:
    """`event` wrapped in the Events API envelope. Reuse `event_id` to replay a delivery."""
    event = {"event_ts": _now_ts(), **event}
    payload = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_ids):08X}",
        "event_time": int(float(event["event_ts"])),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{event['type']}-{team_id}-{event.get('channel', '')}",
    }
    return _signed(json.dumps(payload), payload, JSON, secret, timestamp, retry_num)


def link_shared(
    links: list[str],
    *,
    user: str = "U111",
    channel: str = "C123",
    message_ts: str = MESSAGE_TS,
    source: str = "conversations_history",
    unfurl_id: str | None = None,
    thread_ts: str | None = None,
    **envelope: Any,
) -> SlackRequest:
    """A `link_shared` event. For a link in the composer, Slack sends
    `channel="COMPOSER"`, `source="composer"` and a message_ts that is no real ts."""
    event: dict[str, Any] = {
        "type": "link_shared",
        "user": user,
        "channel": channel,
        "message_ts": message_ts,
        "unfurl_id": unfurl_id or f"{channel}.{message_ts}.{next(_ids):016x}",
        "source": source,
        "is_bot_user_member": True,
        # `domain` is the host without "www.", the form unfurl domains are registered in.
        "links": [
            {"url": u, "domain": (urlsplit(u).hostname or "").removeprefix("www.")} for u in links
        ],
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event_callback(event, **envelope)


def app_home_opened(
    user: str = "U111",
    tab: str = "home",
    *,
    channel: str = "D123",
    view: dict[str, Any] | None = None,
    **envelope: Any,
) -> SlackRequest:
    """An `app_home_opened` event; `view` is the published view, when there is one."""
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user,
        "channel": channel,
        "tab": tab,
    }
    if view is not None:
        event["view"] = view
    return event_callback(event, **envelope)


def url_verification(
    challenge: str,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    retry_num: int | None = None,
) -> SlackRequest:
    """The handshake Slack sends when the Request URL is saved."""
    payload = {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
    return _signed(json.dumps(payload), payload, JSON, secret, timestamp, retry_num)


# -- modals (editorial workflow, issue 12) ------------------------------------------------


def picked_datetime(seconds: int) -> dict[str, Any]:
    """A datetimepicker's state in a submitted view: the moment chosen, as a UNIX time."""
    return {"type": "datetimepicker", "selected_date_time": seconds}


def view_submission(
    view: dict[str, Any],
    values: dict[str, dict[str, dict[str, Any]]] | None = None,
    *,
    view_id: str | None = None,
    user_id: str = "U111",
    user_name: str = "jane",
    team_id: str = TEAM_ID,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    retry_num: int | None = None,
) -> SlackRequest:
    """A modal submitted, as a `view_submission` payload.

    `view` is the view as the app opened it (what `views.open` received);
    `values` is its state, `{block_id: {action_id: value}}`, e.g.
    `{"when_block": {"when": picked_datetime(1764158400)}}`. Bolt answers with
    the ack's JSON: `{"response_action": "errors", "errors": {...}}` or empty.
    """
    view_id = view_id or f"V{next(_ids):08d}"
    submitted = {
        "id": view_id,
        "team_id": team_id,
        "type": "modal",
        "blocks": view.get("blocks", []),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "state": {"values": values or {}},
        "hash": f"{_now_ts()}.modal",
        "title": view.get("title"),
        "clear_on_close": False,
        "notify_on_close": False,
        "close": view.get("close"),
        "submit": view.get("submit"),
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": API_APP_ID,
        "external_id": "",
        "app_installed_team_id": team_id,
        "bot_id": "BBOT",
    }
    payload: dict[str, Any] = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": _trigger_id(),
        "view": submitted,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    body = urlencode({"payload": json.dumps(payload)})
    return _signed(body, payload, FORM, secret, timestamp, retry_num)
