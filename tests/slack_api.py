"""A local HTTP server that answers like the Slack Web API and records every call.

Give `fake.api_url` to `WebClient(base_url=...)` (or `SLACK_API_URL`) and the
real client, its retry handlers and Bolt's `respond()` all talk to it:

    with FakeSlack() as fake:
        client = WebClient(token=fake.bot_token, base_url=fake.api_url)
        client.chat_postMessage(channel="C123", text="hi")
        assert fake.calls_to("chat.postMessage")[0].args["text"] == "hi"
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.blockkit import message_problems

BOT_TOKEN = "xoxb-test-token"
TEAM_ID = "T123"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
APP_ID = "A123"

# The WebClient sends these as JSON strings inside form bodies.
JSON_ARGS = ("blocks", "attachments", "unfurls", "view", "metadata", "user_auth_blocks")
# `<!channel>`, `<!here>`, `<!subteam^S1>`, `<@U1>`, `<#C1>`: what pings or links people.
MENTION = re.compile(r"<[!@#][^<>]*>")

Handler = Callable[["FakeSlack", dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Call:
    """One request the fake received.

    `status` is the HTTP status it answered (429 when rate-limited, 0 when the
    connection was dropped); `response` the JSON body it answered with.
    `headers` has lower-case names.
    """

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    at: float
    status: int = 200
    response: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response and self.response.get("ok"))


class Gate:
    """A call held by `FakeSlack.hold_next`: it gets no answer until `release()`.

    `reached` is set when the call arrives; `waiting` is true while it is held.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.reached = threading.Event()
        self._released = threading.Event()
        self._answered = threading.Event()

    @property
    def waiting(self) -> bool:
        return self.reached.is_set() and not self._answered.is_set()

    def release(self) -> None:
        self._released.set()

    def wait_reached(self, timeout: float = 10) -> None:
        if not self.reached.wait(timeout):
            raise AssertionError(f"the held call did not arrive in {timeout}s")

    def _hold(self) -> None:
        self.reached.set()
        try:
            self._released.wait(self.timeout)
        finally:
            self._answered.set()


# The scope a method needs, for Slack's `missing_scope` answer (its `needed` field).
_SCOPE_OF = {
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
    "conversations.info": "channels:read",
    "usergroups.users.list": "usergroups:read",
    "chat.unfurl": "links:write",
}


