"""Channels following `/news` queries, and the claims that post each find once.

A follow is a row per channel and query (`/news follow`), numbered per channel;
removing one keeps the row, for `newsbot audit`. Every index run (whichever
process runs it) matches what it added or changed against all follows at once
(`RunFinds`, used by storage.sync) and records what it found as claims, one row
per channel and article, ever (unique): a restart, a replica or a re-index
finds the row and posts nothing. The poster (bot.flows.follows) takes a
channel's lease, then each claim by a conditional UPDATE before calling Slack,
looking again in that transaction whether the card is still wanted. A claim
that never reached the channel (dropped, expired) is made pending again when
its article matches again: only what was posted, or may have been, stands.

Functions take a Session first and never commit; the caller owns the
transaction.
"""

from __future__ import annotations

import heapq
import re
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, func, null, or_, select, text, union, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.db import insert_if_absent, update_won
from storage.matching import (
    ArticleState,
    Compiled,
    FollowQuery,
    Matcher,
    article_states,
    build_matcher,
    search_vectors,
    sort_key,
)
from storage.models import (
    Article,
    Base,
    Follow,
    FollowChannel,
    FollowClaim,
    FollowExtra,
    utcnow,
)
from storage.search import Query, QueryError, parse_query
from storage.types import FollowEvent, FollowRecord

MAX_FOLLOWS = 25  # user follows per channel
MAX_QUERY = 500  # characters
#: Cards posted per channel in any `WINDOW`, at most (NEWSBOT_FOLLOW_BURST, 1 to MAX_BURST).
MAX_BURST = 50
WINDOW = timedelta(minutes=10)
#: Titles a summary lists; the rest are counted.
SUMMARY_TITLES = 20
#: Finds an index run keeps per channel as claims (a burst and a summary's titles);
#: beyond them it only counts.
KEEP_PER_RUN = MAX_BURST + SUMMARY_TITLES
#: A claim Slack refused is made pending again by an index run within this long of the refusal.
RETRY_FOR = timedelta(days=1)
#: How long a poster may hold a channel.
LEASE = timedelta(minutes=5)

#: Claims that never reached the channel: the article matching again makes them pending.
#: "missing" ones (the article was missing when their turn came) also when the file comes back.
REARMABLE = ("dropped", "expired", "missing")

USER, CONFIG = "user", "config"  # FollowRecord.source
CONFIG_NAME = "configuration"

_SINCE = re.compile(r"(?:^|\s)since:", re.IGNORECASE)


class FollowError(ValueError):
    """A follow or unfollow that cannot be done; the message is one sentence saying why."""


def _record(row: Follow) -> FollowRecord:
    return FollowRecord(
        id=row.id,
        channel=row.channel,
        number=row.number,
        query=row.query,
        source=row.source,
        created_by=row.created_by,
        created_by_name=row.created_by_name,
        created_at=row.created_at,
        cards=row.cards,
        removed_by=row.removed_by,
        removed_by_name=row.removed_by_name,
        removed_at=row.removed_at,
    )


# --- following and unfollowing ------------------------------------------------------


def check_query(typed: str) -> Query:
    """The follow's query, parsed as `/news` parses it; FollowError when it cannot be followed."""
    typed = " ".join(typed.split())
    if not typed:
        raise FollowError("Say what to follow, as in /news follow ai heat>=70.")
    if len(typed) > MAX_QUERY:
        raise FollowError(
            f"A follow's query is at most {MAX_QUERY} characters; this one has {len(typed)}."
        )
    refusal = FollowError(
        "since: does not go with a follow, which posts what arrives from now on: "
        "leave it out and follow the rest."
    )
    if _SINCE.search(typed):  # before parsing: a bad date would be the wrong complaint
        raise refusal
    try:
        query = parse_query(typed)
    except QueryError as exc:
        raise FollowError(f"{exc}.") from None
    if query.since is not None:  # written so that only the parser sees it
        raise refusal
    return query


def active_follows(session: Session, channel: str | None = None) -> list[FollowRecord]:
    """Follows not removed, of one channel or all, by channel and number."""
    stmt = select(Follow).where(Follow.removed_at.is_(None))
    if channel is not None:
        stmt = stmt.where(Follow.channel == channel)
    return [_record(f) for f in session.scalars(stmt.order_by(Follow.channel, Follow.number))]


