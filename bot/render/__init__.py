"""Pure Block Kit rendering: storage dataclasses in, Block Kit dicts out, no I/O.

Everything here builds `slack_sdk.models.blocks` objects and serializes them with
`to_dict()`, so a Block Kit limit we miss raises in tests instead of in a channel.
"""

from bot.render import actions
from bot.render.card import article_card, decided_card
from bot.render.follows import (
    BROKEN_FOLLOW_BUTTON,
    cannot_follow,
    follow_added,
    follow_card,
    follow_summary,
    follows_list,
)
from bot.render.message import Message
from bot.render.mrkdwn import escape, link, truncate
from bot.render.reminder import reminder_message
from bot.render.replace import replace_card
from bot.render.replies import (
    BROKEN_BUTTON,
    NOT_INDEXED,
    DecisionReply,
    already_decided,
    cannot_post,
    changed_upstream,
    channel_refusal,
    decision_reply,
    not_a_reviewer,
    undone_later,
)
from bot.render.schedule import (
    cancel_reply,
    failure_notice,
    publish_at_error,
    publish_at_modal,
    scheduled_message,
    scheduled_reply,
)
from bot.render.views import (
    HOME_TOPICS,
    REVIEW_PAGE_SIZE,
    HomeQueue,
    app_home,
    digest_messages,
    ephemeral_text,
    help_message,
    results_message,
    review_queue_message,
    shared_message,
    topics_message,
    unfurl_blocks,
)

__all__ = [
    "BROKEN_BUTTON",
    "BROKEN_FOLLOW_BUTTON",
    "HOME_TOPICS",
    "NOT_INDEXED",
    "REVIEW_PAGE_SIZE",
    "DecisionReply",
    "HomeQueue",
    "Message",
    "actions",
    "already_decided",
    "app_home",
    "article_card",
    "cancel_reply",
    "cannot_follow",
    "cannot_post",
    "changed_upstream",
    "channel_refusal",
    "decided_card",
    "decision_reply",
    "digest_messages",
    "ephemeral_text",
    "escape",
    "failure_notice",
    "follow_added",
    "follow_card",
    "follow_summary",
    "follows_list",
    "help_message",
    "link",
    "not_a_reviewer",
    "publish_at_error",
    "publish_at_modal",
    "reminder_message",
    "replace_card",
    "results_message",
    "review_queue_message",
    "scheduled_message",
    "scheduled_reply",
    "shared_message",
    "topics_message",
    "truncate",
    "undone_later",
    "unfurl_blocks",
]
