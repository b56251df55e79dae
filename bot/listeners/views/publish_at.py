"""The "Publish at…" modal, submitted: refused inline, or scheduled after the ack."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.deps import Deps
from bot.flows import schedule
from bot.render import actions

_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)

BROKEN = "This form is broken: close it and click Publish at… on the card again."


def _chosen(view: dict) -> datetime | None:
    values = (view.get("state") or {}).get("values") or {}
    picked = (values.get(actions.PUBLISH_AT_BLOCK) or {}).get(actions.PUBLISH_AT_ELEMENT) or {}
    seconds = picked.get("selected_date_time")
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        # Beyond the calendar: still a time, past or too far ahead, and refused as one.
        return _EARLIEST if seconds < 0 else _LATEST


def handler(deps: Deps) -> Callable[..., None]:
    def submit(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        # The inline error has to be the ack itself, so this one checks (reads only) first.
        meta = actions.parse_value(view.get("private_metadata") or "")
        article_id = actions.value_int(meta, "a", default=-1)
        if article_id < 0:
            ack(response_action="errors", errors={actions.PUBLISH_AT_BLOCK: BROKEN})
            return
        user = body["user"]
        submission = schedule.Submission(
            article_id=article_id,
            fingerprint=actions.value_str(meta, "f"),
            due_at=_chosen(view),
            user_id=user["id"],
            user_name=user.get("name") or user.get("username") or user["id"],
            place=schedule.Place(
                channel_id=actions.value_str(meta, "c"),
                message_ts=actions.value_str(meta, "t"),
                response_url=actions.value_str(meta, "r"),
            ),
        )
        refused = schedule.refusal(deps, submission)
        if refused is not None:
            ack(response_action="errors", errors={actions.PUBLISH_AT_BLOCK: refused})
            return
        ack()
        schedule.record(deps, client, submission)

    return submit
