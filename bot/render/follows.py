"""Follows: the card a follow posts, the summary beyond a burst, and the answers to
`/news follow`, `/news follows` and `/news unfollow`. Queries are shown as typed, escaped."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block, ButtonElement, ContextBlock, DividerBlock, SectionBlock

from bot.render import actions, limits
from bot.render.card import card_blocks, headline, md, plain, title_text
from bot.render.message import Message, to_dicts
from bot.render.mrkdwn import date_token, escape_truncate, one_line, user_mention
from bot.render.views import TITLE_FALLBACK_LIMIT, _pack
from storage.types import ArticleView, FollowRecord

# A query is at most 500 characters; lists and lines show this much of it.
QUERY_SHOWN = 200
PREVIEWS = 3


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def shown_query(query: str, limit: int = QUERY_SHOWN) -> str:
    """A follow's query as typed, on one line, escaped."""
    return escape_truncate(one_line(query), limit) or "everything"


def _names(queries: Sequence[str], joiner: str, room: int) -> str:
    """The queries, each shown, joined; cut to `room` as a whole when there are many."""
    unique = list(dict.fromkeys(queries))
    shown = joiner.join(shown_query(q) for q in unique)
    if len(shown) <= room:
        return shown
    return escape_truncate(one_line(joiner.join(unique)), room)


def follow_card(
    article: ArticleView, *, queries: Sequence[str], tz: ZoneInfo, review_channel: bool = False
) -> Message:
    """A follow's post: a line naming the queries it matched, then the article's card.

    In the review channel (NEWSBOT_REVIEW_CHANNEL, which follows the drafts from
    configuration) the line says the draft waits for review, and the card carries
    the buttons only reviewers get (Publish at…).
    """
    if review_channel:
        line = "📝 New draft, waiting for review"
    else:
        line = f"📌 Follows: {_names(queries, ' · ', limits.CONTEXT_TEXT - 20)}"
    blocks: list[Block] = [ContextBlock(block_id="follow-queries", elements=[md(line)])]
    blocks += card_blocks(article, tz=tz, review=True, reviewer=review_channel)
    title = escape_truncate(title_text(article), TITLE_FALLBACK_LIMIT)
    said = "waiting for review" if review_channel else f"follows: {_names(queries, ' · ', 300)}"
    text = f"{title} ({said})"
    return Message(text=text, blocks=to_dicts(blocks))


def follow_summary(
    articles: Sequence[ArticleView], *, more: int, queries: Sequence[str]
) -> Message:
    """ "N more articles match QUERY": their titles as links, hottest first, then a count."""
    total = len(articles) + more
    said = f"{_plural(total, 'more article')} {'matches' if total == 1 else 'match'}"
    names = _names(queries, " or ", 2000) or "this channel's follows"
    blocks: list[Block] = [SectionBlock(block_id="follow-summary", text=md(f"*{said}* {names}"))]
    lines = [f"• {headline(a)} · 🔥 {a.heat}" for a in articles]
    for i, section in enumerate(_pack(lines, limits.SECTION_TEXT)):
        blocks.append(SectionBlock(block_id=f"follow-summary-{i}", text=md(section)))
    if more:
        tail = f"…and {more} more: search with `/news` to see them all."
        blocks.append(ContextBlock(block_id="follow-summary-more", elements=[md(tail)]))
    return Message(text=f"{said} {_names(queries, ' or ', 300)}", blocks=to_dicts(blocks))


