"""The article card: linked title and excerpt, image, context line, and buttons."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict, Unpack
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    ImageElement,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.render import actions, limits
from bot.render.dates import local_date, short_date
from bot.render.message import to_dicts
from bot.render.mrkdwn import (
    date_token,
    escape,
    escape_truncate,
    http_url,
    one_line,
    slack_len,
    user_mention,
)
from storage.types import Approval, ArticleView, Decision, Schedule

# Editorial caps, well inside Slack's limits: a card is a teaser, and ten of them
# share one ephemeral message.
TITLE_LIMIT = 300
EXCERPT_LIMIT = 600
LINK_URL_LIMIT = 1000
PROVIDER_LIMIT = 100
TOPIC_LIMIT = 60
TOPICS_LIMIT = 300
MAX_TOPICS = 6

_DECISION_VERBS = {"publish": "Published", "reject": "Rejected", "unpublish": "Unpublished"}


def md(text: str) -> MarkdownTextObject:
    """mrkdwn that Slack will not auto-link or auto-mention; our own `<…>` tokens still work."""
    return MarkdownTextObject(text=text, verbatim=True)


def plain(text: str) -> PlainTextObject:
    """A plain_text object with emoji shortcodes rendered."""
    return PlainTextObject(text=text, emoji=True)


def title_text(article: ArticleView) -> str:
    """The article's title on one line, falling back to its URL; not escaped."""
    return one_line(article.title) or one_line(article.web_url) or "Untitled article"


def headline(article: ArticleView) -> str:
    """The linked, escaped, bold title of a card."""
    label = escape_truncate(title_text(article), TITLE_LIMIT)
    url = http_url(article.web_url)
    # Measured after escaping: every "&" costs five characters of the section's 3000.
    if url is not None and slack_len(escape(url)) <= LINK_URL_LIMIT:
        return f"*<{escape(url)}|{label}>*"
    return f"*{label}*"


def _section_text(article: ArticleView) -> str:
    title = headline(article)
    room = min(EXCERPT_LIMIT, limits.SECTION_TEXT - slack_len(title) - 1)
    excerpt = escape_truncate(one_line(article.excerpt), room)
    return f"{title}\n{excerpt}" if excerpt else title


def _image(article: ArticleView) -> ImageElement | None:
    for image in article.images:
        url = http_url(image.url)
        if url is None or slack_len(url) > limits.URL:
            continue
        alt = one_line(image.title) or title_text(article)
        return ImageElement(image_url=url, alt_text=escape_truncate(alt, limits.ALT_TEXT))
    return None


def _topics(topics: Sequence[str]) -> str:
    names: list[str] = []
    seen: set[str] = set()
    for topic in topics:
        name = one_line(topic)
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            names.append(name)
    shown: list[str] = []
    used = 0
    for name in names[:MAX_TOPICS]:
        piece = escape_truncate(name, TOPIC_LIMIT)
        if used + slack_len(piece) + 2 > TOPICS_LIMIT:
            break
        shown.append(piece)
        used += slack_len(piece) + 2
    text = ", ".join(shown)
    if len(names) > len(shown):
        text += f" +{len(names) - len(shown)} more"
    return text


def decision_line(decision: Decision) -> str:
    """ "Published by <@U123> · <!date^…>", the line that replaces a card's review buttons
    (and " · pushing…" while its git commit waits for the remote)."""
    verb = _DECISION_VERBS.get(decision.action, "Reviewed")
    who = user_mention(decision.reviewer_id, decision.reviewer_name)
    line = f"{verb} by {who} · {date_token(decision.decided_at)}"
    # NEWSBOT_GIT_PUSH: the decision stands, and its commit is not on the remote yet.
    return f"{line} · pushing…" if decision.pushing else line


def schedule_line(schedule: Schedule) -> str:
    """ "Scheduled for <!date^…> by <@U…>", and what became of it."""
    when = date_token(schedule.due_at)
    who = user_mention(schedule.by_id, schedule.by_name)
    if schedule.status == "waiting":
        return f"Scheduled for {when} by {who} · waiting for a second reviewer"
    if schedule.status == "running":
        return f"Publishing now, as scheduled for {when} by {who}"
    if schedule.status == "published":
        late = " · published late" if schedule.late else ""
        return f"Scheduled for {when} by {who}{late}"
    if schedule.status == "failed":
        reason = escape_truncate(one_line(schedule.reason), 300) or "it could not be published"
        return f"Not published as scheduled for {when} by {who}: {reason}"
    return f"Scheduled for {when} by {who}"


def approvals_line(approvals: Sequence[Approval], *, scheduled: bool = False) -> str:
    """ "Approved by <@U…> · needs one more reviewer" (or both names, once there are two);
    for an article `scheduled` for later, what its time will bring."""
    names = [user_mention(a.reviewer_id, a.reviewer_name) for a in approvals]
    if len(names) == 1:
        if scheduled:
            return (
                f"Approved by {names[0]} · needs one more reviewer to Approve by then,"
                " or it waits for them"
            )
        return f"Approved by {names[0]} · needs one more reviewer"
    both = f"Approved by {', '.join(names[:-1])} and {names[-1]}"
    return f"{both} · goes out as scheduled" if scheduled else both


def scheduled_later(article: ArticleView) -> bool:
    """An article that needs two reviewers, with its publication still to come: a Publish on
    it is an approval (the button says Approve), and the schedule publishes it."""
    schedule = article.schedule
    return bool(article.approvals) and schedule is not None and schedule.status == "pending"


