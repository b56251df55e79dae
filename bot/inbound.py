"""What a request to the Request URL must be before the app acts on it.

Slack signs every HTTP request (v0 HMAC-SHA256 over `v0:{timestamp}:{body}`);
a request that is not signed, or signed but not shaped like anything Slack
sends, is refused here with the reason, before Bolt parses it. Socket Mode
requests come over the socket the app opened with its app token, and are
authentic by that.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from slack_bolt import BoltContext
from slack_bolt.request import BoltRequest
from slack_bolt.request.internals import build_context
from slack_bolt.response import BoltResponse

log = logging.getLogger(__name__)

MAX_AGE_SECONDS = 5 * 60
# Slack's timestamps are Unix seconds: ten digits until the year 2286.
_MAX_TIMESTAMP_DIGITS = 12
# The context key that says the request is Slack's: its signature was verified,
# or it came over Socket Mode. Only `authenticate` sets it; a body cannot.
AUTHENTIC = "newsbot_authentic"
# Slack sends every one of these with a slash command; the listener needs them.
COMMAND_FIELDS = ("command", "text", "user_id", "channel_id", "team_id", "response_url")


class Refused(Exception):
    """A request the app will not act on: the HTTP status and the reason, for the log."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def signature_problem(
    secret: str | None, timestamp: str | None, signature: str | None, body: bytes, now: float
) -> str | None:
    """None when Slack signed `body` at `timestamp` with `secret`; else why not.

    Never raises, whatever the headers hold: a header the client chose is only
    compared, in constant time, once it is known to be plain ASCII.
    """
    if not secret:
        return "no signing secret is configured"
    if timestamp is None:
        return "no X-Slack-Request-Timestamp"
    if signature is None:
        return "no X-Slack-Signature"
    if not (
        timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= _MAX_TIMESTAMP_DIGITS
    ):
        return "malformed X-Slack-Request-Timestamp"
    if abs(now - int(timestamp)) > MAX_AGE_SECONDS:
        return "X-Slack-Request-Timestamp more than 5 minutes away"
    if not signature.isascii():
        return "malformed X-Slack-Signature"
    message = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return "bad signature"
    return None