def follow_added(
    follow: FollowRecord, *, previews: Sequence[ArticleView], burst: int, tz: ZoneInfo
) -> Message:
    """The answer to `/news follow`: what is followed now, and the newest matches (not posted)."""
    q = shown_query(follow.query, 600)
    said = (
        f"This channel now follows *{q}* (follow {follow.number}). Articles that arrive or "
        f"start to match from now on are posted here, at most {_plural(burst, 'card')} in any "
        "10 minutes; more go into one summary."
    )
    blocks: list[Block] = [SectionBlock(block_id="follow-added", text=md(said))]
    if previews:
        shown = previews[:PREVIEWS]
        note = f"The newest {_plural(len(shown), 'match', 'matches')} today (not posted):"
        blocks.append(ContextBlock(block_id="follow-preview", elements=[md(note)]))
        for i, article in enumerate(shown):
            if i:
                blocks.append(DividerBlock())
            blocks += card_blocks(article, tz=tz)
    else:
        note = "Nothing matches it yet: cards come when articles that match arrive."
        blocks.append(ContextBlock(block_id="follow-preview", elements=[md(note)]))
    return Message(
        text=f"This channel now follows {q} (follow {follow.number}).", blocks=to_dicts(blocks)
    )


def follows_list(
    follows: Sequence[FollowRecord], *, limit: int, notice: str | None = None
) -> Message:
    """`/news follows`: each follow's query, who made it and when, its cards, and Unfollow."""
    blocks: list[Block] = []
    notice = escape_truncate(one_line(notice), 1000) if notice else ""
    if notice:
        blocks.append(SectionBlock(block_id="follows-notice", text=md(notice)))
    if not follows:
        text = "This channel follows nothing yet: /news follow QUERY posts new articles that match."
        blocks.append(SectionBlock(block_id="follows-none", text=md(text)))
        return Message(text=f"{notice} {text}".strip(), blocks=to_dicts(blocks))
    counted = f"This channel follows {_plural(len(follows), 'query', 'queries')}"
    blocks.append(SectionBlock(block_id="follows-header", text=md(f"*{counted}*")))
    for follow in follows:
        who = (
            "set by newsbot's configuration"
            if follow.configured
            else f"by {user_mention(follow.created_by, follow.created_by_name)}"
        )
        line = (
            f"*{follow.number}.* {shown_query(follow.query, 600)}\n"
            f"{who} · {date_token(follow.created_at)} · {_plural(follow.cards, 'card')} posted"
        )
        button = None
        if not follow.configured:
            button = ButtonElement(
                text=plain("Unfollow"),
                action_id=actions.FOLLOW_UNFOLLOW,
                value=actions.unfollow_value(follow.channel, follow.number),
            )
        blocks.append(
            SectionBlock(block_id=f"follow:{follow.number}", text=md(line), accessory=button)
        )
    hint = f"`/news follow QUERY` adds one ({limit} at most) · `/news unfollow N` removes one"
    blocks.append(ContextBlock(block_id="follows-hint", elements=[md(hint)]))
    text = f"{notice} {counted}." if notice else f"{counted}."
    return Message(text=text, blocks=to_dicts(blocks))


_CANNOT_FOLLOW = {
    "im": (
        "Follows post into channels: type /news follow in the channel that should get the "
        "cards (after /invite @newsbot there)."
    ),
    "not_in_channel": (
        "I'm not in this channel, so I could not post what it follows: invite me with "
        "/invite @newsbot, then follow again."
    ),
    "is_archived": "This channel is archived, so nothing can be posted here.",
    "missing_scope": (
        "newsbot may not look this channel up (missing_scope): reinstall the app from its "
        "manifest, which asks for channels:read, groups:read and mpim:read, then follow again."
    ),
    "unreachable": (
        "Slack could not be reached to check this channel: nothing was changed, try again in "
        "a minute."
    ),
}
# A private channel the bot is not in is one it cannot see.
_CANNOT_FOLLOW["channel_not_found"] = _CANNOT_FOLLOW["not_in_channel"]


def cannot_follow(reason: str) -> str:
    """Why this conversation cannot follow anything (a Slack error code, "im" or "unreachable")."""
    return _CANNOT_FOLLOW.get(
        reason,
        f"Slack would not say whether I can post here ({reason or 'no reason given'}): "
        "nothing was changed.",
    )


BROKEN_FOLLOW_BUTTON = "That button is broken: type /news follows for a fresh list."