def _meta(article: ArticleView, tz: ZoneInfo, notes: Sequence[str]) -> str:
    parts: list[str] = []
    provider = one_line(article.provider_name) or one_line(article.provider_domain)
    if provider:
        parts.append(escape_truncate(provider, PROVIDER_LIMIT))
    if article.published_at is not None:
        parts.append(short_date(local_date(article.published_at, tz)))
    topics = _topics(article.topics)
    if topics:
        parts.append(topics)
    parts.append(f"🔥 {article.heat}")
    parts.append(f"quality {article.quality}")
    if not article.published:
        parts.append("*Draft*")
    parts.extend(notes)
    text = " · ".join(parts)
    if article.decision is not None:
        text += "\n" + decision_line(article.decision)
    if article.schedule is not None:
        text += "\n" + schedule_line(article.schedule)
    if article.approvals and not article.published:
        text += "\n" + approvals_line(article.approvals, scheduled=scheduled_later(article))
    return text


def _button(
    text: str,
    action_id: str,
    value: str,
    *,
    style: str | None = None,
    confirm: ConfirmObject | None = None,
) -> ButtonElement:
    return ButtonElement(
        text=plain(text), action_id=action_id, value=value, style=style, confirm=confirm
    )


def _confirm(title: str, template: str, article: ArticleView, verb: str) -> ConfirmObject:
    # template holds one "{}" for the title; the title gets whatever room is left.
    room = limits.CONFIRM_TEXT - slack_len(template.format(""))
    text = template.format(escape_truncate(title_text(article), room))
    return ConfirmObject(
        title=plain(title), text=md(text), confirm=plain(verb), deny=plain("Cancel"), style="danger"
    )


def _reviewable(article: ArticleView) -> bool:
    # An unpublished article is a draft again and may be published anew; a published
    # or rejected one is settled until someone unpublishes it.
    return not article.published and (
        article.decision is None or article.decision.action == "unpublish"
    )


def _scheduled(article: ArticleView) -> Schedule | None:
    """The publication still to come that a reviewer may cancel, if any."""
    schedule = article.schedule
    if schedule is not None and schedule.status in ("pending", "waiting"):
        return schedule
    return None


def _buttons(article: ArticleView, *, share: bool, review: bool, reviewer: bool) -> list[Any]:
    buttons: list[ButtonElement] = []
    if share:
        buttons.append(_button("Share", actions.NEWS_SHARE, actions.share_value(article.id)))
    review_value = actions.review_value(article.id, article.fingerprint)
    if review and _reviewable(article):
        scheduled = _scheduled(article)
        if not scheduled_later(article):
            buttons.append(
                _button("Publish", actions.REVIEW_PUBLISH, review_value, style="primary"),
            )
        elif len(article.approvals) < 2:
            # Approving leaves the publication to its time; two approvals need no more.
            buttons.append(
                _button("Approve", actions.REVIEW_PUBLISH, review_value, style="primary"),
            )
        # On cards shown to reviewers only: anyone sees a channel's buttons.
        if (
            reviewer
            and scheduled is None
            and (article.schedule is None or article.schedule.status != "running")
        ):
            buttons.append(_button("Publish at…", actions.REVIEW_PUBLISH_AT, review_value))
        if scheduled is not None:
            buttons.append(
                _button(
                    "Cancel",
                    actions.REVIEW_CANCEL_SCHEDULE,
                    actions.cancel_schedule_value(article.id, scheduled.id),
                )
            )
        buttons.append(
            _button(
                "Reject",
                actions.REVIEW_REJECT,
                review_value,
                style="danger",
                confirm=_confirm(
                    "Reject this draft?",
                    "*{}* will be rejected and leave the review queue.",
                    article,
                    "Reject",
                ),
            )
        )
    if reviewer and article.published:
        buttons.append(
            _button(
                "Unpublish",
                actions.REVIEW_UNPUBLISH,
                review_value,
                confirm=_confirm(
                    "Unpublish this article?",
                    "*{}* will go back to draft and come off the site.",
                    article,
                    "Unpublish",
                ),
            )
        )
    return buttons


class Buttons(TypedDict, total=False):
    """Which buttons a card carries: Share, Publish/Reject on drafts, Unpublish for reviewers."""

    share: bool
    review: bool
    reviewer: bool


def card_blocks(
    article: ArticleView,
    *,
    tz: ZoneInfo,
    notes: Sequence[str] = (),
    **buttons: Unpack[Buttons],
) -> list[Block]:
    """The card as slack_sdk blocks (two or three), for views that count blocks before serializing.

    `notes` are extra mrkdwn snippets for the context line ("+3 related", "waiting 3 h");
    they are ours, so they are not escaped.
    """
    blocks: list[Block] = [
        SectionBlock(
            block_id=f"card:{article.id}",
            text=md(_section_text(article)),
            accessory=_image(article),
        ),
        ContextBlock(block_id=f"card-meta:{article.id}", elements=[md(_meta(article, tz, notes))]),
    ]
    elements = _buttons(
        article,
        share=buttons.get("share", False),
        review=buttons.get("review", False),
        reviewer=buttons.get("reviewer", False),
    )
    if elements:
        blocks.append(ActionsBlock(block_id=f"card-actions:{article.id}", elements=elements))
    return blocks


def article_card(
    article: ArticleView, *, tz: ZoneInfo, **buttons: Unpack[Buttons]
) -> list[dict[str, Any]]:
    """The card as dicts: Share if `share`; on drafts, Publish/Reject (and Cancel when a
    publication is scheduled) if `review`; for a viewer known to be a reviewer (`reviewer`),
    Publish at… on drafts and Unpublish on published articles."""
    return to_dicts(card_blocks(article, tz=tz, **buttons))


def decided_card(
    article: ArticleView, *, tz: ZoneInfo, share: bool = False
) -> list[dict[str, Any]]:
    """The card after a review decision: the "Published by …" line and no review buttons."""
    return to_dicts(card_blocks(article, tz=tz, share=share))
