"""Scheduled publication: "Publish at…" (its modal and the submission), Cancel,
`/news scheduled`, and the job that publishes what is due, exactly once.

The job claims each due publication with a conditional UPDATE before running
it, and runs it through the same decision as a Publish click (`flows.review.apply`:
the file, the fingerprint check, the audit record, the git commit, every card),
on behalf of whoever scheduled it. No database transaction is open across a
Slack call.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot import render
from bot.deps import Deps
from bot.flows.cards import CALL_FAILED, never_sent, post_cards, refresh_cards
from bot.flows.home import publish_home
from bot.flows.review import Click, apply
from bot.localtime import next_full_hour
from bot.render.replies import DecisionReply
from bot.render.schedule import SCHEDULED_LISTED
from bot.settings import Settings
from storage.db import Database
from storage.decision_state import writer_gone, writer_id
from storage.editorial import (
    MAX_AHEAD,
    cancel_schedule,
    check_schedule,
    claim_notice,
    claim_schedule,
    due_schedules,
    finish_notice,
    notices_due,
    schedule_publication,
    scheduled,
    settle_schedule,
)
from storage.models import Article
from storage.tracking import article_versions, record_message
from storage.types import Notice, Outcome, Scheduling
from storage.views import views_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Place:
    """Where the card that was clicked is: a channel message, or App Home (no channel)."""

    channel_id: str | None = None
    message_ts: str | None = None
    response_url: str | None = None


@dataclass(frozen=True)
class Submission:
    """A "Publish at…" modal, submitted, as the listener read it."""

    article_id: int
    fingerprint: str | None
    due_at: datetime | None  # None when no time was chosen
    user_id: str
    user_name: str
    place: Place


# --- the modal -------------------------------------------------------------------------------


def open_modal(
    deps: Deps,
    client: WebClient,
    *,
    trigger_id: str,
    article_id: int,
    fingerprint: str | None,
    place: Place,
    now: datetime | None = None,
) -> DecisionReply | None:
    """Open the "Publish at…" modal, set to the next full hour in NEWSBOT_TIMEZONE.

    Returns what to tell the reviewer instead when the article cannot be
    scheduled (it changed, it is no draft, it is scheduled already, it is gone).
    """
    tz = deps.settings.timezone
    initial = next_full_hour(now or datetime.now(UTC), tz)
    with deps.db.Session() as session:
        refused = check_schedule(
            session, article_id=article_id, fingerprint=fingerprint, due_at=None, now=initial
        )
        article = session.get(Article, article_id)
        view = views_of(session, [article])[0] if article is not None else None
    if refused is not None or view is None:
        result = refused or Scheduling("missing", None)
        card = (
            render.article_card(result.article, tz=tz, review=True, reviewer=True)
            if result.article is not None
            else None
        )
        latest = initial + MAX_AHEAD
        return DecisionReply(card, render.scheduled_reply(result, tz=tz, latest=latest))
    metadata = render.actions.publish_at_metadata(
        article_id,
        view.fingerprint,
        channel=place.channel_id,
        message_ts=place.message_ts,
        response_url=place.response_url,
    )
    modal = render.publish_at_modal(view, initial=initial, tz=tz, metadata=metadata)
    try:
        client.views_open(trigger_id=trigger_id, view=modal)
    except SlackApiError as exc:
        if exc.response.get("error") != "expired_trigger_id":
            raise
        line = "That took Slack too long to open: click Publish at… again."
        return DecisionReply(None, render.ephemeral_text(line))
    return None


def refusal(deps: Deps, submission: Submission, *, now: datetime | None = None) -> str | None:
    """The inline error for a "Publish at…" submission that cannot be scheduled; None if
    it can. Reads only: `record` decides under the article lock."""
    now = now or datetime.now(UTC)
    tz, latest = deps.settings.timezone, now + MAX_AHEAD
    if not deps.reviewers.is_reviewer(submission.user_id):
        return render.publish_at_error("not-reviewer", tz=tz, latest=latest)
    if submission.due_at is None:
        return render.publish_at_error("no-time", tz=tz, latest=latest)
    with deps.db.Session() as session:
        refused = check_schedule(
            session,
            article_id=submission.article_id,
            fingerprint=submission.fingerprint,
            due_at=submission.due_at,
            now=now,
        )
    return None if refused is None else render.publish_at_error(refused, tz=tz, latest=latest)


def record(
    deps: Deps, client: WebClient, submission: Submission, *, now: datetime | None = None
) -> Scheduling:
    """Schedule it (checked again under the article lock), update every card of the article,
    and tell the reviewer where they clicked."""
    assert submission.due_at is not None
    now = now or datetime.now(UTC)
    with deps.db.WriteSession.begin() as session:
        result = schedule_publication(
            session,
            article_id=submission.article_id,
            fingerprint=submission.fingerprint,
            due_at=submission.due_at,
            reviewer=(submission.user_id, submission.user_name),
            channel_id=submission.place.channel_id,
            message_ts=submission.place.message_ts,
            rule=deps.settings.two_reviewers,
            now=now,
        )
    if result.status == "scheduled":
        log.info(
            "scheduled: article %d for %s by %s (%s)",
            submission.article_id,
            submission.due_at.isoformat(),
            submission.user_name,
            submission.user_id,
        )
    updated: set[tuple[str, str]] = set()
    if result.status == "scheduled":
        updated = refresh_cards(deps, client, submission.article_id)
    tz = deps.settings.timezone
    reply = render.scheduled_reply(result, tz=tz, latest=now + MAX_AHEAD)
    _tell(deps, client, submission.user_id, submission.place, reply, result, updated)
    return result


def _tell(
    deps: Deps,
    client: WebClient,
    user: str,
    place: Place,
    reply: render.Message,
    result: Scheduling,
    updated: set[tuple[str, str]],
) -> None:
    """Answer where the modal was opened from: on App Home, the tab again; else through the
    clicked message's response_url, with the fresh card unless that message was edited."""
    if place.channel_id is None:
        publish_home(deps, client, user, notice=reply.text)
        return
    if not place.response_url:
        return
    blocks = list(reply.blocks)
    if result.article is not None and (place.channel_id, place.message_ts) not in updated:
        tz = deps.settings.timezone
        blocks += render.article_card(result.article, tz=tz, review=True, reviewer=True)
    response = WebhookClient(place.response_url).send(
        text=reply.text, blocks=blocks, response_type="ephemeral", replace_original=False
    )
    if response.status_code != 200:
        log.warning("could not answer through the response_url: HTTP %d", response.status_code)


