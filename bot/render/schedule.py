"""Scheduled publication: the "Publish at…" modal and its inline errors, what the reviewer is
told after scheduling or cancelling, `/news scheduled`, and the news that one failed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ContextBlock,
    DateTimePickerElement,
    HeaderBlock,
    InputBlock,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.render import actions, limits
from bot.render.card import card_blocks, headline, md, plain, schedule_line
from bot.render.message import Message, to_dicts
from bot.render.mrkdwn import date_token, escape_truncate, one_line, truncate, user_mention
from storage.types import ArticleView, Notice, Scheduling

# Slack shows an input's error under it; a sentence, not an essay.
_ERROR_LIMIT = 150
_NAME_LIMIT = 40
SCHEDULED_LISTED = 40


def _local(moment: datetime, tz: ZoneInfo) -> str:
    """A moment in NEWSBOT_TIMEZONE for plain text, where Slack's date token does not work."""
    return f"{moment.astimezone(tz):%Y-%m-%d %H:%M} ({tz.key})"


def publish_at_modal(
    article: ArticleView, *, initial: datetime, tz: ZoneInfo, metadata: str
) -> dict[str, Any]:
    """The modal "Publish at…" opens: the article, and a date-and-time picker set to `initial`."""
    blocks: list[Block] = [
        SectionBlock(block_id="publish_at_article", text=md(headline(article))),
        InputBlock(
            block_id=actions.PUBLISH_AT_BLOCK,
            label=plain("Publish at"),
            element=DateTimePickerElement(
                action_id=actions.PUBLISH_AT_ELEMENT,
                initial_date_time=int(initial.timestamp()),
            ),
            hint=plain(
                f"In your own Slack time zone. The desk's is {tz.key}; at most 90 days ahead."
            ),
        ),
        ContextBlock(
            block_id="publish_at_note",
            elements=[
                md(
                    "The file as it is now is published then. If someone changes it before,"
                    " nothing is published and you are told."
                )
            ],
        ),
    ]
    return View(
        type="modal",
        callback_id=actions.PUBLISH_AT_VIEW,
        title=plain("Publish at…"),
        submit=plain("Schedule"),
        close=plain("Cancel"),
        private_metadata=metadata,
        blocks=blocks,
    ).to_dict()


def publish_at_error(result: Scheduling | str, *, tz: ZoneInfo, latest: datetime) -> str:
    """The inline error under the time picker for a refused "Publish at…" (plain text).

    `latest` is the furthest moment that may be chosen now.
    """
    status = result if isinstance(result, str) else result.status
    if status == "not-reviewer":
        text = "Only reviewers can schedule publications. Nothing was changed."
    elif status == "no-time":
        text = "Choose a date and a time."
    elif status == "past":
        text = "That time has passed: choose one in the future."
    elif status == "too-far":
        text = f"That is more than 90 days ahead: choose a time before {_local(latest, tz)}."
    elif status == "stale":
        text = "This article changed since the card was shown: close this and use the fresh card."
    elif status == "not-draft":
        text = "This article is not a draft any more: it was published or rejected."
    elif status == "already-scheduled" and isinstance(result, Scheduling) and result.due_at:
        who = truncate(one_line(result.by[1] if result.by else ""), _NAME_LIMIT) or "someone"
        text = (
            f"It is scheduled already, for {_local(result.due_at, tz)} by {who}: cancel that first."
        )
    elif status == "missing":
        text = "This article is no longer in the articles folder."
    else:
        text = "This article cannot be scheduled now."
    return truncate(text, _ERROR_LIMIT)


def _notice(line: str) -> Message:
    return Message(text=line, blocks=to_dicts([SectionBlock(block_id="notice", text=md(line))]))


def scheduled_reply(result: Scheduling, *, tz: ZoneInfo, latest: datetime) -> Message:
    """What the reviewer is told once the modal closed: scheduled, or why not after all."""
    if result.status == "scheduled" and result.due_at is not None and result.by is not None:
        who = user_mention(*result.by)
        line = f"Scheduled for {date_token(result.due_at)} by {who}."
        if result.article is not None and result.article.approvals:
            line += " It goes out then if a second reviewer has approved it by that time."
        return _notice(line)
    refused = publish_at_error(result, tz=tz, latest=latest)
    return _notice(escape_truncate(f"Not scheduled: {refused}", limits.SECTION_TEXT))


def cancel_reply(result: Scheduling) -> Message:
    """What the reviewer who clicked Cancel is told."""
    when = date_token(result.due_at) if result.due_at is not None else "its time"
    if result.status == "cancelled":
        return _notice(f"Cancelled the publication scheduled for {when}. The draft stays a draft.")
    if result.status == "running":
        return _notice(f"Too late to cancel: it is being published now, as scheduled for {when}.")
    if result.status == "missing":
        return _notice("That article is no longer indexed.")
    if result.ended == "cancelled" and result.closed_by is not None:
        who = user_mention(*result.closed_by)
        return _notice(f"The publication scheduled for {when} was cancelled already, by {who}.")
    if result.ended == "published":
        return _notice(f"Nothing to cancel: it was published as scheduled for {when}.")
    return _notice("Nothing to cancel: that scheduled publication is over.")


def scheduled_message(articles: Sequence[ArticleView], *, total: int) -> Message:
    """`/news scheduled`: publications still to come, soonest first, each with Cancel."""
    if not articles:
        text = "Nothing is scheduled to be published."
        return _notice(text)
    blocks: list[Block] = [
        HeaderBlock(block_id="scheduled-header", text=plain("Scheduled publications")),
    ]
    shown = 0
    for article in articles[:SCHEDULED_LISTED]:
        if article.schedule is None:
            continue
        blocks.append(scheduled_item(article))
        shown += 1
    if total > shown:
        more = f"…and {total - shown} more, later."
        blocks.append(ContextBlock(block_id="scheduled-more", elements=[md(more)]))
    summary = f"{total} scheduled publication{'s' if total != 1 else ''}"
    return Message(text=summary, blocks=to_dicts(blocks))


def scheduled_item(article: ArticleView) -> SectionBlock:
    """One scheduled publication on a line: the article, when and by whom, and Cancel."""
    assert article.schedule is not None
    text = f"{headline(article)}\n{schedule_line(article.schedule)}"
    button = None
    if article.schedule.status in ("pending", "waiting"):
        button = ButtonElement(
            text=plain("Cancel"),
            action_id=actions.REVIEW_CANCEL_SCHEDULE,
            value=actions.cancel_schedule_value(article.id, article.schedule.id),
        )
    return SectionBlock(
        block_id=f"scheduled:{article.id}",
        text=md(truncate(text, limits.SECTION_TEXT)),
        accessory=button,
    )


def failure_notice(article: ArticleView | None, notice: Notice, *, tz: ZoneInfo) -> Message:
    """Tells whoever scheduled a publication that it did not happen, with the card as it is now."""
    who = user_mention(*notice.by)
    reason = escape_truncate(one_line(notice.reason), 500)
    line = (
        f"{who} the publication you scheduled for {date_token(notice.due_at)} did not happen:"
        f" {reason}."
    )
    blocks: list[Block] = [SectionBlock(block_id="schedule-failed", text=md(line))]
    if article is not None:
        line += " Here is the article as it is now."
        blocks[0] = SectionBlock(block_id="schedule-failed", text=md(line))
        blocks += card_blocks(article, tz=tz, review=True, reviewer=True)
    return Message(text=truncate(line, limits.FALLBACK_TEXT), blocks=to_dicts(blocks))
