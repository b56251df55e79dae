"""What the user is told after a click: pure functions from an outcome to the reply.

Some replies carry our own mentions (`<@U…>`, `<!date^…>`), so they cannot go
through `ephemeral_text`'s escaping; everything from an article is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock

from bot.render.card import (
    article_card,
    decided_card,
    decision_line,
    scheduled_later,
    title_text,
)
from bot.render.message import Message, to_dicts
from bot.render.mrkdwn import date_token
from bot.render.views import ephemeral_text
from storage.types import ArticleView, Decision, Outcome

# The state each decision leaves an article in.
_LEAVES = {"publish": "published", "unpublish": "draft", "reject": "rejected"}
_STATE = {
    "published": "It is published already, so nothing changed.",
    "draft": "It is a draft, not published, so nothing changed.",
    "rejected": "It was rejected already, so nothing changed.",
}


def already_decided(decision: Decision | None, state: str | None = None) -> Message:
    """ "Already published by @x" for a second click, a retry, the loser of a race or an old card.

    `decision` is the one that put the article in its `state` ("published",
    "draft", "rejected"); when the article got there otherwise (the file was
    edited), the state is said plainly.
    """
    if decision is not None and (state is None or _LEAVES.get(decision.action) == state):
        said = decision_line(decision)  # "Published by <@U…> · <!date^…>"
        line = f"Already {said[0].lower()}{said[1:]}."
    else:
        line = _STATE.get(state or "", "Already decided.")
    return Message(
        text=line,
        blocks=to_dicts([SectionBlock(block_id="notice", text=MarkdownTextObject(text=line))]),
    )


@dataclass(frozen=True, slots=True)
class DecisionReply:
    """The answer to a Publish, Reject or Unpublish click.

    `card` replaces the article's card where the click happened (None: leave
    it, the card update already reached that message); `notice` is a line only
    the reviewer sees.
    """

    card: list[dict[str, Any]] | None
    notice: Message | None


def decision_reply(
    outcome: Outcome, *, verb: str, tz: ZoneInfo, clicked_card_updated: bool = False
) -> DecisionReply:
    """What the reviewer sees after a decision click, for every outcome of `decide`."""
    article = outcome.article
    if outcome.status == "done" and article is not None:
        card = None if clicked_card_updated else decided_card(article, tz=tz)
        return DecisionReply(card, None)
    if outcome.status == "already" and article is not None:
        # The card as it is now: decided, or a draft again with its buttons.
        card = article_card(article, tz=tz, review=True)
        return DecisionReply(card, already_decided(outcome.previous, outcome.state))
    if outcome.status == "stale" and article is not None:
        fresh = article_card(article, tz=tz, review=True, reviewer=True)
        notice = "This article changed since the card was posted: here it is as it is now."
        return DecisionReply(fresh, ephemeral_text(notice))
    if outcome.status == "changed_upstream" and article is not None:
        fresh = article_card(article, tz=tz, review=True, reviewer=True)
        return DecisionReply(fresh, ephemeral_text(changed_upstream(verb)))
    if outcome.status in ("approved", "approved-already", "approved-enough") and article:
        card = (
            None
            if clicked_card_updated
            else article_card(article, tz=tz, review=True, reviewer=True)
        )
        if article.schedule is not None and scheduled_later(article):
            return DecisionReply(card, _approved_for_later(outcome.status, article))
        if outcome.status == "approved":
            notice = (
                "Approved. This article needs a second reviewer: it is published when another"
                " reviewer clicks Publish."
            )
        else:
            notice = (
                "You approved it already: another reviewer must approve it before it is published."
            )
        return DecisionReply(card, ephemeral_text(notice))
    if outcome.status == "missing":
        notice = "The article file is gone from the articles folder: nothing changed."
        return DecisionReply(None, ephemeral_text(notice))
    return DecisionReply(None, ephemeral_text(f"Could not {verb} it: {outcome.problem}"))


def _approved_for_later(status: str, article: ArticleView) -> Message:
    """An approval of an article scheduled for later: nothing is published now."""
    assert article.schedule is not None
    when = date_token(article.schedule.due_at)
    if len(article.approvals) >= 2:
        said = {"approved": "Approved", "approved-already": "You approved it already"}.get(
            status, "Two reviewers approved it already"
        )
        line = f"{said}: with two approvals, it is published as scheduled, {when}."
    elif status == "approved":
        line = (
            f"Approved. It is published as scheduled, {when}, once another reviewer"
            " approves it too; until then it waits."
        )
    else:
        line = (
            f"You approved it already: another reviewer must approve it before {when},"
            " when it is scheduled to be published."
        )
    return Message(
        text=line,
        blocks=to_dicts([SectionBlock(block_id="notice", text=MarkdownTextObject(text=line))]),
    )


_DONE = {"publish": "published", "unpublish": "unpublished", "reject": "rejected"}


def changed_upstream(verb: str) -> str:
    """Why a decision was undone: someone changed the article's file on the git remote first."""
    return (
        f"Not {_DONE.get(verb, 'done')}: the article changed upstream since this card was shown, "
        "so your decision was undone. Here it is as it is now."
    )