# --- Cancel and the list ------------------------------------------------------------------


def cancel(
    deps: Deps,
    client: WebClient,
    *,
    article_id: int,
    schedule_id: int,
    user_id: str,
    user_name: str,
    place: Place,
) -> tuple[Scheduling, set[tuple[str, str]]]:
    """Cancel a scheduled publication; update every card of the article.

    Returns what happened and the (channel, ts) of the posted messages edited.
    """
    with deps.db.WriteSession.begin() as session:
        result = cancel_schedule(
            session,
            article_id=article_id,
            schedule_id=schedule_id,
            reviewer=(user_id, user_name),
            channel_id=place.channel_id,
            message_ts=place.message_ts,
            now=datetime.now(UTC),
        )
    if result.status != "cancelled":
        return result, set()
    log.info("cancelled: scheduled publication %d by %s (%s)", schedule_id, user_name, user_id)
    return result, refresh_cards(deps, client, article_id)


def scheduled_page(deps: Deps, *, user: str) -> render.Message:
    """`/news scheduled`: the publications still to come, soonest first, for reviewers."""
    if not deps.reviewers.is_reviewer(user):
        return render.ephemeral_text("Only reviewers can see scheduled publications.")
    with deps.db.Session() as session:
        articles, total = scheduled(session, limit=SCHEDULED_LISTED)
    return render.scheduled_message(articles, total=total)


# --- the job ----------------------------------------------------------------------------------

#: What a scheduled publication that did not happen says, by the decision's outcome.
_FAILED = {
    "stale": ("the file changed after it was scheduled", "file changed"),
    "missing": ("the article file is gone from the articles folder", "file gone"),
}


def run_due(
    settings: Settings,
    db: Database,
    client: WebClient,
    *,
    now: datetime | None = None,
    at_start: bool = False,
) -> list[tuple[int, str]]:
    """Publish what is due, each exactly once; then tell whoever scheduled one that failed.

    Returns (schedule id, outcome) for each publication this call ran. A
    publication whose runner died (at start: any of this host's) is run again:
    the decision it runs is exactly-once itself, so it is never published twice.
    """
    now = now or datetime.now(UTC)
    deps = Deps.of(settings, db, client)
    holder = writer_id()
    ran: list[tuple[int, str]] = []
    with db.Session() as session:
        dues = due_schedules(session, now=now)
    for due in dues:
        if due.status == "running" and not writer_gone(
            due.claimed_by, due.claimed_at or now, now=now, at_start=at_start
        ):
            continue
        with db.WriteSession.begin() as session:
            if not claim_schedule(session, due, holder, now=now):
                continue
        member = deps.reviewers.membership(due.by[0])
        if member is not True:
            # Removed from NEWSBOT_REVIEWERS since: nothing goes out in their name. Unknown
            # (a user group Slack could not list) is not removed: the next run asks again.
            why = f"{due.by[1]} is no longer a reviewer"
            status = "failed" if member is False else "pending"
            _end(deps, client, due.id, due.article_id, holder, status, why, "not a reviewer", now)
            ran.append((due.id, "not-reviewer" if member is False else "unknown-reviewer"))
            continue
        click = Click(
            action="publish",
            article_id=due.article_id,
            fingerprint=due.fingerprint,
            user_id=due.by[0],
            user_name=due.by[1],
            channel_id=due.channel_id,
            message_ts=due.message_ts,
            schedule_id=due.id,
        )
        outcome, _updated = apply(deps, client, click)
        ran.append((due.id, outcome.status))
        _settle(deps, client, due.id, due.article_id, holder, outcome, now=now)
    tell_schedulers(deps, client, now=now)
    return ran