def parse_body(raw: bytes, content_type: str | None) -> dict[str, Any]:
    """The body of a signed request as a dict, or `Refused(400)` saying what is wrong.

    Decides JSON or form the way Bolt does, but reads a form's `payload` only
    when the form has that field (Bolt takes any form containing the word).
    Checks what routing needs: a command's fields, an interaction's type, user
    and actions, an event's type.
    """
    if not raw:
        raise Refused(400, "empty body")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "body is not UTF-8") from None
    media = (content_type or "").split(";")[0].strip().lower()
    if media == "application/json" or text.startswith("{"):
        return _event(_json_object(text, "body"))
    form = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in form:
        return _interaction(_json_object(form["payload"], "payload"))
    if form.get("ssl_check") == "1":
        return form
    if "command" not in form:
        raise Refused(400, "form is neither a slash command nor an interaction")
    missing = [name for name in COMMAND_FIELDS if name not in form]
    if missing:
        raise Refused(400, f"slash command without {', '.join(missing)}")
    _check_response_url(form["response_url"])
    return form


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise Refused(400, f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise Refused(400, f"{what} is not a JSON object")
    return value


def _event(body: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(body.get("type"), str):
        raise Refused(400, "JSON body without a type")
    if body["type"] == "event_callback":
        event = body.get("event")
        if not (isinstance(event, dict) and isinstance(event.get("type"), str)):
            raise Refused(400, "event_callback without an event type")
        if not _readable(event):
            raise Refused(400, f"{event['type']} event without the fields the app reads")
    return body


def _readable(event: dict[str, Any]) -> bool:
    """Whether an event the app subscribes to has the fields its listener reads."""

    def strings(*names: str) -> bool:
        return all(isinstance(event.get(name), str) for name in names)

    if event["type"] == "app_home_opened":
        return strings("user")
    if event["type"] == "link_shared":
        links = event.get("links")
        return (
            (strings("channel", "message_ts") or strings("unfurl_id", "source"))
            and isinstance(links, list)
            and all(isinstance(link, dict) and isinstance(link.get("url"), str) for link in links)
        )
    return True


def _interaction(body: dict[str, Any]) -> dict[str, Any]:
    kind = body.get("type")
    if not isinstance(kind, str):
        raise Refused(400, "payload without a type")
    user = body.get("user")
    if not (isinstance(user, dict) and isinstance(user.get("id"), str)):
        raise Refused(400, "payload without a user id")
    if kind == "block_actions":  # legacy attachment buttons (interactive_message) name theirs
        actions = body.get("actions")
        if not (
            isinstance(actions, list)
            and actions
            and all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions)
        ):
            raise Refused(400, "payload with malformed actions")
    view = body.get("view")
    if "view" in body and not isinstance(view, dict):
        raise Refused(400, "payload with a malformed view")
    # A submitted or closed view is routed by its callback_id (App Home's is "").
    if kind in ("view_submission", "view_closed") and not (
        isinstance(view, dict)
        and all(isinstance(view.get(name), str) for name in ("id", "type", "callback_id"))
    ):
        raise Refused(400, f"{kind} with a malformed view")
    _check_response_url(body.get("response_url"))
    return body


def _check_response_url(url: object) -> None:
    """A `response_url`, where there is one, is an http(s) URL: never a file, never a path."""
    if url is None:
        return
    if not isinstance(url, str):
        raise Refused(400, "response_url is not a string")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise Refused(400, "response_url is not an https URL")


class SlackHttpRequest(BoltRequest):
    """A signed HTTP request whose body `parse_body` read.

    Bolt would parse the raw body again, and read `/news payload` (or any form
    from a channel named #payload-…) as an interaction without a payload: an
    empty request. This keeps our parse, also in the copy the listener thread gets.
    """

    def __init__(
        self,
        *,
        body: str,
        parsed: dict[str, Any],
        headers: dict[str, Any],
        query: Any = None,
        context: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(body=body, query=query, headers=headers, context=context)
        self.body = parsed
        self.context = build_context(BoltContext(context or {}), parsed)

    def to_copyable(self) -> SlackHttpRequest:
        return SlackHttpRequest(
            body=self.raw_body,
            parsed=self.body,
            query=self.query,
            headers=self.headers,
            context=self.context.to_copyable(),
        )


def slack_request(
    raw: bytes, headers: dict[str, str | Sequence[str]], query: str = ""
) -> SlackHttpRequest:
    """The Bolt request for a signed body, or `Refused(400)` when it is not one Slack sends."""
    content_type = headers.get("content-type")
    if not isinstance(content_type, str):  # Bolt's headers may hold a value list
        content_type = next(iter(content_type or ()), None)
    parsed = parse_body(raw, content_type)
    try:
        text = raw.decode("utf-8")
        return SlackHttpRequest(body=text, parsed=parsed, headers=headers, query=query)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError):
        # Bolt reads ids out of the body (team, enterprise, authorizations) and
        # trips over ones of the wrong type.
        raise Refused(400, "body with fields of the wrong type") from None


def _header(request: BoltRequest, name: str) -> str | None:
    values = request.headers.get(name)
    return values[0] if values else None


def authenticate(
    signing_secret: str | None, clock: Callable[[], float] = time.time
) -> Callable[..., BoltResponse]:
    """Bolt middleware, first before authorization: only Slack's requests go further.

    Marks the request `AUTHENTIC` in its context, so that code handling an
    error knows whether the body (and its `response_url`) came from Slack.
    """

    def authenticate(
        request: BoltRequest, context: BoltContext, next: Callable[[], BoltResponse]
    ) -> BoltResponse:
        if request.mode != "socket_mode":
            raw = request.raw_body.encode("utf-8", "surrogatepass")
            problem = signature_problem(
                signing_secret,
                _header(request, "x-slack-request-timestamp"),
                _header(request, "x-slack-signature"),
                raw,
                clock(),
            )
            if problem is not None:
                log.warning("refused a request to the app: 401 %s (%d bytes)", problem, len(raw))
                return BoltResponse(status=401, body="")
        context[AUTHENTIC] = True
        return next()

    return authenticate


def loggable(value: object, limit: int = 200) -> str:
    """`value` for a log line: printable ASCII only (the rest escaped), at most `limit` long."""
    text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    clipped = text[:limit]
    safe = "".join(
        ch if " " <= ch <= "~" and ch != "\\" else ch.encode("unicode_escape").decode()
        for ch in clipped
    )
    return safe + ("..." if len(text) > limit else "")