class SlackApiFailure(Exception):
    """Raised by a handler to answer `{"ok": false, "error": ...}`."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.body = {"ok": False, "error": error, **extra}


def mentions_in(payload: Any) -> list[str]:
    """Mentions (`<!channel>`, `<!here>`, `<@U1>`, `<#C1>`...) in any string of `payload`."""
    return [m for text in _strings(payload) for m in MENTION.findall(text)]


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


class FakeSlack:
    """The Slack Web API on 127.0.0.1, port chosen by the OS."""

    def __init__(self, *, bot_token: str = BOT_TOKEN, team_id: str = TEAM_ID) -> None:
        self.bot_token = bot_token
        self.team_id = team_id
        self.handlers: dict[str, Handler] = dict(HANDLERS)
        self.users: dict[str, dict[str, Any]] = {}
        self.usergroups: dict[str, list[str]] = {}
        # Channels set with `set_channel`; any other is a public channel the bot is in.
        self.channels: dict[str, dict[str, Any]] = {}
        self.calls: list[Call] = []
        self.block_kit_violations: list[str] = []
        self._scripts: dict[str, list[tuple[str, Any]]] = defaultdict(list)
        self._changed = threading.Condition()
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        # files.getUploadURLExternal: file id -> {"filename", "length", "alt_txt", "bytes"}
        self.files: dict[str, dict[str, Any]] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.add_user(BOT_USER_ID, "newsbot", "newsbot", is_bot=True)
        self.add_user("U111", "jane", "Jane Doe")

    # -- lifecycle --------------------------------------------------------------

    def start(self) -> FakeSlack:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _RequestHandler)
        server.daemon_threads = True
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        # A short poll interval keeps stop() (and so every test's teardown) fast.
        self._thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "FakeSlack is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    @property
    def api_url(self) -> str:
        return self.base_url + "api/"

    def response_url(self) -> str:
        """A fresh `response_url`, as Slack puts in commands and interactions."""
        return f"{self.base_url}response/{next(self._ids)}"

    # -- configuration and scripting --------------------------------------------

    def add_user(self, user_id: str, name: str, real_name: str, **extra: Any) -> None:
        self.users[user_id] = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "real_name": real_name,
            "deleted": False,
            "is_bot": False,
            "profile": {"display_name": name, "real_name": real_name},
            **extra,
        }

    def set_usergroup(self, group_id: str, user_ids: list[str]) -> None:
        self.usergroups[group_id] = list(user_ids)

    def set_channel(
        self, channel: str, *, member: bool = True, private: bool = False, archived: bool = False
    ) -> None:
        """How the bot stands in a channel: conversations.info and posts answer accordingly."""
        self.channels[channel] = {"member": member, "private": private, "archived": archived}

    def fail_next(self, method: str, error: str, times: int = 1) -> None:
        """The next `times` calls to `method` answer `{"ok": false, "error": error}` (the
        "upload" step, files_upload_v2's POST of the bytes, answers HTTP 400)."""
        self._script(method, ("fail", error), times)

    def rate_limit_next(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """The next `times` calls to `method` answer HTTP 429 with `Retry-After`."""
        self._script(method, ("ratelimit", retry_after), times)

    def http_error_next(self, method: str, status: int, times: int = 1) -> None:
        """The next `times` calls to `method` answer HTTP `status` (a 500, a 413...)."""
        self._script(method, ("status", status), times)

    def act_then_error_next(self, method: str, status: int, times: int = 1) -> None:
        """The next `times` calls to `method` are carried out (a message posted, a file
        shared), then answered HTTP `status`, as a gateway timing out on a call Slack
        finished does (a 504)."""
        self._script(method, ("acted", status), times)

    def drop_next(self, method: str, times: int = 1) -> None:
        """The next `times` calls to `method` get the connection closed, no answer."""
        self._script(method, ("drop", None), times)

    def hold_next(self, method: str, timeout: float = 20) -> Gate:
        """The next call to `method` waits for `gate.release()` (or `timeout`), then is answered.

        Scripted after `rate_limit_next`, it holds the retry that follows the 429.
        """
        gate = Gate(timeout)
        self._script(method, ("hold", gate), 1)
        return gate

    def _script(self, method: str, action: tuple[str, Any], times: int) -> None:
        with self._changed:
            self._scripts[method].extend([action] * times)

    def reset(self) -> None:
        """Forget calls, violations and scripted failures (users and groups stay)."""
        with self._changed:
            self.calls.clear()
            self.block_kit_violations.clear()
            self._scripts.clear()

    # -- assertions -------------------------------------------------------------

    def calls_to(self, method: str, *, all_attempts: bool = False) -> list[Call]:
        """Calls to `method` that Slack answered; `all_attempts` adds 429s and drops."""
        with self._changed:
            return [
                c for c in self.calls if c.method == method and (all_attempts or c.status == 200)
            ]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5) -> list[Call]:
        """Wait until `count` calls to `method` were answered (for handlers on other threads)."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.calls_to(method)) >= count, timeout):
                seen = [c.method for c in self.calls]
                raise AssertionError(
                    f"expected {count} call(s) to {method} in {timeout}s; saw {seen}"
                )
            return self.calls_to(method)

    # -- used by handlers -------------------------------------------------------

    def next_ts(self) -> str:
        """A message timestamp, unique and increasing: 1764150000.000100, ...000200."""
        micros = next(self._ts) * 100
        return f"{1764150000 + micros // 1_000_000}.{micros % 1_000_000:06d}"

    def check_blocks(self, method: str, payload: dict[str, Any], surface: str = "message") -> None:
        """Refuse a payload with bad blocks as Slack does, and remember why."""
        problems = message_problems(payload, surface)
        if problems:
            with self._changed:
                self.block_kit_violations.extend(f"{method}: {p}" for p in problems)
            raise SlackApiFailure("invalid_blocks", errors=problems)

    # -- request handling -------------------------------------------------------

    def _answer(
        self, method: str, args: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any], dict[str, Any]] | None:
        """The (status, body, extra headers) for one call, or None to drop it; records it."""
        with self._changed:
            script = self._scripts.get(method)
            action, arg = script.pop(0) if script else (None, None)
        status, extra = 200, {}
        if action == "hold":
            arg._hold()
            action = None
        if action == "drop":
            status, body = 0, None
        elif action == "status":
            status, body = arg, {"ok": False, "error": f"http_{arg}"}
        elif action == "fail" and method == "upload":
            # The file server refuses with an HTTP status, not Slack's JSON answer.
            status, body = 400, {"ok": False, "error": arg}
        elif action == "ratelimit":
            status, body, extra = 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": arg}
        elif action == "acted":
            with contextlib.suppress(SlackApiFailure):  # what it refused, it did not do
                self._dispatch(method, args, headers, None)
            status, body = arg, {"ok": False, "error": f"http_{arg}"}
        else:
            try:
                body = self._dispatch(method, args, headers, arg if action == "fail" else None)
            except SlackApiFailure as failure:
                body = failure.body
                if method == "upload":  # an upload URL nobody issued
                    status = 404
            except Exception as exc:  # a bug in a handler: answer like a Slack outage, visibly
                status, body = 500, {"ok": False, "error": "fake_slack_bug", "detail": repr(exc)}
        with self._changed:
            self.calls.append(Call(method, args, headers, time.time(), status, body))
            self._changed.notify_all()
        return None if body is None else (status, body, extra)

    def _dispatch(
        self, method: str, args: dict[str, Any], headers: dict[str, str], error: str | None
    ) -> dict[str, Any]:
        if "_raw" in args:
            raise SlackApiFailure("invalid_payload" if method == "response_url" else "invalid_json")
        if method == "response_url":
            self.check_blocks(method, args)
            return {"ok": True}
        if method == "upload":
            return _receive_upload(self, args)
        token = headers.get("authorization", "").removeprefix("Bearer ") or args.get("token")
        if not token:
            raise SlackApiFailure("not_authed")
        if token != self.bot_token:
            raise SlackApiFailure("invalid_auth")
        if error == "missing_scope":
            raise SlackApiFailure(error, needed=_SCOPE_OF.get(method, "chat:write"), provided="")
        if error:
            raise SlackApiFailure(error)
        handler = self.handlers.get(method)
        if handler is None:
            raise SlackApiFailure("unknown_method", req_method=method)
        return {"ok": True, **handler(self, args)}


class _RequestHandler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def do_POST(self) -> None:
        self._handle()

    def do_GET(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def _handle(self) -> None:
        fake: FakeSlack = self.server.fake  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = self.rfile.read(int(headers.get("content-length") or 0))
        if url.path.startswith("/upload/"):  # files_upload_v2's step 2: raw bytes, no token
            method, args = "upload", {"file_id": url.path.removeprefix("/upload/"), "_bytes": body}
            answer = fake._answer(method, args, headers)
            if answer is None:
                self.close_connection = True
                return
            self._reply(*answer)
            return
        raw = body.decode()
        if url.path.startswith("/api/"):
            method = url.path.removeprefix("/api/")
            args = dict(parse_qsl(url.query, keep_blank_values=True))
            try:
                args.update(_parse_body(raw, headers.get("content-type", "")))
            except ValueError:
                args["_raw"] = raw
        elif url.path.startswith("/response/"):
            method = "response_url"
            try:
                args = {**json.loads(raw or "{}"), "_url": url.path}
            except ValueError:
                args = {"_url": url.path, "_raw": raw}
        else:
            self.send_error(404)
            return
        answer = fake._answer(method, args, headers)
        if answer is None:
            self.close_connection = True
            return
        self._reply(*answer)

    def _reply(self, status: int, body: dict[str, Any], extra: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra.items():
            self.send_header(name, str(value))
        self.end_headers()
        self.wfile.write(data)


def _parse_body(raw: str, content_type: str) -> dict[str, Any]:
    if not raw:
        return {}
    if content_type.startswith("application/json"):
        return json.loads(raw)
    args: dict[str, Any] = dict(parse_qsl(raw, keep_blank_values=True))
    for key in JSON_ARGS:
        if isinstance(args.get(key), str) and args[key][:1] in ("[", "{"):
            args[key] = json.loads(args[key])
    return args


# -- method handlers -----------------------------------------------------------


def _require(args: dict[str, Any], *names: str) -> None:
    for name in names:
        if not args.get(name):
            error = "channel_not_found" if name == "channel" else "invalid_arguments"
            raise SlackApiFailure(error, detail=f"missing {name}")


def _message(fake: FakeSlack, method: str, args: dict[str, Any]) -> dict[str, Any]:
    """Check a message payload and build the `message` Slack echoes back."""
    _require(args, "channel")
    if not (args.get("text") or args.get("blocks") or args.get("attachments")):
        raise SlackApiFailure("no_text")
    fake.check_blocks(method, args)
    message = {
        "type": "message",
        "text": args.get("text", ""),
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "team": fake.team_id,
    }
    for key in ("blocks", "attachments", "thread_ts", "metadata"):
        if args.get(key):
            message[key] = args[key]
    return message


def auth_test(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": "https://example.slack.com/",
        "team": "Example News",
        "user": "newsbot",
        "team_id": fake.team_id,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
        "is_enterprise_install": False,
    }


def _may_post(fake: FakeSlack, channel: str) -> None:
    """Slack's refusals for a channel the bot is not in (or cannot see), or that is archived."""
    stands = fake.channels.get(channel)
    if stands is None:
        return
    if not stands["member"]:
        raise SlackApiFailure("channel_not_found" if stands["private"] else "not_in_channel")
    if stands["archived"]:
        raise SlackApiFailure("is_archived")


def chat_post_message(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    _may_post(fake, args.get("channel", ""))
    message = _message(fake, "chat.postMessage", args)
    ts = fake.next_ts()
    return {"channel": args["channel"], "ts": ts, "message": {**message, "ts": ts}}


def chat_post_ephemeral(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    _require(args, "user")
    _message(fake, "chat.postEphemeral", args)
    return {"message_ts": fake.next_ts()}


def chat_update(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    _require(args, "ts")
    message = _message(fake, "chat.update", args)
    return {
        "channel": args["channel"],
        "ts": args["ts"],
        "text": message["text"],
        "message": message,
    }


def chat_delete(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    _require(args, "channel", "ts")
    return {"channel": args["channel"], "ts": args["ts"]}


def chat_unfurl(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    if not (args.get("channel") and args.get("ts")) and not (
        args.get("source") and args.get("unfurl_id")
    ):
        raise SlackApiFailure("invalid_arguments", detail="need channel+ts or source+unfurl_id")
    unfurls = args.get("unfurls")
    if not isinstance(unfurls, dict) or not unfurls:
        raise SlackApiFailure("invalid_unfurls_format")
    for url, unfurl in unfurls.items():
        fake.check_blocks(f"chat.unfurl {url}", unfurl if isinstance(unfurl, dict) else {})
    return {}


def chat_get_permalink(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    _require(args, "channel", "message_ts")
    channel, ts = args["channel"], args["message_ts"]
    return {
        "channel": channel,
        "permalink": f"https://example.slack.com/archives/{channel}/p{ts.replace('.', '')}",
    }


def views_publish(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    _require(args, "user_id", "view")
    view = args["view"]
    fake.check_blocks("views.publish", view, surface="home")
    return {"view": _view_as_slack_has_it(fake, view, hash_suffix="abc")}


def _view_as_slack_has_it(
    fake: FakeSlack, view: dict[str, Any], *, hash_suffix: str
) -> dict[str, Any]:
    """A view as views.publish and views.open answer it: with its id, owners and hash."""
    return {
        "id": f"V{next(fake._ids):08d}",
        "team_id": fake.team_id,
        "app_id": APP_ID,
        "bot_id": BOT_ID,
        "hash": f"{time.time():.6f}.{hash_suffix}",
        **view,
    }


def users_info(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    user = fake.users.get(args.get("user", ""))
    if user is None:
        raise SlackApiFailure("user_not_found")
    return {"user": user}


def usergroups_users_list(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    users = fake.usergroups.get(args.get("usergroup", ""))
    if users is None:
        raise SlackApiFailure("no_such_subteam")
    return {"users": users}


def conversations_info(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    channel = args.get("channel", "")
    if not channel.startswith(("C", "G", "D")):
        raise SlackApiFailure("channel_not_found")
    stands = fake.channels.get(channel, {"member": True, "private": False, "archived": False})
    private = stands["private"] or channel.startswith("G")
    if private and not stands["member"]:
        raise SlackApiFailure("channel_not_found")  # Slack hides private channels from outsiders
    return {
        "channel": {
            "id": channel,
            "name": f"news-{channel.lower()}",
            "is_channel": channel.startswith("C"),
            "is_private": private,
            "is_im": channel.startswith("D"),
            "is_archived": stands["archived"],
            "is_member": stands["member"],
            "context_team_id": fake.team_id,
        }
    }


# --- editorial workflow (issue 12): modals ------------------------------------------------

# Slack's limits for a modal's own fields (the blocks are checked like a message's).
VIEW_TITLE = 24
VIEW_BUTTON = 24
VIEW_PRIVATE_METADATA = 3000
VIEW_CALLBACK_ID = 255


def _view_problems(view: Any) -> list[str]:
    if not isinstance(view, dict):
        return ["view: expected an object"]
    problems = []
    if view.get("type") != "modal":
        problems.append(f"view.type: {view.get('type')!r}, expected 'modal'")
    for key, limit, required in (
        ("title", VIEW_TITLE, True),
        ("submit", VIEW_BUTTON, False),
        ("close", VIEW_BUTTON, False),
    ):
        text = view.get(key)
        if text is None:
            if required:
                problems.append(f"view.{key}: missing")
            continue
        if not isinstance(text, dict) or text.get("type") != "plain_text":
            problems.append(f"view.{key}: must be a plain_text object")
        elif not text.get("text") or len(text["text"]) > limit:
            problems.append(f"view.{key}.text: 1 to {limit} characters")
    if len(str(view.get("private_metadata") or "")) > VIEW_PRIVATE_METADATA:
        problems.append(f"view.private_metadata: more than {VIEW_PRIVATE_METADATA} characters")
    if len(str(view.get("callback_id") or "")) > VIEW_CALLBACK_ID:
        problems.append(f"view.callback_id: more than {VIEW_CALLBACK_ID} characters")
    has_input = any(
        isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or []
    )
    if has_input and view.get("submit") is None:
        problems.append("view.submit: a modal with inputs needs a submit button")
    return problems


def views_open(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    """Opens a modal: the view is checked as Slack does (blocks for the "modal" surface)."""
    _require(args, "trigger_id", "view")
    view = args["view"]
    problems = _view_problems(view)
    if problems:
        with fake._changed:
            fake.block_kit_violations.extend(f"views.open: {p}" for p in problems)
        raise SlackApiFailure("invalid_arguments", errors=problems)
    fake.check_blocks("views.open", view, surface="modal")
    opened = {"state": {"values": {}}, "previous_view_id": None, **view}
    return {"view": _view_as_slack_has_it(fake, opened, hash_suffix="modal")}


def files_get_upload_url_external(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    """Step 1 of files_upload_v2: an upload URL on this server and a file id."""
    _require(args, "filename", "length")
    if not str(args["length"]).isdigit():
        raise SlackApiFailure("invalid_arguments", detail="length must be a number")
    file_id = f"F{next(fake._ids):08d}"
    with fake._changed:
        fake.files[file_id] = {
            "filename": args["filename"],
            "length": int(args["length"]),
            "alt_txt": args.get("alt_txt"),
            "bytes": None,
        }
    return {"upload_url": f"{fake.base_url}upload/{file_id}", "file_id": file_id}


def _receive_upload(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    """Step 2: the file's bytes POSTed to the upload URL, kept for the test to read back."""
    data = args.pop("_bytes")
    args["length"] = len(data)
    with fake._changed:
        entry = fake.files.get(args["file_id"])
        if entry is None:
            raise SlackApiFailure("file_not_found")
        entry["bytes"] = data
    return {"ok": True}


def files_complete_upload_external(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    """Step 3: share the uploaded files (each uploaded in full) in `channel_id`."""
    try:
        files = json.loads(args.get("files") or "[]")
    except ValueError:
        raise SlackApiFailure("invalid_arguments", detail="files is not JSON") from None
    if not isinstance(files, list) or not files:
        raise SlackApiFailure("invalid_arguments", detail="files must be a non-empty list")
    channel = args.get("channel_id")
    if channel is not None and not str(channel).startswith(("C", "G", "D")):
        raise SlackApiFailure("channel_not_found")
    shared = []
    with fake._changed:
        for item in files:
            entry = fake.files.get(item.get("id", "")) if isinstance(item, dict) else None
            if entry is None or entry["bytes"] is None:
                raise SlackApiFailure("file_not_found")
            if len(entry["bytes"]) != entry["length"]:
                raise SlackApiFailure("invalid_arguments", detail="length does not match")
            entry.update(title=item.get("title"), channel=channel)
            shared.append(
                {
                    "id": item["id"],
                    "name": entry["filename"],
                    "title": item.get("title") or entry["filename"],
                    "size": entry["length"],
                    "channels": [channel] if channel else [],
                }
            )
    return {"files": shared}


HANDLERS: dict[str, Handler] = {
    "auth.test": auth_test,
    "chat.postMessage": chat_post_message,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.update": chat_update,
    "chat.delete": chat_delete,
    "chat.unfurl": chat_unfurl,
    "chat.getPermalink": chat_get_permalink,
    "views.publish": views_publish,
    "users.info": users_info,
    "usergroups.users.list": usergroups_users_list,
    "conversations.info": conversations_info,
    "views.open": views_open,
    "files.getUploadURLExternal": files_get_upload_url_external,
    "files.completeUploadExternal": files_complete_upload_external,
}