def add_follow(
    session: Session,
    *,
    channel: str,
    typed: str,
    user_id: str,
    user_name: str,
    source: str = USER,
    now: datetime | None = None,
) -> FollowRecord:
    """Make the channel follow the query; FollowError (one sentence) when it may not.

    Numbers go up per channel and are never reused. Two follows made at once
    in one channel would take the same number: the unique constraint makes one
    of them try again, after which it sees the other (and the limit).
    """
    query = check_query(typed)
    now = now or utcnow()
    for _attempt in range(5):
        current = active_follows(session, channel)
        same = next((f for f in current if f.query.casefold() == query.text.casefold()), None)
        if same is not None and source == USER:
            raise FollowError(f"This channel follows {same.query} already (follow {same.number}).")
        if source == USER and sum(f.source == USER for f in current) >= MAX_FOLLOWS:
            raise FollowError(
                f"This channel has {MAX_FOLLOWS} follows, the most it may have: remove one with "
                "/news unfollow N (/news follows lists them with their numbers)."
            )
        number = (
            session.scalar(select(func.max(Follow.number)).where(Follow.channel == channel)) or 0
        ) + 1
        row = Follow(
            channel=channel,
            number=number,
            query=query.text,
            source=source,
            created_by=user_id[:32],
            created_by_name=user_name[:255],
            created_at=now,
            cards=0,
        )
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:
            continue
        insert_if_absent(session, FollowChannel, channel=channel)
        return _record(row)
    raise FollowError("Too many follows are being made in this channel at once: try again.")


def remove_follow(
    session: Session,
    *,
    channel: str,
    number: int,
    user_id: str,
    user_name: str,
    now: datetime | None = None,
) -> FollowRecord:
    """Remove follow `number` of the channel (once: a second click finds it gone)."""
    row = session.scalars(
        select(Follow).where(Follow.channel == channel, Follow.number == number)
    ).first()
    if row is None:
        raise FollowError(
            f"This channel has no follow {number}: /news follows lists them with their numbers."
        )
    if row.source == CONFIG:
        raise FollowError(
            f"Follow {number} ({row.query}) comes from newsbot's configuration and stays while "
            "it is configured."
        )
    now = now or utcnow()
    removed = session.execute(
        update(Follow)
        .where(Follow.id == row.id, Follow.removed_at.is_(None))
        .values(removed_at=now, removed_by=user_id[:32], removed_by_name=user_name[:255])
        .returning(Follow.id)
    ).first()
    if removed is None:
        raise FollowError(f"Follow {number} ({row.query}) was removed already.")
    session.refresh(row)
    return _record(row)


def set_config_follow(session: Session, *, channel: str | None, query: str) -> None:
    """Make `channel` the one channel following `query` from configuration (None: no channel).

    There is at most one such follow. A different channel or query removes the
    old one (recorded as removed by the configuration) and adds the new;
    the same leaves it be. Users cannot unfollow it; it is listed as set by the
    configuration and does not count against a channel's limit.
    """
    existing = session.scalars(
        select(Follow).where(Follow.source == CONFIG, Follow.removed_at.is_(None))
    ).all()
    wanted = " ".join(query.split())
    keep = None
    now = utcnow()
    for row in existing:
        if keep is None and channel is not None and (row.channel, row.query) == (channel, wanted):
            keep = row
            continue
        row.removed_at, row.removed_by, row.removed_by_name = now, CONFIG, CONFIG_NAME
    session.flush()
    if channel is not None and keep is None:
        add_follow(
            session,
            channel=channel,
            typed=wanted,
            user_id=CONFIG,
            user_name=CONFIG_NAME,
            source=CONFIG,
            now=now,
        )


def follow_events_since(session: Session, since: datetime) -> list[FollowEvent]:
    """Follows made and removed since that moment, oldest first."""
    rows = session.scalars(
        select(Follow).where(or_(Follow.created_at >= since, Follow.removed_at >= since))
    ).all()
    events = []
    for row in rows:
        if row.created_at >= since:
            events.append(
                FollowEvent(
                    row.created_at,
                    row.created_by,
                    row.created_by_name,
                    "follow",
                    row.channel,
                    row.number,
                    row.query,
                    row.source,
                )
            )
        if row.removed_at is not None and row.removed_at >= since:
            events.append(
                FollowEvent(
                    row.removed_at,
                    row.removed_by or "",
                    row.removed_by_name or "",
                    "unfollow",
                    row.channel,
                    row.number,
                    row.query,
                    row.source,
                )
            )
    return sorted(events, key=lambda e: (e.at, e.channel, e.number, e.action))


# The active follows as last read, by database and channel, with what they were read at:
# the newest follow and the number removed, which any follow or unfollow changes.
_READ: dict[tuple[str, str | None], tuple[tuple[Any, ...], list[FollowQuery]]] = {}


