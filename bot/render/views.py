"""Whole messages and views: help, search results, topics, shares, unfurls, App Home,
the review queue and the daily digest."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.render import actions, limits
from bot.render.card import card_blocks, md, plain, title_text
from bot.render.dates import long_day, waiting
from bot.render.message import Message, to_dicts
from bot.render.mrkdwn import clean, escape, escape_truncate, one_line, slack_len, user_mention
from bot.render.schedule import scheduled_item
from storage.types import ArticleView, SearchPage, TopicCount

QUERY_LIMIT = 200
TOPIC_NAME_LIMIT = 100
TOPICS_LISTED = 200
HOME_CARDS = 15
HOME_TOPICS = 15
TITLE_FALLBACK_LIMIT = 300
REVIEW_PAGE_SIZE = 10

_MODES = {"topic": "topic", "text": "full text"}


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def _unique(articles: Iterable[ArticleView]) -> list[ArticleView]:
    # Block ids carry the article id, so a repeated article would repeat a block id.
    seen: set[int] = set()
    out: list[ArticleView] = []
    for article in articles:
        if article.id not in seen:
            seen.add(article.id)
            out.append(article)
    return out


def fill_cards(
    blocks: list[Block], cards: Sequence[list[Block]], *, max_blocks: int, reserve: int = 0
) -> int:
    """Append divider-separated cards while `reserve` blocks stay free; return how many fit."""
    shown = 0
    for card in cards:
        divider = 1 if shown else 0
        if len(blocks) + divider + len(card) + reserve > max_blocks:
            break
        if divider:
            blocks.append(DividerBlock())
        blocks.extend(card)
        shown += 1
    return shown


def _nav(
    prefix: str, action_id: str, prev_value: str | None, next_value: str | None
) -> list[Block]:
    # Slack wants action_ids unique within a block, and the listeners route on one
    # action_id for both directions, so each button gets its own actions block.
    blocks: list[Block] = []
    if prev_value is not None:
        button = ButtonElement(text=plain("← Previous"), action_id=action_id, value=prev_value)
        blocks.append(ActionsBlock(block_id=f"{prefix}-prev", elements=[button]))
    if next_value is not None:
        button = ButtonElement(text=plain("Next →"), action_id=action_id, value=next_value)
        blocks.append(ActionsBlock(block_id=f"{prefix}-next", elements=[button]))
    return blocks


def waiting_note(article: ArticleView, now: datetime) -> list[str]:
    """ "waiting 3 h" for a card's context line: since the draft was first indexed (or
    unpublished); for a view that does not know, since its publishedDateTime."""
    since = article.waiting_since or article.published_at
    return [waiting(since, now)] if since is not None else []


def ephemeral_text(text: str) -> Message:
    """A one-section, escaped message for refusals and errors ("Only reviewers can publish.")."""
    body = escape_truncate(clean(text).strip(), limits.SECTION_TEXT) or "Something went wrong."
    return Message(text=body, blocks=to_dicts([SectionBlock(block_id="notice", text=md(body))]))


def help_message() -> Message:
    """Usage of `/news`: searching, filters, topics, review and digest, with examples."""
    e = escape
    usage = "\n".join(
        [
            "*Search*",
            "`/news TERMS [filters]` — articles whose topic matches TERMS (any case,"
            " so `ai` finds AI); when no topic matches, a full-text search of titles and"
            " excerpts. Hottest first, then newest. Only you see the results; *Share* posts"
            " one to the channel.",
        ]
    )
    filters = "\n".join(
        [
            "*Filters* (combine freely)",
            f"• `{e('heat>=N')}` — only articles at least this hot",
            "• `since:7d` or `since:YYYY-MM-DD` — published in the last 7 days, or since a date",
            "• `provider:DOMAIN` — from one source, e.g. `provider:example.com`",
            "• `published` / `unpublished` — live articles only, or drafts only",
        ]
    )
    more = "\n".join(
        [
            "*More*",
            "• `/news topics` — every topic with its number of articles",
            "• `/news review` — drafts waiting for review, with Publish and Reject for reviewers",
            "• `/news digest` — a preview of today's digest, only to you",
            # --- follows (issue 11)
            "• `/news follow QUERY` — post new articles that match QUERY (search syntax, no"
            " `since:`) in this channel as they arrive",
            "• `/news follows` — this channel's follows, with Unfollow",
            "• `/news unfollow N` — stop follow N of this channel",
            # --- editorial workflow (issue 12)
            "• `/news scheduled` — publications scheduled with Publish at…, for reviewers",
            # --- insights (issue 14)
            "• `/news stats [7d|30d|DATE..DATE]` — the desk's numbers for a period: articles"
            " in, published, rejected, waiting, time to decision, reviewers, top topics",
            "• `/news help` — this message",
        ]
    )
    examples = "\n".join(
        [
            "*Examples*",
            "`/news ai`",
            f"`/news computer vision {e('heat>=80')} since:7d`",
            "`/news elections since:2026-11-01 unpublished`",
            "`/news ransomware provider:example.com published`",
        ]
    )
    blocks: list[Block] = [
        HeaderBlock(block_id="help-header", text=plain("Newsbot: search the news desk")),
        SectionBlock(block_id="help-usage", text=md(usage)),
        SectionBlock(block_id="help-filters", text=md(filters)),
        SectionBlock(block_id="help-more", text=md(more)),
        SectionBlock(block_id="help-examples", text=md(examples)),
    ]
    text = (
        "Newsbot: /news TERMS [filters], /news topics, /news review, /news digest, "
        "/news follow QUERY, /news follows, /news unfollow N, /news scheduled, /news stats, "
        "/news help"
    )
    return Message(text=text, blocks=to_dicts(blocks))


def results_message(page: SearchPage, *, tz: ZoneInfo, reviewer: bool) -> Message:
    """One page of `/news` results: a summary line, cards with Share and review buttons, paging."""
    query = one_line(page.query)
    q = escape_truncate(query, QUERY_LIMIT) or "everything"
    mode = _MODES.get(page.mode, escape_truncate(one_line(page.mode), 20))
    articles = _unique(page.articles)
    if page.limit > 0:
        articles = articles[: page.limit]
    prev_value = actions.page_value(page.query, max(0, page.offset - max(page.limit, 1)))

    if not articles:
        if page.offset > 0:
            summary = f"No more results for *{q}*."
            text = f"No more results for {q}."
        else:
            summary = f"No articles match *{q}*."
            text = f"No articles match {q}."
        hint = (
            "Try a broader topic or fewer filters. `/news topics` lists every topic,"
            " `/news help` shows the filters."
        )
        blocks: list[Block] = [
            SectionBlock(block_id="results-summary", text=md(summary)),
            ContextBlock(block_id="results-hint", elements=[md(hint)]),
        ]
        blocks += _nav("results", actions.NEWS_PAGE, prev_value if page.offset > 0 else None, None)
        return Message(text=text, blocks=to_dicts(blocks))

    cards = [card_blocks(a, tz=tz, share=True, review=True, reviewer=reviewer) for a in articles]
    blocks = [SectionBlock(block_id="results-summary", text=md("…"))]
    # Reserve room for both paging buttons; a page too big for 50 blocks just ends early
    # and Next carries on from the first card not shown.
    shown = fill_cards(blocks, cards, max_blocks=limits.MESSAGE_BLOCKS, reserve=2)
    has_more = page.has_more or shown < len(articles)
    first, last = page.offset + 1, page.offset + shown
    if page.offset == 0 and not has_more:
        counted = f"{_plural(shown, 'result')} for"
    else:
        counted = f"Results {first}–{last} for"
    summary = f"{counted} *{q}* ({mode})"
    blocks[0] = SectionBlock(block_id="results-summary", text=md(summary))
    blocks += _nav(
        "results",
        actions.NEWS_PAGE,
        prev_value if page.offset > 0 else None,
        actions.page_value(page.query, page.offset + shown) if has_more else None,
    )
    return Message(text=f"{counted} {q} ({mode})", blocks=to_dicts(blocks))


def _topic_lines(topics: Sequence[TopicCount]) -> list[str]:
    ordered = sorted(topics, key=lambda t: (-t.count, one_line(t.name).casefold()))
    lines = []
    for topic in ordered:
        name = escape_truncate(one_line(topic.name), TOPIC_NAME_LIMIT)
        if name:
            lines.append(f"• *{name}* — {topic.count}")
    return lines


def _pack(lines: Sequence[str], limit: int) -> list[str]:
    """Join lines into as few texts of at most `limit` units as possible, never splitting a line."""
    texts: list[str] = []
    current = ""
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if slack_len(candidate) <= limit:
            current = candidate
        else:
            if current:
                texts.append(current)
            current = line
    if current:
        texts.append(current)
    return texts


def topics_message(topics: Sequence[TopicCount]) -> Message:
    """The topics with their article counts, most articles first; a long tail is summarized."""
    lines = _topic_lines(topics)
    if not lines:
        text = "No topics yet: nothing has been indexed."
        return Message(text=text, blocks=to_dicts([SectionBlock(block_id="topics", text=md(text))]))

    blocks: list[Block] = [
        HeaderBlock(block_id="topics-header", text=plain("Topics")),
        ContextBlock(
            block_id="topics-hint",
            elements=[
                md(f"{_plural(len(lines), 'topic')} · type `/news TOPIC` to see its articles")
            ],
        ),
    ]
    shown_lines = lines[:TOPICS_LISTED]
    sections = _pack(shown_lines, limits.SECTION_TEXT)
    room = limits.MESSAGE_BLOCKS - len(blocks) - 1
    sections = sections[:room]
    listed = sum(s.count("\n") + 1 for s in sections)
    for i, section in enumerate(sections):
        blocks.append(SectionBlock(block_id=f"topics-{i}", text=md(section)))
    if listed < len(lines):
        more = f"…and {_plural(len(lines) - listed, 'more topic')} with fewer articles."
        blocks.append(ContextBlock(block_id="topics-more", elements=[md(more)]))
    return Message(text=f"Newsbot topics: {_plural(len(lines), 'topic')}", blocks=to_dicts(blocks))


def shared_message(article: ArticleView, *, shared_by: str, tz: ZoneInfo) -> Message:
    """The channel post for a Share: "<@U…> shared:" and the card, review buttons on drafts."""
    who = user_mention(shared_by)
    blocks: list[Block] = [SectionBlock(block_id="shared-by", text=md(f"{who} shared:"))]
    blocks += card_blocks(article, tz=tz, review=True)
    text = f"{who} shared: {escape_truncate(title_text(article), TITLE_FALLBACK_LIMIT)}"
    return Message(text=text, blocks=to_dicts(blocks))


def unfurl_blocks(article: ArticleView, *, tz: ZoneInfo) -> list[dict[str, Any]]:
    """The card for `chat.unfurl`: drafts labelled Draft, with review buttons and nothing else."""
    return to_dicts(card_blocks(article, tz=tz, review=True))


@dataclass(frozen=True)
class HomeQueue:
    """A reviewer's queue on App Home: drafts waiting (hottest first) and publications to come
    (soonest first), with how many there are of each in all."""

    drafts: Sequence[ArticleView]
    drafts_total: int
    scheduled: Sequence[ArticleView]
    scheduled_total: int
    now: datetime


HOME_QUEUE_CARDS = 6
HOME_SCHEDULED = 10


def _home_queue(queue: HomeQueue, *, tz: ZoneInfo) -> list[Block]:
    blocks: list[Block] = []
    if queue.drafts:
        blocks.append(HeaderBlock(block_id="home-queue", text=plain("🕒 Waiting for review")))
        cards = [
            card_blocks(a, tz=tz, review=True, reviewer=True, notes=waiting_note(a, queue.now))
            for a in _unique(queue.drafts)[:HOME_QUEUE_CARDS]
        ]
        shown = fill_cards(blocks, cards, max_blocks=limits.HOME_BLOCKS)
        if queue.drafts_total > shown:
            more = f"…and {queue.drafts_total - shown} more: type `/news review` to see them all."
            blocks.append(ContextBlock(block_id="home-queue-more", elements=[md(more)]))
    listed = [a for a in _unique(queue.scheduled) if a.schedule is not None][:HOME_SCHEDULED]
    if listed:
        blocks.append(HeaderBlock(block_id="home-scheduled", text=plain("📅 Scheduled")))
        blocks += [scheduled_item(a) for a in listed]
        if queue.scheduled_total > len(listed):
            more = (
                f"…and {queue.scheduled_total - len(listed)} more: type `/news scheduled`"
                " to see them."
            )
            blocks.append(ContextBlock(block_id="home-scheduled-more", elements=[md(more)]))
    return blocks


def app_home(
    *,
    hottest: Sequence[ArticleView],
    topics: Sequence[TopicCount],
    pending_reviews: int | None,
    tz: ZoneInfo,
    notice: str | None = None,
    queue: HomeQueue | None = None,
    scheduled_reviews: int = 0,
) -> dict[str, Any]:
    """The App Home tab: today's hottest cards, top topics, and for reviewers the queue.

    Reviewers (`pending_reviews` is not None) get the queue size (drafts waiting for
    review, which the queue lists, and apart from them the `scheduled_reviews` drafts
    scheduled to go out, which the Scheduled list shows) and, given a
    `queue`, the drafts waiting and the publications scheduled, each with its
    buttons; their cards carry Publish, Publish at… and Reject. Everyone else
    sees the cards without buttons. `notice` is a line of our own for the top,
    such as the outcome of a click there.
    """
    reviewer = pending_reviews is not None
    blocks: list[Block] = [HeaderBlock(block_id="home-header", text=plain("📰 Newsbot"))]
    if notice:
        blocks.append(SectionBlock(block_id="home-notice", text=md(notice)))
    if pending_reviews is not None:
        going_out = (
            f"{_plural(scheduled_reviews, 'more draft')} scheduled to go out"
            if scheduled_reviews > 0
            else ""
        )
        if pending_reviews > 0:
            also = f", and {going_out}" if going_out else ""
            waiting_text = (
                f"*{_plural(pending_reviews, 'draft')} waiting* for review{also} — type"
                " `/news review` to go through them."
            )
        else:
            also = f"; {going_out}" if going_out else ""
            waiting_text = f"No drafts waiting for review{also}."
        blocks.append(SectionBlock(block_id="home-reviews", text=md(waiting_text)))

    queued: set[int] = set()
    if reviewer and queue is not None:
        blocks += _home_queue(queue, tz=tz)
        queued = {a.id for a in queue.drafts[:HOME_QUEUE_CARDS]}

    blocks.append(HeaderBlock(block_id="home-hottest", text=plain("🔥 Today's hottest")))
    # A card's block ids carry the article id: one already in the queue is not repeated.
    cards = [
        card_blocks(a, tz=tz, review=reviewer, reviewer=reviewer)
        for a in [a for a in _unique(hottest) if a.id not in queued][:HOME_CARDS]
    ]
    if not cards:
        blocks.append(ContextBlock(block_id="home-cold", elements=[md("Nothing hot yet today.")]))
    # Topics and the footer take at most four blocks after the cards.
    fill_cards(blocks, cards, max_blocks=limits.HOME_BLOCKS, reserve=4)

    lines = _topic_lines(topics)[:HOME_TOPICS]
    blocks.append(HeaderBlock(block_id="home-topics-header", text=plain("Top topics")))
    text = _pack(lines, limits.SECTION_TEXT)[0] if lines else "No topics yet."
    blocks.append(SectionBlock(block_id="home-topics", text=md(text)))
    blocks.append(
        ContextBlock(
            block_id="home-help",
            elements=[md("Type `/news help` in any channel for search tips.")],
        )
    )
    return View(type="home", blocks=blocks).to_dict()


def review_queue_message(
    articles: Sequence[ArticleView],
    *,
    now: datetime,
    offset: int,
    has_more: bool,
    tz: ZoneInfo,
    page_size: int = REVIEW_PAGE_SIZE,
) -> Message:
    """Drafts waiting for review, each with Publish/Publish at…/Reject and how long it has
    waited; paged. The queue is for reviewers: anyone else's clicks are refused.

    `page_size` is how many drafts the caller fetches per page; Previous steps back by it.
    """
    drafts = _unique(articles)
    prev_value = actions.review_page_value(max(0, offset - max(page_size, 1)))
    if not drafts:
        text = "No more drafts waiting." if offset > 0 else "No drafts waiting for review. 🎉"
        blocks: list[Block] = [SectionBlock(block_id="review-summary", text=md(text))]
        blocks += _nav("review", actions.REVIEW_PAGE, prev_value if offset > 0 else None, None)
        return Message(text=text, blocks=to_dicts(blocks))

    cards = [
        card_blocks(
            a,
            tz=tz,
            review=True,
            reviewer=True,
            notes=waiting_note(a, now),
        )
        for a in drafts
    ]
    blocks = [SectionBlock(block_id="review-summary", text=md("…"))]
    shown = fill_cards(blocks, cards, max_blocks=limits.MESSAGE_BLOCKS, reserve=2)
    has_more = has_more or shown < len(drafts)
    if offset == 0 and not has_more:
        summary = f"{_plural(shown, 'draft')} waiting for review, hottest first"
    else:
        summary = f"Drafts {offset + 1}–{offset + shown} waiting for review, hottest first"
    blocks[0] = SectionBlock(block_id="review-summary", text=md(f"*{summary}*"))
    blocks += _nav(
        "review",
        actions.REVIEW_PAGE,
        prev_value if offset > 0 else None,
        actions.review_page_value(offset + shown) if has_more else None,
    )
    return Message(text=summary, blocks=to_dicts(blocks))


def digest_messages(
    *,
    local_date: date,
    articles: Sequence[ArticleView],
    related_counts: Mapping[int, int],
    late: bool,
    tz: ZoneInfo,
    reviewer_buttons: bool = True,
) -> list[Message]:
    """The digest: the channel post first, then thread replies for cards that did not fit."""
    day = long_day(local_date)
    items = _unique(articles)
    head: list[Block] = [
        HeaderBlock(block_id="digest-header", text=plain(f"Newsbot digest — {day}")),
    ]
    info = [md(_plural(len(items), "story", "stories"))]
    if late:
        info.append(md("(posted late)"))
    head.append(ContextBlock(block_id="digest-info", elements=info))

    if not items:
        head.append(
            SectionBlock(block_id="digest-empty", text=md("No stories made the digest today."))
        )
        return [Message(text=f"Newsbot digest for {day}: no stories", blocks=to_dicts(head))]

    cards = [
        card_blocks(
            a,
            tz=tz,
            review=reviewer_buttons,
            notes=[f"+{related_counts[a.id]} related"] if related_counts.get(a.id, 0) > 0 else [],
        )
        for a in items
    ]
    head.append(DividerBlock())
    # One block stays free for the "continued in the thread" pointer.
    shown = fill_cards(head, cards, max_blocks=limits.MESSAGE_BLOCKS, reserve=1)
    if shown < len(cards):
        rest = len(cards) - shown
        pointer = f"{_plural(rest, 'more story', 'more stories')} in the thread ↓"
        head.append(ContextBlock(block_id="digest-more", elements=[md(pointer)]))
    messages = [
        Message(
            text=f"Newsbot digest for {day}: {_plural(len(items), 'story', 'stories')}",
            blocks=to_dicts(head),
        )
    ]

    while shown < len(cards):
        first = shown + 1
        blocks: list[Block] = [ContextBlock(block_id="digest-continued", elements=[md("…")])]
        count = fill_cards(blocks, cards[shown:], max_blocks=limits.MESSAGE_BLOCKS)
        if count == 0:  # cannot happen with cards of at most three blocks; never loop forever
            break
        shown += count
        label = f"Newsbot digest for {day} (continued): stories {first}–{shown}"
        blocks[0] = ContextBlock(block_id="digest-continued", elements=[md(label)])
        messages.append(Message(text=label, blocks=to_dicts(blocks)))
    return messages