def undone_later(verb: str, article: ArticleView, *, tz: ZoneInfo) -> Message:
    """Told to a reviewer when their decision, kept while the remote was unreachable, is undone
    at a later push: the article changed upstream meanwhile. The notice, then the fresh card."""
    notice = ephemeral_text(
        f"Your {verb} of “{title_text(article)}” was undone: the article changed upstream "
        "before it could be pushed. Here it is as it is now."
    )
    card = article_card(article, tz=tz, review=True, reviewer=True)
    return Message(text=notice.text, blocks=notice.blocks + card)


def not_a_reviewer(verb: str) -> Message:
    """The refusal for anyone outside NEWSBOT_REVIEWERS."""
    return ephemeral_text(f"Only reviewers can {verb} articles. Nothing was changed.")


BROKEN_BUTTON = "That button is broken; run the search again for a fresh card."
NOT_INDEXED = "That article is no longer indexed."

_INVITE = "invite me with `/invite @newsbot`, then share again."
_CANNOT_POST = {
    "not_in_channel": f"I'm not in this channel yet: {_INVITE}",
    "channel_not_found": f"I can't see this channel: {_INVITE}",
    "is_archived": "This channel is archived, so I can't share into it.",
}


def cannot_post(error: str) -> str | None:
    """What to tell the user when Slack refuses a post into their channel, if we know."""
    return _CANNOT_POST.get(error)


# Slack's refusals of a post to a configured channel, and what the operator does about each.
_TOKEN_FIXES = {
    "invalid_auth": (
        "Slack refused SLACK_BOT_TOKEN (invalid_auth): copy the Bot User OAuth Token again from "
        "your app's OAuth & Permissions page"
    ),
    "not_authed": "SLACK_BOT_TOKEN is missing: set it to the app's Bot User OAuth Token",
    "token_revoked": "SLACK_BOT_TOKEN was revoked: reinstall the app and copy the new token",
    "account_inactive": "SLACK_BOT_TOKEN belongs to an uninstalled app: reinstall it",
}


def channel_refusal(answer: Mapping[str, Any], channel: str, *, setting: str) -> str:
    """Why Slack refused a post to the channel that `setting` names, and the fix, as one clause.

    `answer` is Slack's error response (its `error`, and `needed` for a missing scope).
    """
    error = str(answer.get("error") or "unknown_error")
    if error == "not_in_channel":
        return f"the bot is not in channel {channel}: invite it there with /invite @newsbot"
    if error == "channel_not_found":
        return (
            f"channel {channel} was not found: set {setting} to the ID of a channel the bot is in"
        )
    if error == "is_archived":
        return f"channel {channel} is archived: choose another {setting}"
    if error == "missing_scope":
        needed = str(answer.get("needed") or "a scope")
        return (
            f"the app lacks {needed}: add it under OAuth & Permissions, as manifest.yaml has it, "
            "and reinstall the app"
        )
    return _TOKEN_FIXES.get(error, f"Slack refused it ({error})")