def load_matcher(session: Session, channel: str | None = None) -> Matcher:
    """A matcher for the active follows (of one channel, or all)."""
    newest = select(func.max(Follow.id), func.max(Follow.created_at), func.count(Follow.removed_at))
    mark = tuple(session.execute(newest).one())
    key = (repr(session.get_bind().engine.url), channel)
    known = _READ.get(key)
    if known is not None and known[0] == mark:
        follows = known[1]
    else:
        stmt = select(Follow.id, Follow.channel, Follow.query).where(Follow.removed_at.is_(None))
        if channel is not None:
            stmt = stmt.where(Follow.channel == channel)
        follows = [FollowQuery(i, c, q) for i, c, q in session.execute(stmt)]
        if len(_READ) > 1000:
            _READ.clear()
        _READ[key] = (mark, follows)
    return build_matcher(session, follows)


# --- what an index run finds ---------------------------------------------------------


@dataclass(slots=True)
class _Kept:
    """The hottest finds of one channel in one run, and a count of the rest."""

    heap: list[tuple[Any, ...]]  # (sort key, article id); the coldest on top
    follows: dict[int, set[int]]  # article id -> ids of the follows that matched
    extra: int  # finds beyond the heap, counted only
    extra_follows: set[int]  # and the follows they matched


class RunFinds:
    """What one index run found for the follows: at most KEEP_PER_RUN per channel, and a count.

    storage.sync calls `old_states` before it updates rows, `observe` with each
    batch it wrote (inside that batch's transaction), `accept` once the batch
    is committed, and `record` at the end of the run. Channels in `keep_all`
    (the review channel: each find goes out as its card, none in a summary)
    keep every find as a claim.
    """

    def __init__(
        self,
        matcher: Matcher,
        *,
        postgres: bool,
        run: str | None = None,
        keep_all: Collection[str] = (),
    ) -> None:
        self.matcher = matcher
        self.postgres = postgres
        self.run = run or new_run_id()
        self.keep_all = frozenset(keep_all)
        self._kept: dict[str, _Kept] = {}

    def old_states(self, session: Session, ids: Collection[int]) -> dict[int, ArticleState]:
        """The rows as they are before this batch changes them."""
        return article_states(session, ids)

    def observe(
        self,
        session: Session,
        added: Sequence[ArticleState],
        updated: Sequence[ArticleState],
        old: dict[int, ArticleState],
        topics: Collection[str],
    ) -> list[tuple[ArticleState, list[Compiled]]]:
        """This batch's finds: each article that now matches, with the follows it matches now.

        An article whose file comes back after it went missing is compared with
        what it was before it went missing: back unchanged, it is no new match,
        except in a channel where its find was waiting when it went missing
        (claim "missing"): that find never went out, so it is found again.
        """
        matcher = self.matcher
        matcher.set_topics(topics)
        if self.postgres and matcher.needs_words:
            words = search_vectors(session, [s.id for s in (*added, *updated)])
            for state in (*added, *updated):
                state.words = words.get(state.id, frozenset())
        finds = []
        for state in added:
            if matched := matcher.matches(state):
                finds.append((state, matched))
        changed: list[tuple[ArticleState, list[Compiled], list[Compiled]]] = []
        back: set[int] = set()
        for state in updated:
            if not (now := matcher.matches(state)):
                continue
            before = old.get(state.id)
            if before is not None and before.missing:
                before = replace(before, missing=False)
                back.add(state.id)
            was = {f.id for f in matcher.matches(before)} if before is not None else set()
            fresh = [f for f in now if f.id not in was]
            if fresh or state.id in back:
                changed.append((state, fresh, now))
        if changed:
            standing = _standing_pairs(session, {state.id for state, _f, _n in changed})
            lost = _pairs_with(session, back, "missing") if back else set()
            for state, fresh, now in changed:
                left = [f for f in fresh if (f.channel, state.id) not in standing]
                left += [f for f in now if f not in left and (f.channel, state.id) in lost]
                if left:
                    finds.append((state, left))
        return finds

    def accept(self, finds: Sequence[tuple[ArticleState, list[Compiled]]]) -> None:
        """Keep a committed batch's finds: the hottest per channel, the rest counted."""
        all_kept = self._kept
        for state, matched in finds:
            entry = (sort_key(state), state.id)
            # channel -> the follow ids where the article is kept, None where it is counted
            placed: dict[str, set[int] | None] = {}
            for follow in matched:
                channel = follow.channel
                if channel in placed:
                    ids = placed[channel]
                    if ids is None:
                        all_kept[channel].extra_follows.add(follow.id)
                    else:
                        ids.add(follow.id)
                    continue
                kept = all_kept.get(channel)
                if kept is None:
                    kept = all_kept[channel] = _Kept([], {}, 0, set())
                heap = kept.heap
                if len(heap) < KEEP_PER_RUN or channel in self.keep_all:
                    heapq.heappush(heap, entry)
                elif entry > heap[0]:
                    coldest = heapq.heapreplace(heap, entry)
                    kept.extra += 1
                    kept.extra_follows.update(kept.follows.pop(coldest[1]))
                else:
                    kept.extra += 1
                    kept.extra_follows.add(follow.id)
                    placed[channel] = None
                    continue
                kept.follows[state.id] = placed[channel] = {follow.id}

    @property
    def found(self) -> int:
        """How many finds the run keeps as claims."""
        return sum(len(k.heap) for k in self._kept.values())

    def record(self, session: Session, *, now: datetime | None = None) -> int:
        """Write the run's finds as pending claims, and make released claims pending again.

        Returns how many claims are pending for the posters now from this run.
        """
        now = now or utcnow()
        rearmed = rearm_released(session, run=self.run, now=now) if has_released(session) else 0
        rows = [
            {
                "channel": channel,
                "article_id": article_id,
                "follow_ids": sorted(kept.follows[article_id]),
                "status": "pending",
                "run": self.run,
                "found_at": now,
            }
            for channel, kept in self._kept.items()
            for _key, article_id in kept.heap
        ]
        inserted = _insert_claims(session, rows)
        extras = [
            FollowExtra(
                channel=channel,
                run=self.run,
                count=kept.extra,
                follow_ids=sorted(kept.extra_follows),
                status="pending",
                found_at=now,
            )
            for channel, kept in self._kept.items()
            if kept.extra
        ]
        session.add_all(extras)
        session.flush()
        self._kept = {}
        return rearmed + inserted


