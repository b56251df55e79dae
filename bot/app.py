"""Builds the Bolt app. Nothing here reads the environment: settings come in."""

from __future__ import annotations

import logging
from concurrent.futures import Executor
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse
from slack_bolt.error import BoltUnhandledRequestError
from slack_sdk import WebClient
from slack_sdk.http_retry import HttpRequest, HttpResponse, RetryHandler, RetryState
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot import listeners
from bot.deps import Deps
from bot.inbound import AUTHENTIC, authenticate, loggable
from bot.middleware import skip_retries
from bot.render import ephemeral_text
from bot.settings import Settings
from storage.db import Database

log = logging.getLogger(__name__)

SORRY = "Sorry, something went wrong on our side. Please try again in a minute."

#: A 429 is waited out only when its Retry-After asks for this many seconds or less.
LONGEST_WAIT = 30


class CappedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """Waits out a 429 as the SDK's handler does, unless Retry-After asks for more than
    `longest_wait` seconds (or says something else than seconds): then the 429 is raised.

    An uncapped wait held a report's or digest's claim for hours and kept SIGTERM
    waiting; given up, the caller hands its claim back and tries again later.
    """

    def __init__(self, max_retry_count: int = 5, longest_wait: float = LONGEST_WAIT) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.longest_wait = longest_wait

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        assert response is not None
        said = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), None)
        if said is None:
            return True  # the SDK waits about a second
        try:
            return 0 <= int(said[0] if isinstance(said, list) else said) <= self.longest_wait
        except (TypeError, ValueError, IndexError):
            return False


def make_client(settings: Settings, *, retry_connections: bool = True) -> WebClient:
    """A WebClient for SLACK_API_URL that waits out 429s and retries dropped connections.

    A 429 means Slack did not act, so retrying is always safe; one that asks to
    wait more than LONGEST_WAIT seconds is raised at once instead. A dropped
    connection may have been acted on: callers that must never post twice
    (the digest) pass `retry_connections=False`.
    """
    handlers: list[RetryHandler] = [CappedRateLimitRetryHandler(max_retry_count=5)]
    if retry_connections:
        handlers += [
            ConnectionErrorRetryHandler(max_retry_count=2),
            ServerErrorRetryHandler(max_retry_count=2),
        ]
    return WebClient(
        token=settings.bot_token, base_url=settings.api_url, timeout=15, retry_handlers=handlers
    )


class NewsbotApp(App):
    """Bolt's App, verifying requests with our own check, which also tells the
    HTTP server how to refuse a request before Bolt parses it."""

    def __init__(self, *, signing_secret: str | None, **kwargs: Any) -> None:
        super().__init__(
            signing_secret=signing_secret,
            # Bolt's own check raises on a malformed timestamp or signature and
            # logs the whole body of every request it refuses.
            request_verification_enabled=False,
            before_authorize=authenticate(signing_secret),
            # Bolt's own warning for a request no listener takes is several lines
            # with values from the body; `on_error` logs one line instead.
            raise_error_for_unhandled_request=True,
            **kwargs,
        )
        self.signing_secret = signing_secret


def create_app(
    settings: Settings,
    db: Database,
    *,
    client: WebClient | None = None,
    process_before_response: bool = False,
    listener_executor: Executor | None = None,
    token_verification_enabled: bool = True,
) -> NewsbotApp:
    """The Slack app with every listener registered.

    `process_before_response=True` (tests, FaaS) runs listeners before the HTTP
    response; the default acks first and works on a thread pool, as Slack's
    3-second limit wants.
    """
    client = client or make_client(settings)
    app = NewsbotApp(
        client=client,
        signing_secret=settings.signing_secret,
        process_before_response=process_before_response,
        listener_executor=listener_executor,
        token_verification_enabled=token_verification_enabled,
    )
    deps = Deps.of(settings, db, client)
    app.use(skip_retries(db))
    listeners.register(app, deps)

    @app.error
    def on_error(
        error: Exception, body: dict, context: BoltContext, respond, logger: logging.Logger
    ) -> BoltResponse | None:
        if isinstance(error, BoltUnhandledRequestError):
            logger.warning("no listener for this request: 404 (%s)", _describe(body))
            return BoltResponse(status=404, body="")
        if context.get(AUTHENTIC) is not True:
            # It failed before the request was known to be Slack's: its body, and
            # the response_url in it, may be anyone's. Nothing is sent anywhere.
            logger.error("request failed before it was authenticated: %s", type(error).__name__)
            return None
        logger.exception("listener failed (%s)", _describe(body), exc_info=error)
        if isinstance(body.get("response_url"), str):
            message = ephemeral_text(SORRY)
            respond(
                text=message.text,
                blocks=message.blocks,
                response_type="ephemeral",
                replace_original=False,
            )
        return None

    return app


def _describe(body: dict) -> str:
    """Which request failed, for the log: its kind and ids, never its tokens."""
    event = _dict(body.get("event"))
    actions = body.get("actions")
    action = _dict(actions[0]) if isinstance(actions, list) and actions else {}
    user = body.get("user_id") or _dict(body.get("user")).get("id") or event.get("user")
    parts = [
        body.get("type") or ("command" if "command" in body else "request"),
        body.get("command"),
        event.get("type"),
        action.get("action_id"),
        f"user {user}" if user else None,
    ]
    return loggable(" ".join(str(p) for p in parts if p))


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}
