"""Builds the Bolt app. Nothing here reads the environment: settings come in."""

from __future__ import annotations

import logging
from concurrent.futures import Executor

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot import listeners
from bot.deps import Deps
from bot.middleware import skip_retries
from bot.render import ephemeral_text
from bot.reviewers import ReviewerDirectory
from bot.settings import Settings
from storage.db import Database

log = logging.getLogger(__name__)

SORRY = "Sorry, something went wrong on our side. Please try again in a minute."


def make_client(settings: Settings, *, retry_connections: bool = True) -> WebClient:
    """A WebClient for SLACK_API_URL that waits out 429s and retries dropped connections.

    A 429 means Slack did not act, so retrying is always safe. A dropped
    connection may have been acted on: callers that must never post twice
    (the digest) pass `retry_connections=False`.
    """
    handlers: list[RetryHandler] = [RateLimitErrorRetryHandler(max_retry_count=5)]
    if retry_connections:
        handlers += [
            ConnectionErrorRetryHandler(max_retry_count=2),
            ServerErrorRetryHandler(max_retry_count=2),
        ]
    return WebClient(
        token=settings.bot_token, base_url=settings.api_url, timeout=15, retry_handlers=handlers
    )


def create_app(
    settings: Settings,
    db: Database,
    *,
    client: WebClient | None = None,
    process_before_response: bool = False,
    listener_executor: Executor | None = None,
    token_verification_enabled: bool = True,
) -> App:
    """The Slack app with every listener registered.

    `process_before_response=True` (tests, FaaS) runs listeners before the HTTP
    response; the default acks first and works on a thread pool, as Slack's
    3-second limit wants.
    """
    client = client or make_client(settings)
    app = App(
        client=client,
        signing_secret=settings.signing_secret,
        process_before_response=process_before_response,
        listener_executor=listener_executor,
        token_verification_enabled=token_verification_enabled,
    )
    deps = Deps(settings, db, ReviewerDirectory(settings.reviewers, client))
    app.use(skip_retries(db))
    listeners.register(app, deps)

    @app.error
    def on_error(error: Exception, body: dict, respond, logger: logging.Logger) -> None:
        logger.exception("listener failed (%s)", _describe(body), exc_info=error)
        if body.get("response_url"):
            message = ephemeral_text(SORRY)
            respond(
                text=message.text,
                blocks=message.blocks,
                response_type="ephemeral",
                replace_original=False,
            )

    return app


def _describe(body: dict) -> str:
    """Which request failed, for the log: its kind and ids, never its tokens."""
    kind = body.get("type") or ("command" if "command" in body else "request")
    parts = [str(kind), str(body.get("command") or "")]
    event = body.get("event") or {}
    parts.append(str(event.get("type") or ""))
    actions = body.get("actions") or [{}]
    parts.append(str(actions[0].get("action_id") or ""))
    user = body.get("user_id") or (body.get("user") or {}).get("id") or event.get("user")
    parts.append(f"user {user}" if user else "")
    return " ".join(p for p in parts if p)