def new_run_id() -> str:
    """A name for one index run (or decision) in the claims it leaves."""
    return f"{utcnow():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def _standing_pairs(session: Session, article_ids: Collection[int]) -> set[tuple[str, int]]:
    """The (channel, article) pairs of these articles with a claim a new match leaves be."""
    return _pairs(session, article_ids, FollowClaim.status.not_in(REARMABLE))


def _pairs_with(
    session: Session, article_ids: Collection[int], status: str
) -> set[tuple[str, int]]:
    """The (channel, article) pairs of these articles whose claim has this status."""
    return _pairs(session, article_ids, FollowClaim.status == status)


def _pairs(session: Session, article_ids: Collection[int], where: Any) -> set[tuple[str, int]]:
    ids = sorted(article_ids)
    pairs: set[tuple[str, int]] = set()
    for start in range(0, len(ids), 1000):
        rows = session.execute(
            select(FollowClaim.channel, FollowClaim.article_id).where(
                FollowClaim.article_id.in_(ids[start : start + 1000]), where
            )
        )
        pairs.update((channel, article_id) for channel, article_id in rows)
    return pairs


def config_channels(session: Session) -> set[str]:
    """Channels following from configuration (the review channel), whose finds all go out as
    cards: none goes into a summary."""
    rows = session.scalars(
        select(Follow.channel).where(Follow.source == CONFIG, Follow.removed_at.is_(None))
    )
    return set(rows)


