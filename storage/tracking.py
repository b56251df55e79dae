"""What the Slack surface remembers between requests: handled retries, posted messages."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.db import insert_if_absent
from storage.models import HandledRequest, PostedCard, PostedMessage, utcnow


def claim_request(session: Session, key: str) -> bool:
    """True the first time a Slack request key is seen; False for its retries."""
    return insert_if_absent(session, HandledRequest, key=key[:255], handled_at=utcnow())


def forget_requests(session: Session, *, older_than: timedelta = timedelta(days=1)) -> int:
    """Drop request keys old enough that Slack no longer retries them."""
    cutoff: datetime = utcnow() - older_than
    return session.execute(
        delete(HandledRequest).where(HandledRequest.handled_at < cutoff)
    ).rowcount


def record_message(
    session: Session,
    *,
    channel: str,
    message_ts: str,
    kind: str,
    text: str,
    blocks: list[dict[str, Any]],
    article_ids: Iterable[int],
) -> None:
    """Remember a message the app posted and the article cards in it (a share, a digest part)."""
    message = PostedMessage(
        channel=channel, message_ts=message_ts, kind=kind, text=text, blocks=blocks
    )
    session.add(message)
    session.flush()
    for article_id in dict.fromkeys(article_ids):
        session.add(PostedCard(posted_message_id=message.id, article_id=article_id))


def messages_showing(session: Session, article_id: int) -> list[PostedMessage]:
    """Every posted message that carries this article's card, oldest first, locked for update."""
    return list(
        session.scalars(
            select(PostedMessage)
            .join(PostedCard, PostedCard.posted_message_id == PostedMessage.id)
            .where(PostedCard.article_id == article_id)
            .order_by(PostedMessage.id)
            .with_for_update(of=PostedMessage)
        )
    )