def _settle(
    deps: Deps,
    client: WebClient,
    schedule_id: int,
    article_id: int,
    holder: str,
    outcome: Outcome,
    *,
    now: datetime,
) -> None:
    status, reason, code = "failed", None, None
    if outcome.status == "done":
        log.info("published as scheduled: article %d (schedule %d)", article_id, schedule_id)
        return
    if outcome.status == "cancelled":
        return  # a Reject, an Unpublish or a Publish ended it meanwhile
    if outcome.status == "waiting":
        status = "waiting"
    elif outcome.status in _FAILED:
        reason, code = _FAILED[outcome.status]
    elif outcome.status == "failed":
        reason, code = f"the file could not be written: {outcome.problem}", "write failed"
    elif outcome.status == "already" and outcome.state not in ("draft", None):
        # Unless that state is a decision still being written (then it goes back to pending).
        reason, code = f"it was {outcome.state} already", f"{outcome.state} already"
    else:
        status = "pending"  # another decision is being written: the next run tries again
    _end(deps, client, schedule_id, article_id, holder, status, reason, code, now)


def _end(
    deps: Deps,
    client: WebClient,
    schedule_id: int,
    article_id: int,
    holder: str,
    status: str,
    reason: str | None,
    code: str | None,
    now: datetime,
) -> None:
    """Settle a run that published nothing; a failure shows on the cards (and in the audit)."""
    with deps.db.WriteSession.begin() as session:
        settled = settle_schedule(
            session, schedule_id, holder, status=status, reason=reason, code=code, now=now
        )
    if not settled:
        return
    if status == "failed":
        log.warning("scheduled publication %d not made: %s", schedule_id, reason)
    if status != "pending":
        refresh_cards(deps, client, article_id)


def tell_schedulers(deps: Deps, client: WebClient, *, now: datetime) -> None:
    """Tell each reviewer whose scheduled publication failed, once: in the review channel
    (else the channel of the card they scheduled it from, else their App Home), with the
    article's card as it is now."""
    holder = writer_id()
    with deps.db.Session() as session:
        notices = notices_due(session)
    for notice in notices:
        with deps.db.WriteSession.begin() as session:
            if not claim_notice(session, notice.id, holder, now=now):
                continue
        told = _tell_one(deps, client, notice)
        with deps.db.WriteSession.begin() as session:
            finish_notice(session, notice.id, holder, sent=told)


def _tell_one(deps: Deps, client: WebClient, notice: Notice) -> bool:
    """Post the news of one failure; whether it is out (or may be: never twice)."""
    tz = deps.settings.timezone
    with deps.db.Session() as session:
        versions = article_versions(session, [notice.article_id])
        article = session.get(Article, notice.article_id)
        view = views_of(session, [article])[0] if article is not None else None
    message = render.failure_notice(view, notice, tz=tz)
    places = [c for c in (deps.settings.review_channel, notice.channel_id) if c]
    for channel in dict.fromkeys(places):
        try:
            posted = post_cards(client, channel, message)
        except SlackApiError as exc:
            log.warning("could not tell %s in %s: %s", notice.by[0], channel, _error(exc))
            continue  # refused, so nothing was posted: the next place
        except CALL_FAILED as exc:
            # Not reached: the next run tries again. Sent and then lost: it may be
            # posted, and at most once beats twice.
            return not never_sent(exc)
        with deps.db.WriteSession.begin() as session:
            record_message(
                session,
                channel=posted["channel"],
                message_ts=posted["ts"],
                kind="schedule-notice",
                text=message.text,
                blocks=message.blocks,
                shown=versions,
            )
        return True
    try:
        publish_home(deps, client, notice.by[0], notice=message.text)
    except CALL_FAILED as exc:
        log.warning("could not tell %s on App Home either: %s", notice.by[0], _error(exc))
        return not never_sent(exc)
    return True


def _error(exc: BaseException) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error", "error"))
    return type(exc).__name__
