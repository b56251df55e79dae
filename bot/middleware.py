"""Global middleware: a request Slack sends again is acknowledged and not acted on twice."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse
from sqlalchemy.exc import SQLAlchemyError

from storage.db import Database
from storage.tracking import claim_request

log = logging.getLogger(__name__)


def request_key(body: dict[str, Any]) -> str | None:
    """The id Slack keeps across retries of a request that changes something.

    Events (an unfurl) and button clicks (a share, a decision) are claimed.
    Slash commands only answer the caller, so a repeated one just answers
    again; not claiming them keeps a database write off every search.
    """
    if body.get("event_id"):
        return f"event:{body['event_id']}"
    if body.get("type") == "block_actions" and body.get("actions"):
        action = body["actions"][0]
        return (
            f"action:{body.get('trigger_id')}:{action.get('action_id')}:{action.get('action_ts')}"
        )
    return None


def skip_retries(db: Database) -> Callable[..., BoltResponse | None]:
    def middleware(
        request: BoltRequest, body: dict[str, Any], next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        key = request_key(body)
        if key is not None:
            try:
                with db.WriteSession.begin() as session:
                    first = claim_request(session, key)
            except SQLAlchemyError as exc:
                # The listener will meet the same database and tell the user;
                # refusing here would only turn that into Slack's bare error.
                log.warning("cannot record request %s: %s", key, type(exc).__name__)
                first = True
            if not first:
                # Already acted on: answer 200 so Slack stops retrying.
                return BoltResponse(status=200, body="")
        return next()

    return middleware
