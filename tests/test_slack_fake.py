"""The test doubles behave like Slack: the fake Web API, Block Kit limits, signed requests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.client import HTTPException
from typing import Any
from urllib.error import HTTPError
from urllib.parse import parse_qs
from urllib.request import Request, urlopen

import pytest
from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.models.blocks import Block
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from tests.blockkit import block_kit_problems, message_problems
from tests.slack_api import FakeSlack, mentions_in
from tests.slack_requests import (
    SIGNING_SECRET,
    app_home_opened,
    block_action,
    event_callback,
    link_shared,
    sign,
    slash_command,
    url_verification,
)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token=fake.bot_token, base_url=fake.api_url)


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def button(text: str = "Publish", action_id: str = "publish", **extra: Any) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        **extra,
    }


def confirm(**overrides: str) -> dict[str, Any]:
    parts = {
        "title": "Reject?",
        "text": "It leaves the queue.",
        "confirm": "Reject",
        "deny": "Keep",
    }
    parts |= overrides
    return {
        key: {"type": "mrkdwn" if key == "text" else "plain_text", "text": text}
        for key, text in parts.items()
    }


def image(url: str = "https://cdn.example.com/a.jpg", **extra: Any) -> dict[str, Any]:
    return {"type": "image", "image_url": url, "alt_text": "a picture", **extra}


GOOD_BLOCKS: list[dict[str, Any]] = [
    {"type": "header", "text": {"type": "plain_text", "text": "Today's digest"}},
    section("*<https://example.com/a|A title>*", block_id="a1", accessory=image()),
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "Example · AI"}, image()]},
    {
        "type": "actions",
        "block_id": "a1-actions",
        "elements": [
            button(style="primary", value="https://example.com/a"),
            button("Reject", "reject", style="danger", confirm=confirm()),
            button("Open", "open", url="https://example.com/a"),
        ],
    },
    {"type": "divider"},
    {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Heat* 90"}] * 10},
    image(title={"type": "plain_text", "text": "A caption"}),
]


# -- Block Kit limits ------------------------------------------------------------


def test_good_blocks_have_no_problems() -> None:
    assert block_kit_problems(GOOD_BLOCKS) == []
    assert message_problems({"text": "x" * 40_000, "blocks": GOOD_BLOCKS}) == []
    # and slack_sdk's own validators agree
    for block in GOOD_BLOCKS:
        Block.parse(block).to_dict()  # type: ignore[union-attr]


def actions(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements)}


BAD_BLOCKS: dict[str, tuple[list[dict[str, Any]], str]] = {
    "51 blocks": ([{"type": "divider"}] * 51, "51 blocks, at most 50"),
    "long block_id": (
        [{"type": "divider", "block_id": "b" * 256}],
        "blocks[0] (divider): block_id cannot exceed 255",
    ),
    "duplicate block_id": (
        [{"type": "divider", "block_id": "x"}, {"type": "divider", "block_id": "x"}],
        "duplicate block_id 'x'",
    ),
    "long section": (
        [section("x" * 3001)],
        "blocks[0] (section): text attribute cannot exceed 3000",
    ),
    "11 fields": (
        [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
        "fields attribute cannot exceed 10 items",
    ),
    "long field": (
        [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}],
        "blocks[0].fields[0].text: 2001 characters, at most 2000",
    ),
    "empty section": ([section("")], "blocks[0].text.text: must be a non-empty string"),
    "section without text": ([{"type": "section"}], "text or fields attribute must be specified"),
    "long header": (
        [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
        "blocks[0] (header): text attribute cannot exceed 150",
    ),
    "mrkdwn header": (
        [{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}],
        "blocks[0].text.type: 'mrkdwn' where Slack takes plain_text only",
    ),
    "bad text type": ([{"type": "section", "text": {"type": "html", "text": "x"}}], "'html'"),
    "11 context elements": (
        [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}],
        "elements attribute cannot exceed 10 elements",
    ),
    "26 actions": (
        [actions(*[button(action_id=f"a{i}") for i in range(26)])],
        "elements attribute cannot exceed 25 elements",
    ),
    "long button text": (
        [actions(button("b" * 76))],
        "blocks[0] (actions): text attribute cannot exceed 75",
    ),
    "long button value": (
        [actions(button(value="v" * 2001))],
        "value attribute cannot exceed 2000",
    ),
    "long button url": (
        [actions(button(url="https://x/" + "u" * 2991))],
        "url attribute cannot exceed 3000",
    ),
    "long action_id": (
        [actions(button(action_id="a" * 256))],
        "action_id attribute cannot exceed 255",
    ),
    "duplicate action_id": ([actions(button(), button())], "duplicate action_id 'publish'"),
    "bad style": ([actions(button(style="secondary"))], "style attribute must be one of"),
    "long confirm title": (
        [actions(button(confirm=confirm(title="t" * 101)))],
        "title attribute cannot exceed 100",
    ),
    "long confirm text": (
        [actions(button(confirm=confirm(text="t" * 301)))],
        "text attribute cannot exceed 300",
    ),
    "long confirm button": (
        [actions(button(confirm=confirm(confirm="c" * 31)))],
        "confirm attribute cannot exceed 30",
    ),
    "long deny button": (
        [actions(button(confirm=confirm(deny="d" * 31)))],
        "deny attribute cannot exceed 30",
    ),
    "ftp image": ([image("ftp://example.com/a.jpg")], "is not an http(s) URL"),
    "long image url": (
        [image("https://x/" + "i" * 2991)],
        "image_url attribute cannot exceed 3000",
    ),
    "long alt_text": ([image(alt_text="a" * 2001)], "alt_text attribute cannot exceed 2000"),
    "long image title": (
        [image(title={"type": "plain_text", "text": "t" * 2001})],
        "title attribute cannot exceed 2000",
    ),
    "accessory image": (
        [section("s", accessory=image("data:image/png;base64,xx"))],
        "accessory.image_url",
    ),
    "unknown block": ([{"type": "carousel_of_doom"}], "unknown block type 'carousel_of_doom'"),
}


@pytest.mark.parametrize("blocks, expected", BAD_BLOCKS.values(), ids=BAD_BLOCKS.keys())
def test_each_limit_is_reported(blocks: list[dict[str, Any]], expected: str) -> None:
    problems = block_kit_problems(blocks)
    assert len(problems) == 1, problems
    assert expected in problems[0]


def test_home_and_modal_views_allow_100_blocks() -> None:
    blocks = [{"type": "divider"}] * 100
    assert block_kit_problems(blocks, surface="home") == []
    assert block_kit_problems(blocks, surface="modal") == []
    assert block_kit_problems([*blocks, {"type": "divider"}], surface="home") != []


def test_widths_are_counted_in_utf16_units() -> None:
    # 75 emoji are 75 code points, which the SDK allows, but 150 UTF-16 units.
    wide = [actions(button("🗳" * 75))]
    assert block_kit_problems(wide) == [
        "blocks[0] (actions): text attribute cannot exceed 75 characters"
    ]
    assert block_kit_problems([actions(button("🗳" * 37))]) == []


def test_markup_outside_slacks_tokens_is_refused() -> None:
    escaped = "&lt;!channel&gt; &amp; <@U024BE7LH> <#C123|news> <https://example.com/a?b=1|a link>"
    assert block_kit_problems([section(escaped + " <!date^1764150000^{date_short}|Nov 26>")]) == []
    assert message_problems({"text": "<!channel> breaking"}) == [
        "text: raw < or > outside Slack's tokens: '<!channel> breaking'"
    ]
    found = block_kit_problems([section("R&D <!here>"), image(alt_text="a <b>")])
    assert found == [
        "blocks[0].text.text: raw < or > outside Slack's tokens: 'R&D <!here>'",
        "blocks[0].text.text: unescaped &: 'R&D <!here>'",
        "blocks[1].alt_text: raw < or > outside Slack's tokens: 'a <b>'",
    ]


def test_message_text_limit() -> None:
    assert message_problems({"text": "x" * 40_001}) == ["text: 40001 characters, at most 40000"]


def test_mentions_in_finds_special_mentions_anywhere() -> None:
    payload = {
        "text": "hi <!here>",
        "blocks": [section("<!channel> breaking <@U1> in <#C1|news> &lt;!everyone&gt;")],
    }
    assert mentions_in(payload) == ["<!here>", "<!channel>", "<@U1>", "<#C1|news>"]


# -- the fake Web API, through the real WebClient ---------------------------------


def test_post_message_gets_increasing_ts(fake: FakeSlack, client: WebClient) -> None:
    first = client.chat_postMessage(channel="C123", text="hello", blocks=[section("hello")])
    second = client.chat_postMessage(channel="C123", text="again")
    assert first["ok"] and first["channel"] == "C123"
    assert first["message"]["blocks"] == [section("hello")]
    assert float(first["ts"]) < float(second["ts"])
    [call, _] = fake.calls_to("chat.postMessage")
    assert call.args["blocks"] == [section("hello")]
    assert call.headers["authorization"] == f"Bearer {fake.bot_token}"


def test_form_encoded_json_arguments_are_decoded(fake: FakeSlack, client: WebClient) -> None:
    # The WebClient sends chat.postMessage as JSON, but any client may send a form.
    client.api_call("chat.postMessage", params={"channel": "C1", "blocks": json.dumps(GOOD_BLOCKS)})
    assert fake.calls_to("chat.postMessage")[0].args["blocks"] == GOOD_BLOCKS


def test_bad_token(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as error:
        WebClient(token="xoxb-wrong", base_url=fake.api_url).auth_test()
    assert error.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as error:
        WebClient(base_url=fake.api_url).auth_test()
    assert error.value.response["error"] == "not_authed"


def test_default_answers(fake: FakeSlack, client: WebClient) -> None:
    auth = client.auth_test()
    assert (auth["user_id"], auth["bot_id"], auth["team_id"]) == ("UBOT", "BBOT", "T123")
    assert client.chat_postEphemeral(channel="C1", user="U111", text="psst")["message_ts"]
    updated = client.chat_update(channel="C1", ts="1.000100", text="new", blocks=[section("n")])
    assert (updated["ts"], updated["text"]) == ("1.000100", "new")
    assert client.chat_delete(channel="C1", ts="1.000100")["ok"]
    link = client.chat_getPermalink(channel="C1", message_ts="1764150000.000100")
    assert link["permalink"] == "https://example.slack.com/archives/C1/p1764150000000100"
    view = client.views_publish(user_id="U111", view={"type": "home", "blocks": GOOD_BLOCKS})
    assert view["view"]["id"].startswith("V")
    assert client.conversations_info(channel="C1")["channel"]["id"] == "C1"
    unfurls = {"https://example.com/a": {"blocks": [section("A")]}}
    assert client.chat_unfurl(channel="C1", ts="1.000100", unfurls=unfurls)["ok"]
    with pytest.raises(SlackApiError, match="unknown_method"):
        client.api_call("chat.fly")
    with pytest.raises(SlackApiError, match="no_text"), pytest.warns(UserWarning, match="text"):
        client.chat_postMessage(channel="C1")


def test_users_and_usergroups(fake: FakeSlack, client: WebClient) -> None:
    fake.add_user("U222", "bob", "Bob Editor")
    fake.set_usergroup("S1", ["U111", "U222"])
    user = client.users_info(user="U222")["user"]
    assert (user["name"], user["profile"]["real_name"]) == ("bob", "Bob Editor")
    assert client.usergroups_users_list(usergroup="S1")["users"] == ["U111", "U222"]
    with pytest.raises(SlackApiError, match="no_such_subteam"):
        client.usergroups_users_list(usergroup="S404")
    with pytest.raises(SlackApiError, match="user_not_found"):
        client.users_info(user="U404")


@pytest.mark.parametrize(
    "blocks",
    [
        [{"type": "divider"}] * 51,
        [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
    ],
    ids=["51 blocks", "151-char header"],
)
def test_invalid_blocks_are_refused_and_remembered(
    fake: FakeSlack, client: WebClient, blocks: list[dict[str, Any]]
) -> None:
    with pytest.raises(SlackApiError) as error:
        client.chat_postMessage(channel="C1", text="t", blocks=blocks)
    assert error.value.response["error"] == "invalid_blocks"
    assert error.value.response["errors"]
    assert fake.block_kit_violations[0].startswith("chat.postMessage: blocks")


def test_unfurl_and_home_blocks_are_checked(fake: FakeSlack, client: WebClient) -> None:
    bad = {"https://example.com/a": {"blocks": [image("ftp://x/a.jpg")]}}
    with pytest.raises(SlackApiError, match="invalid_blocks"):
        client.chat_unfurl(channel="C1", ts="1.000100", unfurls=bad)
    client.views_publish(user_id="U1", view={"type": "home", "blocks": [{"type": "divider"}] * 100})
    with pytest.raises(SlackApiError, match="invalid_blocks"):
        client.views_publish(
            user_id="U1", view={"type": "home", "blocks": [{"type": "divider"}] * 101}
        )
    assert [v.split(":")[0] for v in fake.block_kit_violations] == [
        "chat.unfurl https",
        "views.publish",
    ]


def test_custom_handlers_and_handler_bugs(fake: FakeSlack, client: WebClient) -> None:
    fake.handlers["emoji.list"] = lambda fake, args: {"emoji": {"scoop": "https://e/s.png"}}
    assert client.emoji_list()["emoji"] == {"scoop": "https://e/s.png"}
    fake.handlers["chat.postMessage"] = lambda fake, args: {"ts": args["no such arg"]}
    with pytest.raises(SlackApiError, match="fake_slack_bug") as error:
        client.chat_postMessage(channel="C1", text="x")
    assert error.value.response.status_code == 500
    assert "KeyError" in error.value.response["detail"]


def test_fail_next(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("chat.postMessage", "channel_not_found")
    with pytest.raises(SlackApiError, match="channel_not_found"):
        client.chat_postMessage(channel="C1", text="a")
    assert client.chat_postMessage(channel="C1", text="b")["ok"]
    assert [c.ok for c in fake.calls_to("chat.postMessage")] == [False, True]


def test_rate_limit_is_waited_out_by_the_retry_handler(fake: FakeSlack) -> None:
    client = WebClient(token=fake.bot_token, base_url=fake.api_url)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    fake.rate_limit_next("chat.postMessage", retry_after=0)
    assert client.chat_postMessage(channel="C1", text="hi")["ok"]
    [posted] = fake.calls_to("chat.postMessage")
    assert posted.ok
    limited, retried = fake.calls_to("chat.postMessage", all_attempts=True)
    assert (limited.status, limited.response) == (429, {"ok": False, "error": "ratelimited"})
    assert retried is posted


def test_rate_limit_without_retry_handler_raises(fake: FakeSlack, client: WebClient) -> None:
    fake.rate_limit_next("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as error:
        client.chat_postMessage(channel="C1", text="hi")
    assert error.value.response.status_code == 429
    assert error.value.response.headers["Retry-After"] == "7"
    assert fake.calls_to("chat.postMessage") == []


def test_dropped_connection_is_retried(fake: FakeSlack) -> None:
    retry = ConnectionErrorRetryHandler(interval_calculator=FixedValueRetryIntervalCalculator(0))
    client = WebClient(token=fake.bot_token, base_url=fake.api_url, retry_handlers=[retry])
    fake.drop_next("chat.postMessage")
    assert client.chat_postMessage(channel="C1", text="hi")["ok"]
    attempts = fake.calls_to("chat.postMessage", all_attempts=True)
    assert [c.status for c in attempts] == [0, 200]


def test_the_upload_step_fails_as_a_file_server_does(fake: FakeSlack, client: WebClient) -> None:
    ticket = client.files_getUploadURLExternal(filename="a.png", length=3)
    url = ticket["upload_url"]
    fake.fail_next("upload", "bad_upload")
    fake.rate_limit_next("upload", retry_after=7)
    fake.http_error_next("upload", 503)
    fake.drop_next("upload")
    for status in (400, 429, 503):
        with pytest.raises(HTTPError) as answered:
            urlopen(Request(url, data=b"png", method="POST"), timeout=5)
        assert answered.value.code == status
    assert answered.value.headers["Retry-After"] is None
    with pytest.raises((OSError, HTTPException)) as dropped:
        urlopen(Request(url, data=b"png", method="POST"), timeout=5)
    assert not isinstance(dropped.value, HTTPError)
    with urlopen(Request(url, data=b"png", method="POST"), timeout=5) as ok:
        assert ok.status == 200
    with pytest.raises(HTTPError) as unknown:
        urlopen(Request(url.replace(ticket["file_id"], "F0NONE"), data=b"x", method="POST"))
    assert unknown.value.code == 404
    statuses = [c.status for c in fake.calls_to("upload", all_attempts=True)]
    assert statuses == [400, 429, 503, 0, 200, 404]
    assert fake.files[ticket["file_id"]]["bytes"] == b"png"


def test_a_held_call_is_answered_only_when_released(fake: FakeSlack, client: WebClient) -> None:
    held = fake.hold_next("chat.update")
    answers: list[Any] = []
    worker = threading.Thread(
        target=lambda: answers.append(client.chat_update(channel="C1", ts="1.2", text="x"))
    )
    worker.start()
    held.wait_reached()
    assert held.waiting and answers == []
    held.release()
    worker.join(timeout=10)
    assert not held.waiting and answers[0]["ok"]
    assert [c.status for c in fake.calls_to("chat.update", all_attempts=True)] == [200]


def test_response_url_via_webhook_client(fake: FakeSlack) -> None:
    url = fake.response_url()
    response = WebhookClient(url).send(text="done", replace_original=True, blocks=[section("d")])
    assert response.status_code == 200
    [call] = fake.calls_to("response_url")
    assert call.args["_url"] == url.removeprefix(fake.base_url[:-1])
    assert (call.args["text"], call.args["replace_original"]) == ("done", True)
    bad = WebhookClient(fake.response_url()).send(text="x", blocks=[section("")])
    assert json.loads(bad.body)["error"] == "invalid_blocks"
    assert fake.block_kit_violations


def test_wait_for_and_reset(fake: FakeSlack, client: WebClient) -> None:
    client.auth_test()
    assert len(fake.wait_for("auth.test")) == 1
    with pytest.raises(AssertionError, match=r"expected 2 call\(s\) to auth.test"):
        fake.wait_for("auth.test", count=2, timeout=0.05)
    fake.fail_next("auth.test", "fatal_error")
    fake.reset()
    assert fake.calls == []
    assert client.auth_test()["ok"]


# -- signed requests ----------------------------------------------------------------


def test_sign_verifies_with_slack_sdk() -> None:
    body = "token=x&text=ai"
    headers = sign(body, SIGNING_SECRET)
    verifier = SignatureVerifier(SIGNING_SECRET)
    assert verifier.is_valid_request(body, headers)
    assert not SignatureVerifier("other").is_valid_request(body, headers)
    stale = sign(body, SIGNING_SECRET, timestamp=int(time.time()) - 301)
    assert not verifier.is_valid_request(body, stale)
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert sign("{}", SIGNING_SECRET)["Content-Type"] == "application/json"


def test_slash_command_is_form_encoded_like_slack() -> None:
    request = slash_command("ai heat>=50", response_url="https://hooks.example/1", retry_num=1)
    fields = {k: v[0] for k, v in parse_qs(request.body).items()}
    assert list(fields) == [
        "token", "team_id", "team_domain", "channel_id", "channel_name", "user_id", "user_name",
        "command", "text", "api_app_id", "is_enterprise_install", "response_url", "trigger_id",
    ]  # fmt: skip
    assert (fields["command"], fields["text"]) == ("/news", "ai heat>=50")
    assert "%2Fnews" in request.body
    assert request.headers["X-Slack-Retry-Num"] == "1"
    assert request.headers["X-Slack-Retry-Reason"] == "http_timeout"
    assert slash_command("x").payload["trigger_id"] != slash_command("x").payload["trigger_id"]


def test_block_action_takes_the_clicked_element_from_the_message() -> None:
    blocks = [section("A", block_id="a1"), GOOD_BLOCKS[3]]
    request = block_action("reject", message_blocks=blocks)
    payload = json.loads(parse_qs(request.body)["payload"][0])
    assert payload == request.payload
    [action] = payload["actions"]
    assert (action["block_id"], action["text"]["text"], action["style"]) == (
        "a1-actions",
        "Reject",
        "danger",
    )
    assert payload["message"]["blocks"] == blocks
    assert payload["container"]["is_ephemeral"] is False

    ephemeral = block_action("publish", "u", ephemeral=True).payload
    assert "message" not in ephemeral and ephemeral["container"]["is_ephemeral"] is True
    home = block_action("publish", "u", container_type="view").payload
    assert home["container"]["type"] == "view"
    assert "response_url" not in home and "channel" not in home


# -- the real Bolt App, driven by signed requests ---------------------------------


@pytest.fixture
def app(fake: FakeSlack) -> App:
    app = App(
        signing_secret=SIGNING_SECRET,
        client=WebClient(token=fake.bot_token, base_url=fake.api_url),
        process_before_response=True,
        token_verification_enabled=False,
    )

    @app.command("/news")
    def news(ack: Any, respond: Any, command: dict[str, Any]) -> None:
        ack()
        respond(f"searching {command['text']}")

    @app.action("publish")
    def publish(ack: Any, respond: Any, body: dict[str, Any]) -> None:
        ack()
        respond(replace_original=True, text=f"Published by <@{body['user']['id']}>")

    @app.event("link_shared")
    def unfurl(event: dict[str, Any], client: WebClient) -> None:
        unfurls = {link["url"]: {"blocks": [section("card")]} for link in event["links"]}
        client.chat_unfurl(source=event["source"], unfurl_id=event["unfurl_id"], unfurls=unfurls)

    @app.event("app_home_opened")
    def home(event: dict[str, Any], client: WebClient) -> None:
        client.views_publish(user_id=event["user"], view={"type": "home", "blocks": [section("h")]})

    return app


def test_bolt_dispatches_a_signed_slash_command(fake: FakeSlack, app: App) -> None:
    response: BoltResponse = app.dispatch(
        slash_command("ai", response_url=fake.response_url()).bolt_request()
    )
    assert response.status == 200
    [call] = fake.calls_to("response_url")
    assert call.args["text"] == "searching ai"
    assert len(fake.calls_to("auth.test")) == 1


@pytest.mark.parametrize(
    "request_kwargs",
    [{"secret": "wrong-secret"}, {"timestamp": int(time.time()) - 600}],
    ids=["wrong secret", "stale timestamp"],
)
def test_bolt_refuses_bad_signatures(
    fake: FakeSlack, app: App, request_kwargs: dict[str, Any]
) -> None:
    request = slash_command("ai", response_url=fake.response_url(), **request_kwargs)
    assert app.dispatch(request.bolt_request()).status == 401
    assert fake.calls == []


def test_bolt_dispatches_block_actions_and_events(fake: FakeSlack, app: App) -> None:
    click = block_action("publish", "https://example.com/a", response_url=fake.response_url())
    assert app.dispatch(click.bolt_request()).status == 200
    assert fake.calls_to("response_url")[0].args["text"] == "Published by <@U111>"

    shared = link_shared(["https://www.example.com/a"], retry_num=1)
    assert shared.payload["event"]["links"][0]["domain"] == "example.com"
    assert app.dispatch(shared.bolt_request()).status == 200
    [unfurl] = fake.calls_to("chat.unfurl")
    assert unfurl.args["unfurl_id"] == shared.payload["event"]["unfurl_id"]

    assert app.dispatch(app_home_opened("U111").bolt_request()).status == 200
    assert fake.calls_to("views.publish")[0].args["user_id"] == "U111"
    assert fake.block_kit_violations == []


def test_bolt_answers_url_verification(app: App) -> None:
    response = app.dispatch(url_verification("chal-123").bolt_request())
    assert (response.status, json.loads(response.body)) == (200, {"challenge": "chal-123"})


def test_socket_mode_request_skips_signing(fake: FakeSlack, app: App) -> None:
    request = slash_command("ai", response_url=fake.response_url(), secret="ignored")
    assert app.dispatch(request.socket_mode_request()).status == 200
    assert fake.calls_to("response_url")[0].args["text"] == "searching ai"


def test_post_sends_over_http(fake: FakeSlack) -> None:
    status, _ = slash_command("ai").post(fake.base_url + "slack/events")
    assert status == 404
    status, body = slash_command("ai").post(fake.response_url())
    assert (status, json.loads(body)["error"]) == (200, "invalid_payload")


def test_event_callback_envelope() -> None:
    request = event_callback({"type": "app_mention", "channel": "C1"}, event_id="Ev1")
    payload = json.loads(request.body)
    assert payload["event_id"] == "Ev1" and payload["type"] == "event_callback"
    assert payload["authorizations"][0]["user_id"] == "UBOT"
    assert request.content_type == "application/json"
