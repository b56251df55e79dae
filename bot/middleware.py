"""A request Slack sends again is acknowledged and not acted on twice.

Nothing here may wait for the database before the ack: global middleware runs
before the listener, so a write here (on SQLite, behind an index batch) would
hold back every acknowledgement. The middleware answers retries of requests
this process already took in, from memory; listeners that change something
call `first_delivery` after `ack()`, which the database decides across
processes and replicas.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse
from sqlalchemy.exc import SQLAlchemyError

from storage.db import Database
from storage.tracking import claim_request

log = logging.getLogger(__name__)

# Keys kept in memory: Slack retries within minutes, three times at most.
_REMEMBERED = 10_000


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
    """Middleware: a Slack retry of a request this process has taken in gets 200 at once.

    `db` is not used before the ack; the durable check is `first_delivery`.
    """
    seen: OrderedDict[str, None] = OrderedDict()
    lock = threading.Lock()

    def middleware(
        request: BoltRequest, body: dict[str, Any], next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        key = request_key(body)
        if key is not None:
            with lock:
                again = key in seen
                seen[key] = None
                if len(seen) > _REMEMBERED:
                    seen.popitem(last=False)
            if again and request.headers.get("x-slack-retry-num"):
                return BoltResponse(status=200, body="")
        return next()

    return middleware


def first_delivery(db: Database, body: dict[str, Any]) -> bool:
    """True unless this request was acted on already (a retry); call it after `ack()`.

    When the database cannot say, the request is taken as new: the listener
    meets the same database next and tells the user.
    """
    key = request_key(body)
    if key is None:
        return True
    try:
        with db.WriteSession.begin() as session:
            return claim_request(session, key)
    except SQLAlchemyError as exc:
        log.warning("cannot record request %s: %s", key, type(exc).__name__)
        return True
