"""Publish, Reject and Unpublish: the decision, its git commit, every card that shows it;
and the queue of drafts waiting for one."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from slack_sdk import WebClient

from bot import render
from bot.deps import Deps
from bot.flows.cards import refresh_cards
from bot.flows.follows import decision_taken
from storage.decisions import decide, review_queue
from storage.gitcommit import GitCommitError, commit_file, is_git_work_tree
from storage.types import ArticleView, Outcome

log = logging.getLogger(__name__)

VERBS = {"publish": "Publish", "unpublish": "Unpublish", "reject": "Reject"}


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


def apply(deps: Deps, client: WebClient, click: Click) -> tuple[Outcome, set[tuple[str, str]]]:
    """Decide (exactly once), then commit to git and update every posted card of the article.

    Slack is called only after the decision is committed. Returns the outcome
    and the (channel, ts) of the posted messages that show the article, which
    are edited with chat.update.
    """
    settings = deps.settings
    outcome = decide(
        deps.db.WriteSession,
        article_id=click.article_id,
        action=click.action,
        fingerprint=click.fingerprint,
        reviewer_id=click.user_id,
        reviewer_name=click.user_name,
        root=settings.articles_dir,
        channel_id=click.channel_id,
        message_ts=click.message_ts,
    )
    if outcome.status != "done":
        return outcome, set()
    assert outcome.article is not None
    log.info(
        "%s: %s by %s (%s)", click.action, outcome.article.web_url, click.user_name, click.user_id
    )
    if settings.git_commit and outcome.path is not None:
        _commit(deps, click, outcome.article, outcome.path)
    decision_taken(deps.db, outcome.article.id, click.action)  # a `published` follow posts it
    return outcome, refresh_cards(deps, client, outcome.article.id)


def _commit(deps: Deps, click: Click, article: ArticleView, path: Path) -> None:
    root = deps.settings.articles_dir
    if not is_git_work_tree(root):
        log.warning("NEWSBOT_GIT_COMMIT is on but %s is not a git work tree", root)
        return
    try:
        commit_file(
            root,
            path,
            message=f"{VERBS[click.action]}: {article.title}",
            trailers={"Approved-by": f"{click.user_name} <{click.user_id}>"},
            author=deps.settings.git_author,
        )
    except (GitCommitError, ValueError) as exc:  # ValueError: a name git cannot take
        log.error("the decision stands, but it was not committed to git: %s", exc)


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