def _insert_claims(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert claims, one per (channel, article): the database decides.

    A (channel, article) with a claim that never reached the channel (dropped,
    expired, missing) takes the new find in its place; any other claim stands and the
    find is left out. Returns how many were offered (a race with a decision
    may have taken a few).
    """
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = Base.metadata.tables["follow_claims"]
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["channel", "article_id"],
        set_={
            "follow_ids": stmt.excluded.follow_ids,
            "status": stmt.excluded.status,
            "run": stmt.excluded.run,
            "found_at": stmt.excluded.found_at,
            "claimed_by": null(),
            "claimed_at": null(),
            "posted_at": null(),
            "message_ts": null(),
        },
        # Literal SQL: an executemany takes no expanding IN parameter.
        where=text("follow_claims.status IN ('dropped', 'expired', 'missing')"),
    )
    for start in range(0, len(rows), 1000):
        session.execute(stmt, rows[start : start + 1000])
    return len(rows)


def has_released(session: Session) -> bool:
    """Whether any claim waits for an index run to make it pending again."""
    found = session.scalar(select(FollowClaim.id).where(FollowClaim.status == "released").limit(1))
    return found is not None or (
        session.scalar(select(FollowExtra.id).where(FollowExtra.status == "released").limit(1))
        is not None
    )


def rearm_released(session: Session, *, run: str, now: datetime | None = None) -> int:
    """Claims Slack refused (or could not take) are pending again; those refused more than
    RETRY_FOR ago expire. A released claim's `claimed_at` is when Slack refused it: how long
    it waited to be posted before (a review queue drains slowly) does not count."""
    now = now or utcnow()
    session.execute(
        update(FollowClaim)
        .where(FollowClaim.status == "released", FollowClaim.claimed_at < now - RETRY_FOR)
        .values(status="expired")
    )
    session.execute(
        update(FollowExtra)
        .where(FollowExtra.status == "released", FollowExtra.found_at < now - RETRY_FOR)
        .values(status="expired")
    )
    again = session.execute(
        update(FollowClaim)
        .where(FollowClaim.status == "released")
        .values(status="pending", run=run, claimed_by=None, claimed_at=None)
    )
    session.execute(
        update(FollowExtra).where(FollowExtra.status == "released").values(status="pending")
    )
    return cast(CursorResult[Any], again).rowcount


def record_change(
    session: Session, state: ArticleState, before: ArticleState, *, run: str | None = None
) -> int:
    """Claims for an article a review decision changed so that it now matches; how many."""
    matcher = load_matcher(session)
    if not matcher:
        return 0
    was = {f.id for f in matcher.matches(before)}
    by_channel: dict[str, list[int]] = {}
    for follow in matcher.matches(state):
        if follow.id not in was:
            by_channel.setdefault(follow.channel, []).append(follow.id)
    now = utcnow()
    run = run or new_run_id()
    return _insert_claims(
        session,
        [
            {
                "channel": channel,
                "article_id": state.id,
                "follow_ids": sorted(ids),
                "status": "pending",
                "run": run,
                "found_at": now,
            }
            for channel, ids in by_channel.items()
        ],
    )


# --- posting: what waits, the channel lease, claims -----------------------------------


def channels_waiting(session: Session) -> list[str]:
    """Channels with claims or counted finds waiting to be posted (one indexed query)."""
    claims = select(FollowClaim.channel).where(FollowClaim.status == "pending")
    extras = select(FollowExtra.channel).where(FollowExtra.status == "pending")
    return sorted(session.scalars(union(claims, extras)))


def claim_channel(session: Session, channel: str, holder: str, *, now: datetime) -> bool:
    """Take the channel's posting lease; False while another poster holds it."""
    insert_if_absent(session, FollowChannel, channel=channel)
    return update_won(
        session,
        FollowChannel,
        FollowChannel.channel == channel,
        or_(FollowChannel.posting_by.is_(None), FollowChannel.posting_until < now),
        posting_by=holder,
        posting_until=now + LEASE,
    )


def release_channel(session: Session, channel: str, holder: str) -> None:
    """Give the channel's posting lease back."""
    session.execute(
        update(FollowChannel)
        .where(FollowChannel.channel == channel, FollowChannel.posting_by == holder)
        .values(posting_by=None, posting_until=None)
    )


def hold_channel(session: Session, channel: str, holder: str, *, until: datetime) -> None:
    """Keep the channel's lease until then, though its holder has stopped posting there:
    no poster posts in the channel before (a rate limit's Retry-After, a pause after a
    refusal); the first to look after it takes the lease over."""
    session.execute(
        update(FollowChannel)
        .where(FollowChannel.channel == channel, FollowChannel.posting_by == holder)
        .values(posting_until=until)
    )


@dataclass(frozen=True, slots=True)
class Waiting:
    """A channel's pending claims, hottest first, and what else decides how they go out."""

    claims: list[tuple[int, int, list[int]]]  # (claim id, article id, follow ids)
    extras: list[tuple[int, int, list[int]]]  # (extra id, count, follow ids)
    room: int  # cards the burst allows now
    summary_recently: bool  # a summary taken in the last WINDOW
    summary_ts: str | None  # that summary's message, once Slack took it
    queue: bool  # the channel follows from configuration: cards only, at the burst rate


def waiting(session: Session, channel: str, *, now: datetime, burst: int) -> Waiting:
    """What the channel has waiting, as its lease holder sees it.

    A channel following from configuration (the review channel) posts every
    find as its card at the burst rate, so only the next burst's worth of
    its claims (and a few for those dropped) is read.
    """
    recent = session.scalar(
        select(func.count())
        .select_from(FollowClaim)
        .where(
            FollowClaim.channel == channel,
            FollowClaim.claimed_at >= now - WINDOW,
            FollowClaim.status.in_(("claimed", "posted")),
        )
    )
    room = max(0, burst - (recent or 0))
    queue = (
        session.scalar(
            select(Follow.id)
            .where(Follow.channel == channel, Follow.source == CONFIG, Follow.removed_at.is_(None))
            .limit(1)
        )
        is not None
    )
    stmt = (
        select(FollowClaim.id, FollowClaim.article_id, FollowClaim.follow_ids)
        .join(Article, Article.id == FollowClaim.article_id)
        .where(FollowClaim.channel == channel, FollowClaim.status == "pending")
        .order_by(Article.heat.desc(), Article.published_at.desc(), Article.id.desc())
    )
    claims = session.execute(stmt.limit(2 * room) if queue else stmt).all()
    extras = session.execute(
        select(FollowExtra.id, FollowExtra.count, FollowExtra.follow_ids)
        .where(FollowExtra.channel == channel, FollowExtra.status == "pending")
        .order_by(FollowExtra.id)
    ).all()
    summary = session.execute(
        select(FollowChannel.summary_at, FollowChannel.summary_ts).where(
            FollowChannel.channel == channel
        )
    ).first()
    recently = summary is not None and summary[0] is not None and summary[0] >= now - WINDOW
    return Waiting(
        claims=[(i, a, list(f or ())) for i, a, f in claims],
        extras=[(i, n, list(f or ())) for i, n, f in extras],
        room=room,
        summary_recently=recently,
        summary_ts=summary[1] if recently and summary is not None else None,
        queue=queue,
    )


def _wanted(
    session: Session,
    channel: str,
    claims: Sequence[tuple[int, int, Sequence[int]]],
    *,
    lock: bool = False,
) -> tuple[dict[int, list[int]], set[int]]:
    """Of these claims (id, article id, follow ids) of one channel, the follows each card would
    name now, and the claims whose article is missing. A card names the channel's follows as
    they are now (not those recorded when it was found: a follow replaced, as the review
    channel's is when its threshold changes, or one made since, counts) that match the
    article as it is (neither rejected nor missing); none, and it is not posted.

    The channel's follows are read FOR SHARE, which an unfollow's UPDATE waits
    for; with `lock` (one card) its article is locked as every review decision
    locks it first (FOR UPDATE on PostgreSQL; on SQLite the write transaction is
    the lock): no decision or unfollow slips in between this look and the claim
    it decides. A summary's articles are not locked: a title listed is no button.
    """
    if not claims:
        return {}, set()
    ids = sorted({article_id for _c, article_id, _f in claims})
    if lock:
        for article_id in ids:
            session.execute(select(Article.id).where(Article.id == article_id).with_for_update())
    session.execute(
        select(Follow.id)
        .where(Follow.channel == channel, Follow.removed_at.is_(None))
        .with_for_update(read=True)
    ).all()
    matcher = load_matcher(session, channel)
    states = article_states(session, ids)
    wanted, missing = {}, set()
    for claim_id, article_id, _follow_ids in claims:
        state = states.get(article_id)
        wanted[claim_id] = sorted({f.id for f in matcher.matches(state)}) if state else []
        if state is not None and state.missing:
            missing.add(claim_id)
    return wanted, missing


def _not_wanted(session: Session, wanted: dict[int, list[int]], missing: set[int]) -> None:
    """Claims no follow wants now: "missing" (found again when the file comes back) when
    their article is missing, else "dropped"."""
    unwanted = [c for c, ids in wanted.items() if not ids]
    set_status(session, [c for c in unwanted if c in missing], "missing")
    set_status(session, [c for c in unwanted if c not in missing], "dropped")


def set_status(
    session: Session, claim_ids: Collection[int], status: str, *, only_from: str = "pending"
) -> int:
    """Move claims from one status to another; how many moved."""
    if not claim_ids:
        return 0
    done = session.execute(
        update(FollowClaim)
        .where(FollowClaim.id.in_(list(claim_ids)), FollowClaim.status == only_from)
        .values(status=status)
    )
    return cast(CursorResult[Any], done).rowcount


def take_card(session: Session, claim_id: int, holder: str, *, now: datetime) -> list[int] | None:
    """Claim a pending card for posting: the follows it names, or None when it is not posted.

    One conditional UPDATE, so one poster wins. In the same transaction the
    card's reason is looked at again (`_wanted`): a card no follow of the
    channel matches now (its follows removed, its article rejected, missing or
    no longer matching) is dropped instead (a later match, or the file coming
    back, makes it pending).
    """
    row = session.execute(
        select(FollowClaim.channel, FollowClaim.article_id, FollowClaim.follow_ids).where(
            FollowClaim.id == claim_id, FollowClaim.status == "pending"
        )
    ).first()
    if row is None:
        return None
    channel, article_id, follow_ids = row
    claim = (claim_id, article_id, list(follow_ids or ()))
    wanted, missing = _wanted(session, channel, [claim], lock=True)
    named = wanted[claim_id]
    if not named:
        _not_wanted(session, wanted, missing)
        return None
    won = update_won(
        session,
        FollowClaim,
        FollowClaim.id == claim_id,
        FollowClaim.status == "pending",
        status="claimed",
        claimed_by=holder,
        claimed_at=now,
        follow_ids=named,
    )
    return named if won else None


def give_back(session: Session, claim_id: int, holder: str) -> None:
    """Slack rate-limited the card, so nothing went out: pending again, as if never taken.

    A poster that dies while it waits out the limit leaves the card to the next.
    """
    session.execute(
        update(FollowClaim)
        .where(
            FollowClaim.id == claim_id,
            FollowClaim.status == "claimed",
            FollowClaim.claimed_by == holder,
            FollowClaim.message_ts.is_(None),
        )
        .values(status="pending", claimed_by=None, claimed_at=None)
    )


def mark_posted(
    session: Session, claim_id: int, *, message_ts: str, follow_ids: Sequence[int]
) -> None:
    """Slack took the card: record its ts, and count it for each follow it names."""
    session.execute(
        update(FollowClaim)
        .where(FollowClaim.id == claim_id)
        .values(status="posted", message_ts=message_ts, posted_at=utcnow())
    )
    if follow_ids:
        session.execute(
            update(Follow).where(Follow.id.in_(list(follow_ids))).values(cards=Follow.cards + 1)
        )


def release_claims(
    session: Session, claim_ids: Collection[int], *, now: datetime | None = None
) -> None:
    """Slack refused these cards (or could not be reached): the next index run makes them
    pending again. `claimed_at` keeps when, for RETRY_FOR."""
    if claim_ids:
        session.execute(
            update(FollowClaim)
            .where(
                FollowClaim.id.in_(list(claim_ids)),
                FollowClaim.status.in_(("pending", "claimed")),
            )
            .values(status="released", claimed_by=None, claimed_at=now or utcnow())
        )


class Contended(Exception):
    """What a poster meant to take was taken by another meanwhile (its lease ran out)."""


@dataclass(frozen=True, slots=True)
class Summary:
    """A summary message as it is to read, and what this poster took into it."""

    claim_ids: list[int]  # taken now
    extra_ids: list[int]  # taken now
    listed: list[int]  # article ids it lists, hottest first (at most SUMMARY_TITLES)
    more: int  # the articles it only counts
    follow_ids: list[int]  # the follows it names
    into: str | None  # the message it grows, or None for a new one
    previous: tuple[datetime | None, str | None]  # the channel's summary before a new one


def take_summary(
    session: Session,
    channel: str,
    claims: Sequence[tuple[int, int, Sequence[int]]],
    extras: Sequence[tuple[int, int, Sequence[int]]],
    *,
    now: datetime,
    into: str | None = None,
) -> Summary | None:
    """Take what waits into a summary, before it is posted (or, `into` a message, grown).

    Claims are looked at again as `take_card` does, and those no longer wanted
    dropped, as are counted finds whose follows were all removed; None when
    nothing is left. A new summary marks the channel's summary time (the
    window); one grown lists everything it carries, hottest first. Raises
    Contended when any of it was taken meanwhile (roll back).
    """
    wanted, missing = _wanted(session, channel, claims)
    _not_wanted(session, wanted, missing)
    kept = {c: ids for c, ids in wanted.items() if ids}
    active = follow_queries(session, {i for _e, _n, ids in extras for i in ids})
    counted = {e: [i for i in ids if i in active] for e, _n, ids in extras}
    gone = [e for e, ids in counted.items() if not ids]
    if gone:
        session.execute(
            update(FollowExtra)
            .where(FollowExtra.id.in_(gone), FollowExtra.status == "pending")
            .values(status="dropped")
        )
    counted = {e: ids for e, ids in counted.items() if ids}
    if not kept and not counted:
        return None
    row = session.get(FollowChannel, channel, populate_existing=True)
    previous = (row.summary_at, row.summary_ts) if row is not None else (None, None)
    if into is not None and previous[1] != into:
        raise Contended
    taken = 0
    for claim_id, ids in kept.items():
        done = session.execute(
            update(FollowClaim)
            .where(FollowClaim.id == claim_id, FollowClaim.status == "pending")
            .values(status="summarized", follow_ids=ids, claimed_at=now, message_ts=into)
        )
        taken += cast(CursorResult[Any], done).rowcount
    for extra_id, ids in counted.items():
        done = session.execute(
            update(FollowExtra)
            .where(FollowExtra.id == extra_id, FollowExtra.status == "pending")
            .values(status="summarized", follow_ids=ids, message_ts=into)
        )
        taken += cast(CursorResult[Any], done).rowcount
    if taken != len(kept) + len(counted):
        raise Contended
    claim_ids, extra_ids = list(kept), list(counted)
    if into is None:
        session.execute(
            update(FollowChannel)
            .where(FollowChannel.channel == channel)
            .values(summary_at=now, summary_ts=None)
        )
    else:  # all it carries: what it had, and what is taken into it now
        claim_ids = _carried(session, FollowClaim, channel, into)
        extra_ids = _carried(session, FollowExtra, channel, into)
    listed, more, follow_ids = _summary_content(session, claim_ids, extra_ids)
    return Summary(
        claim_ids=list(kept),
        extra_ids=list(counted),
        listed=listed,
        more=more,
        follow_ids=follow_ids,
        into=into,
        previous=previous,
    )


def _carried(
    session: Session, model: type[FollowClaim] | type[FollowExtra], channel: str, into: str
) -> list[int]:
    """The ids of the claims (or counted finds) that the summary message `into` carries."""
    return list(
        session.scalars(
            select(model.id).where(
                model.channel == channel, model.status == "summarized", model.message_ts == into
            )
        )
    )


def _summary_content(
    session: Session, claim_ids: Sequence[int], extra_ids: Sequence[int]
) -> tuple[list[int], int, list[int]]:
    """The articles a summary lists (hottest first), how many more it counts, its follows."""
    listed: list[int] = []
    follow_ids: set[int] = set()
    for start in range(0, len(claim_ids), 1000):
        chunk = list(claim_ids[start : start + 1000])
        for ids in session.scalars(select(FollowClaim.follow_ids).where(FollowClaim.id.in_(chunk))):
            follow_ids.update(ids or ())
    if claim_ids:
        # A summary carries a few hundred claims at most (KEEP_PER_RUN per index run).
        listed = list(
            session.scalars(
                select(FollowClaim.article_id)
                .join(Article, Article.id == FollowClaim.article_id)
                .where(FollowClaim.id.in_(list(claim_ids)))
                .order_by(Article.heat.desc(), Article.published_at.desc(), Article.id.desc())
                .limit(SUMMARY_TITLES)
            )
        )
    counted = 0
    if extra_ids:
        for count, ids in session.execute(
            select(FollowExtra.count, FollowExtra.follow_ids).where(
                FollowExtra.id.in_(list(extra_ids))
            )
        ):
            counted += count
            follow_ids.update(ids or ())
    return listed, len(claim_ids) - len(listed) + counted, sorted(follow_ids)


def summary_posted(session: Session, channel: str, summary: Summary, message_ts: str) -> None:
    """Slack took a new summary: its ts, on the channel and on what it carries."""
    session.execute(
        update(FollowChannel).where(FollowChannel.channel == channel).values(summary_ts=message_ts)
    )
    if summary.claim_ids:
        session.execute(
            update(FollowClaim)
            .where(FollowClaim.id.in_(summary.claim_ids))
            .values(message_ts=message_ts)
        )
    if summary.extra_ids:
        session.execute(
            update(FollowExtra)
            .where(FollowExtra.id.in_(summary.extra_ids))
            .values(message_ts=message_ts)
        )


def summary_refused(
    session: Session, channel: str, summary: Summary, *, status: str = "released"
) -> None:
    """Slack did not take the summary (or the edit growing it): what this poster took into it
    is `status` again ("released" waits for the next index run; "pending" for the poster)."""
    session.execute(
        update(FollowClaim)
        .where(FollowClaim.id.in_(summary.claim_ids), FollowClaim.status == "summarized")
        .values(
            status=status,
            claimed_at=utcnow() if status == "released" else None,  # for RETRY_FOR
            message_ts=None,
        )
    )
    session.execute(
        update(FollowExtra)
        .where(FollowExtra.id.in_(summary.extra_ids), FollowExtra.status == "summarized")
        .values(status=status, message_ts=None)
    )
    if summary.into is None:
        at, ts = summary.previous
        session.execute(
            update(FollowChannel)
            .where(FollowChannel.channel == channel)
            .values(summary_at=at, summary_ts=ts)
        )


def forget_summary(session: Session, channel: str, message_ts: str) -> None:
    """The summary message is gone from Slack (deleted): nothing more is folded into it."""
    session.execute(
        update(FollowChannel)
        .where(FollowChannel.channel == channel, FollowChannel.summary_ts == message_ts)
        .values(summary_ts=None)
    )


def follow_queries(session: Session, follow_ids: Collection[int]) -> dict[int, FollowRecord]:
    """The active follows among these ids."""
    if not follow_ids:
        return {}
    rows = session.scalars(
        select(Follow).where(Follow.id.in_(list(follow_ids)), Follow.removed_at.is_(None))
    )
    return {f.id: _record(f) for f in rows}
