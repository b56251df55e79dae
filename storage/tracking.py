"""What the Slack surface remembers between requests: handled retries, posted messages.

A posted card remembers the article version it shows. After a decision, the
messages whose cards are behind their article are edited in Slack one at a
time per message, under a lease: no database transaction is ever open while
Slack is called.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, or_, select, update
from sqlalchemy.orm import Session

from storage.db import insert_if_absent, update_won
from storage.models import (
    Article,
    HandledRequest,
    PendingPost,
    PostedCard,
    PostedMessage,
    utcnow,
)

#: How long a holder may take to edit one message (a rate-limited chat.update waits).
UPDATE_LEASE = timedelta(minutes=5)


def claim_request(session: Session, key: str) -> bool:
    """True the first time a Slack request key is seen; False for its retries."""
    return insert_if_absent(session, HandledRequest, key=key[:255], handled_at=utcnow())


def forget_requests(session: Session, *, older_than: timedelta = timedelta(days=1)) -> int:
    """Drop request keys old enough that Slack no longer retries them."""
    cutoff: datetime = utcnow() - older_than
    done = session.execute(delete(HandledRequest).where(HandledRequest.handled_at < cutoff))
    return cast(CursorResult[Any], done).rowcount


def article_versions(session: Session, article_ids: Iterable[int]) -> dict[int, int]:
    """The current version of each of these articles.

    Read it before the article itself: a card rendered from a newer row than
    its recorded version is refreshed once more, never left behind.
    """
    ids = list(dict.fromkeys(article_ids))
    if not ids:
        return {}
    return dict(
        session.execute(select(Article.id, Article.version).where(Article.id.in_(ids))).all()
    )


def record_message(
    session: Session,
    *,
    channel: str,
    message_ts: str,
    kind: str,
    text: str,
    blocks: list[dict[str, Any]],
    shown: Mapping[int, int],
) -> int:
    """Remember a message the app posted and its cards: {article id: version it shows}."""
    message = PostedMessage(
        channel=channel, message_ts=message_ts, kind=kind, text=text, blocks=blocks
    )
    session.add(message)
    session.flush()
    for article_id, version in shown.items():
        session.add(
            PostedCard(posted_message_id=message.id, article_id=article_id, shown_version=version)
        )
    session.flush()
    return message.id


# --- posts written down before the Slack call ---------------------------------


def add_pending_post(
    session: Session,
    *,
    channel: str,
    kind: str,
    text: str,
    blocks: list[dict[str, Any]],
    shown: Mapping[int, int],
) -> int:
    """Write down a message about to be posted; its id for `confirm_post` or `drop_pending_post`."""
    post = PendingPost(
        channel=channel,
        kind=kind,
        text=text,
        blocks=blocks,
        cards={str(k): v for k, v in shown.items()},
        created_at=utcnow(),
    )
    session.add(post)
    session.flush()
    return post.id


def confirm_post(session: Session, pending_id: int, *, channel: str, message_ts: str) -> int | None:
    """Slack accepted the pending post: record it as posted. The posted message's id."""
    post = session.get(PendingPost, pending_id)
    if post is None:
        return None
    message_id = record_message(
        session,
        channel=channel,
        message_ts=message_ts,
        kind=post.kind,
        text=post.text,
        blocks=post.blocks,
        shown={int(k): int(v) for k, v in post.cards.items()},
    )
    session.delete(post)
    return message_id


def drop_pending_post(session: Session, pending_id: int) -> None:
    """Slack did not post it: forget it."""
    session.execute(delete(PendingPost).where(PendingPost.id == pending_id))


def forget_pending_posts(session: Session, *, older_than: timedelta = timedelta(days=1)) -> int:
    """Drop posts whose outcome was never learnt (the process stopped during the call)."""
    cutoff = utcnow() - older_than
    done = session.execute(delete(PendingPost).where(PendingPost.created_at < cutoff))
    return cast(CursorResult[Any], done).rowcount


def pending_posts(session: Session) -> list[PendingPost]:
    """Posts written down and not (yet) confirmed, oldest first."""
    return list(session.scalars(select(PendingPost).order_by(PendingPost.id)))


# --- keeping posted cards up to date ---------------------------------------------


def messages_showing(session: Session, article_id: int) -> list[PostedMessage]:
    """Every posted message that carries this article's card, oldest first."""
    return list(
        session.scalars(
            select(PostedMessage)
            .join(PostedCard, PostedCard.posted_message_id == PostedMessage.id)
            .where(PostedCard.article_id == article_id)
            .order_by(PostedMessage.id)
        )
    )


def cards_behind(session: Session, message_id: int) -> dict[int, int]:
    """The message's cards older than their article: {article id: current version}."""
    return dict(
        session.execute(
            select(PostedCard.article_id, Article.version)
            .join(Article, Article.id == PostedCard.article_id)
            .where(
                PostedCard.posted_message_id == message_id,
                Article.version != PostedCard.shown_version,
            )
        ).all()
    )


def messages_behind(session: Session, *, posted_since: datetime) -> list[int]:
    """Posted messages (since that moment) with a card older than its article, oldest first.

    What a crash after a decision, or a Slack call that failed, left for later.
    """
    return list(
        session.scalars(
            select(PostedMessage.id)
            .join(PostedCard, PostedCard.posted_message_id == PostedMessage.id)
            .join(Article, Article.id == PostedCard.article_id)
            .where(
                PostedMessage.posted_at >= posted_since,
                Article.version != PostedCard.shown_version,
            )
            .distinct()
            .order_by(PostedMessage.id)
        )
    )


def forget_message(session: Session, message_id: int) -> None:
    """Stop keeping a message up to date (Slack says it is gone or cannot be edited)."""
    session.execute(delete(PostedCard).where(PostedCard.posted_message_id == message_id))
    session.execute(delete(PostedMessage).where(PostedMessage.id == message_id))


def claim_update(session: Session, message_id: int, holder: str) -> bool:
    """Take the lease to edit a message in Slack; False while someone else holds it.

    One conditional UPDATE: of several claimants, one gets it.
    """
    now = utcnow()
    return update_won(
        session,
        PostedMessage,
        PostedMessage.id == message_id,
        or_(PostedMessage.updating_by.is_(None), PostedMessage.updating_until < now),
        updating_by=holder,
        updating_until=now + UPDATE_LEASE,
    )


def record_update(
    session: Session, message_id: int, *, blocks: list[dict[str, Any]], shown: Mapping[int, int]
) -> None:
    """Slack has the message with these blocks, whose cards show these article versions."""
    session.execute(
        update(PostedMessage).where(PostedMessage.id == message_id).values(blocks=blocks)
    )
    for article_id, version in shown.items():
        session.execute(
            update(PostedCard)
            .where(PostedCard.posted_message_id == message_id, PostedCard.article_id == article_id)
            .values(shown_version=version)
        )


def release_update(session: Session, message_id: int, holder: str, *, unless_behind: bool) -> bool:
    """Give the lease back; with `unless_behind`, only when no card is behind (else False).

    The message row is locked before cards are compared, so a decision that
    lands meanwhile either is seen here or finds the lease free to claim.
    """
    session.scalars(
        select(PostedMessage.id).where(PostedMessage.id == message_id).with_for_update()
    ).first()
    if unless_behind and cards_behind(session, message_id):
        return False
    session.execute(
        update(PostedMessage)
        .where(PostedMessage.id == message_id, PostedMessage.updating_by == holder)
        .values(updating_by=None, updating_until=None)
    )
    return True
