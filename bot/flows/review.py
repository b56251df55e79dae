"""Publish, Reject and Unpublish: the decision, its git commit, every card that shows it;
and the queue of drafts waiting for one."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from slack_sdk import WebClient

from bot import render
from bot.deps import Deps
from bot.flows.cards import refresh_cards
from bot.flows.follows import decision_taken
from bot.flows.gitsync import commit_decision, owing_clone, pull_for
from storage.decisions import decide, review_queue, schedulers
from storage.editorial import approver_ids
from storage.types import Outcome

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Click:
    """A reviewer's click, as the listener read it from the payload."""

    action: str
    article_id: int
    fingerprint: str | None
    user_id: str
    user_name: str
    channel_id: str | None
    message_ts: str | None
    # A scheduled publication being run on behalf of the reviewer who scheduled it.
    schedule_id: int | None = None


def apply(deps: Deps, client: WebClient, click: Click) -> tuple[Outcome, set[tuple[str, str]]]:
    """Decide (exactly once), then commit to git and update every posted card of the article.

    Slack is called only after the decision is committed. Returns the outcome
    and the (channel, ts) of the posted messages that show the article, which
    are edited with chat.update.
    """
    outcome = _decide(deps, click)
    if outcome.status == "stale" and pull_for(deps, client, outcome, click.fingerprint):
        # This replica's clone was behind the card: it has the card's version now.
        outcome = _decide(deps, click)
    if outcome.status == "approved" and outcome.article is not None:
        # A first approval of an article that needs two: every card says so.
        return outcome, refresh_cards(deps, client, outcome.article.id)
    if outcome.status != "done":
        return outcome, set()
    assert outcome.article is not None
    log.info(
        "%s: %s by %s (%s)", click.action, outcome.article.web_url, click.user_name, click.user_id
    )
    if deps.settings.git_commit and outcome.path is not None:
        outcome = commit_decision(
            deps,
            client,
            action=click.action,
            trailers=trailers(deps, click, outcome),
            outcome=outcome,
        )
    assert outcome.article is not None
    if outcome.status == "done":  # not undone upstream: a `published` follow posts it
        decision_taken(deps.db, outcome.article.id, click.action)
    return outcome, refresh_cards(deps, client, outcome.article.id)


def _decide(deps: Deps, click: Click) -> Outcome:
    return decide(
        deps.db.WriteSession,
        article_id=click.article_id,
        action=click.action,
        fingerprint=click.fingerprint,
        reviewer_id=click.user_id,
        reviewer_name=click.user_name,
        root=deps.settings.articles_dir,
        channel_id=click.channel_id,
        message_ts=click.message_ts,
        two_reviewers=deps.settings.two_reviewers,
        schedule_id=click.schedule_id,
        revoked=_revoked(deps, click),
        owe_commit_in=owing_clone(deps.settings),
    )


def _revoked(deps: Deps, click: Click) -> frozenset[str]:
    """Who approved the article and is no longer a reviewer: their approvals do not count.

    Asked before the decision's transaction, since a user group may take a Slack call."""
    if click.action != "publish" or not deps.settings.two_reviewers:
        return frozenset()
    with deps.db.Session() as session:
        ids = approver_ids(session, click.article_id)
    return frozenset(i for i in ids if deps.reviewers.membership(i) is False)


def trailers(deps: Deps, click: Click, outcome: Outcome) -> list[tuple[str, str]]:
    """The commit's trailers: `Approved-by` for each approver (two when two were needed),
    and `Scheduled-by` when the decision ran or fulfilled a scheduled publication."""
    approvers = outcome.approvers or ((click.user_id, click.user_name),)
    found = [("Approved-by", f"{name} <{user}>") for user, name in approvers]
    if outcome.decision_id is not None:
        with deps.db.Session() as session:
            scheduled = schedulers(session, [outcome.decision_id]).get(outcome.decision_id)
        if scheduled is not None:
            user, name = scheduled
            found.append(("Scheduled-by", f"{name} <{user}>"))
    return found


def review_page(deps: Deps, *, offset: int) -> render.Message:
    """A page of the drafts waiting for review, hottest first."""
    size = render.REVIEW_PAGE_SIZE
    with deps.db.Session() as session:
        drafts, has_more = review_queue(session, offset=offset, limit=size)
    return render.review_queue_message(
        drafts,
        now=datetime.now(UTC),
        offset=offset,
        has_more=has_more,
        tz=deps.settings.timezone,
        page_size=size,
    )
