"""How the desk is doing: the figures of a period of local days, as SQL aggregates.

Every figure is an aggregate over an indexed column: articles by
`articles.first_indexed_at`, decisions by `review_decisions.decided_at`, topics
by `article_topics (topic_id, first_indexed_at, heat)`, searches by
`search_log.searched_at`. Days are local days in the zone given, cut at the
zone's midnights, so a daylight-saving week has a 23- or a 25-hour day.

Only decisions that took effect count (status "done"): a pending one may yet be
abandoned, and an abandoned one changed nothing.

Query functions take a Session first and never commit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    and_,
    case,
    cast,
    exists,
    extract,
    func,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session

from storage.decisions import DONE, pending_count
from storage.models import Article, ArticleTopic, ReviewDecision, SearchLog, Topic
from storage.types import DayFigures, DeskStats, ReviewerFigures, TopicHeat

#: The longest period asked for, in days.
MAX_DAYS = 366
#: The earliest day a period may start on.
EARLIEST = date(1900, 1, 1)
TOP_TOPICS = 5
_MEDIAN, _P90 = Fraction(1, 2), Fraction(9, 10)
_AGO = re.compile(r"([0-9]{1,4})([dw])", re.ASCII)
_SHOWN_LIMIT = 40


class PeriodError(ValueError):
    """A period that cannot be understood; the message says how to write one."""


@dataclass(frozen=True, slots=True)
class Period:
    """Local days `first_day` to `last_day`, both included."""

    first_day: date
    last_day: date

    @property
    def length(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=n) for n in range(self.length)]

    def bounds(self, tz: ZoneInfo) -> list[datetime]:
        """The local midnight starting each day, and the one after the last, in UTC."""
        days = [*self.days(), self.last_day + timedelta(days=1)]
        return [_midnight(day, tz) for day in days]

    def before(self) -> Period:
        """The period of the same length just before this one."""
        return Period(
            self.first_day - timedelta(days=self.length), self.first_day - timedelta(days=1)
        )


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    # Where a zone skips midnight, zoneinfo reads the missing time with the old
    # offset, which lands on the first moment of the day that exists.
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


def last_days(days: int, today: date) -> Period:
    """The `days` local days ending today."""
    return Period(today - timedelta(days=days - 1), today)


def week_before(day: date) -> Period:
    """The seven days before `day` (the weekly report's)."""
    return Period(day - timedelta(days=7), day - timedelta(days=1))


def parse_period(value: str, *, today: date, spelled: str = "") -> Period:
    """`7d`, `30d`, `2w` (days ending today), `YYYY-MM-DD` (from then to today) or
    `YYYY-MM-DD..YYYY-MM-DD` (both days included); empty means 7d.

    Raises PeriodError with one sentence naming the value as typed, `spelled` before it.
    """
    text = value.strip().lower()
    if not text:
        return last_days(7, today)
    shown = f"`{_shown(spelled + value.strip())}`"
    if match := _AGO.fullmatch(text):
        days = int(match.group(1)) * (7 if match.group(2) == "w" else 1)
        if not 1 <= days <= MAX_DAYS:
            raise PeriodError(f"{shown} is not a period: give 1 to {MAX_DAYS} days, as in 30d")
        return last_days(days, today)
    first_text, dots, last_text = text.partition("..")
    try:
        first = date.fromisoformat(first_text)
        last = date.fromisoformat(last_text) if dots else today
    except ValueError:
        raise PeriodError(
            f"{shown} is not a period: use 7d, 30d, a first day such as 2026-11-01, "
            "or two days such as 2026-11-01..2026-11-30"
        ) from None
    if first < EARLIEST:
        raise PeriodError(f"{shown} starts before {EARLIEST}: give a later day")
    if last > today:
        raise PeriodError(f"{shown} ends after today: give days up to {today}")
    if last < first:
        raise PeriodError(
            f"{shown} ends before it starts: give the earlier day first"
            if dots
            else f"{shown} is after today: give a day up to {today}"
        )
    if (last - first).days + 1 > MAX_DAYS:
        raise PeriodError(f"{shown} is longer than {MAX_DAYS} days: give a shorter period")
    return Period(first, last)


def _shown(typed: str) -> str:
    shown = "".join(c if c.isprintable() else " " for c in typed).strip()
    return shown if len(shown) <= _SHOWN_LIMIT else shown[: _SHOWN_LIMIT - 1] + "…"


def desk_stats(
    session: Session,
    period: Period,
    tz: ZoneInfo,
    *,
    top_topics: int = TOP_TOPICS,
    day_medians: bool = False,
) -> DeskStats:
    """Every figure of the period: articles in, decisions, times to decision, reviewers,
    topics, searches, and each day's articles in and published.

    Each day's median time to decision (the chart's) only with `day_medians`:
    it costs a second sort of the period's decisions.
    """
    if session.get_bind().dialect.name == "postgresql":
        # The estimates over a million articles switch JIT compilation on, which
        # took longer (0.2 s) than the queries themselves.
        session.execute(text("SET LOCAL jit = off"))
    bounds = period.bounds(tz)
    start, end = bounds[0], bounds[-1]
    arrived = _articles_in(session, bounds)
    decisions = _decisions(session, bounds)
    outcomes = decisions.outcomes
    times = _times_to_decision(session, bounds, decisions.firsts, by_day=day_medians)
    days = tuple(
        DayFigures(
            day=day,
            articles_in=arrived[n],
            published=outcomes.get(("publish", n), 0),
            median_to_decision=times.day_medians.get(n),
        )
        for n, day in enumerate(period.days())
    )

    def total(action: str) -> int:
        return sum(count for (done, _day), count in outcomes.items() if done == action)

    searches = session.scalar(
        select(func.count())
        .select_from(SearchLog)
        .where(SearchLog.searched_at >= start, SearchLog.searched_at < end)
    )
    return DeskStats(
        first_day=period.first_day,
        last_day=period.last_day,
        start=start,
        end=end,
        articles_in=sum(arrived),
        published=total("publish"),
        rejected=total("reject"),
        unpublished=total("unpublish"),
        waiting=pending_count(session),
        decided=times.count,
        median_to_decision=times.median,
        p90_to_decision=times.p90,
        reviewers=tuple(decisions.reviewers),
        topics=tuple(_topics(session, period, tz, top_topics)),
        days=days,
        searches=searches or 0,
    )


def anything_before(session: Session, moment: datetime) -> bool:
    """Whether the database holds anything from before `moment`: an article first indexed,
    a decision or a logged search. A period before that is from before the desk used newsbot."""
    return any(
        session.scalar(select(exists().where(column < moment)))
        for column in (
            Article.first_indexed_at,
            ReviewDecision.decided_at,
            SearchLog.searched_at,
        )
    )


def _articles_in(session: Session, bounds: Sequence[datetime]) -> list[int]:
    """Articles first indexed on each day: one counted index range per day."""
    column = Article.first_indexed_at
    counts = [
        select(func.count())
        .select_from(Article)
        .where(column >= low, column < high)
        .scalar_subquery()
        for low, high in pairwise(bounds)
    ]
    return [int(n or 0) for n in session.execute(select(*counts)).one()]


def _day_of(column: Any, bounds: Sequence[datetime], first: int = 0) -> ColumnElement[int]:
    """The index of the day a moment in [bounds[0], bounds[-1]) falls on.

    Nested halves: a moment is compared with log2(days) midnights, not all of them.
    """
    days = len(bounds) - 1
    if days == 1:
        return literal(first)
    half = days // 2
    return case(
        (column < bounds[half], _day_of(column, bounds[: half + 1], first)),
        else_=_day_of(column, bounds[half:], first + half),
    )


def _in(column: Any, bounds: Sequence[datetime]) -> tuple[ColumnElement[bool], ...]:
    return column >= bounds[0], column < bounds[-1]


@dataclass(frozen=True, slots=True)
class _Decisions:
    outcomes: dict[tuple[str, int], int]  # {(action, day): articles}, by their last decision
    reviewers: list[ReviewerFigures]
    firsts: dict[int, int]  # {day: articles first decided}


def _first(d: type[ReviewDecision]) -> ColumnElement[bool]:
    """The article's first publish or reject that took effect, with its time known."""
    return and_(d.first_decision.is_(True), d.article_indexed_at.is_not(None))


def _decisions(session: Session, bounds: Sequence[datetime]) -> _Decisions:
    """The period's decisions, in one pass over its index range: each article by its last
    decision of the period (on that decision's day), and each reviewer's decisions."""
    d = ReviewDecision
    # next_decided_at: when the article's next decision that took effect was made.
    is_last = or_(d.next_decided_at.is_(None), d.next_decided_at >= bounds[-1])
    # Grouped outside: PostgreSQL would not match a CASE with parameters in GROUP BY.
    rows = (
        select(
            d.reviewer_id.label("reviewer"),
            d.action.label("action"),
            _day_of(d.decided_at, bounds).label("day"),
            case((is_last, 1), else_=0).label("last"),
            case((_first(d), 1), else_=0).label("first"),
            d.id.label("id"),
        )
        .where(d.status == DONE, *_in(d.decided_at, bounds))
        .subquery()
    )
    keys = (rows.c.reviewer, rows.c.action, rows.c.day, rows.c.last, rows.c.first)
    outcomes: dict[tuple[str, int], int] = {}
    counts: dict[str, dict[str, int]] = {}
    firsts: dict[int, int] = {}
    latest: dict[str, int] = {}  # each reviewer's latest decision of the period
    for reviewer, action, day, last, first, count, newest in session.execute(
        select(*keys, func.count(), func.max(rows.c.id)).group_by(*keys)
    ):
        latest[reviewer] = max(latest.get(reviewer, 0), int(newest))
        if last:
            key = (action, int(day))
            outcomes[key] = outcomes.get(key, 0) + int(count)
        if first:
            firsts[int(day)] = firsts.get(int(day), 0) + int(count)
        mine = counts.setdefault(reviewer, {})
        mine[action] = mine.get(action, 0) + int(count)
    return _Decisions(outcomes, _reviewers(session, counts, latest), firsts)


def _reviewers(
    session: Session, counts: dict[str, dict[str, int]], latest: dict[str, int]
) -> list[ReviewerFigures]:
    """The reviewers with their decisions of the period, busiest first, by the name on
    their latest decision of the period (`latest`: its id)."""
    if not counts:
        return []
    d = ReviewDecision
    names = dict(
        session.execute(
            select(d.reviewer_id, d.reviewer_name).where(d.id.in_(list(latest.values())))
        ).all()
    )
    figures = [
        ReviewerFigures(
            reviewer_id=reviewer,
            reviewer_name=names.get(reviewer) or reviewer,
            published=actions.get("publish", 0),
            rejected=actions.get("reject", 0),
            unpublished=actions.get("unpublish", 0),
        )
        for reviewer, actions in counts.items()
    ]
    return sorted(figures, key=lambda r: (-r.decisions, r.reviewer_name, r.reviewer_id))


@dataclass(frozen=True, slots=True)
class _Times:
    count: int
    median: float | None
    p90: float | None
    day_medians: dict[int, float]


def _times_to_decision(
    session: Session, bounds: Sequence[datetime], firsts: dict[int, int], *, by_day: bool = False
) -> _Times:
    """Seconds from first indexed to the article's first publish or reject, for the articles
    first decided in the period (`firsts`: how many, by day): the median and 90th
    percentile, and with `by_day` each day's median.

    Percentiles interpolate between the two nearest values, as PostgreSQL's
    percentile_cont; the values at those ranks are picked in SQL (ROW_NUMBER
    over the sorted times), on both backends, so both answer the same.
    """
    count = sum(firsts.values())
    if not count:
        return _Times(0, None, None, {})
    d = ReviewDecision
    dialect = session.get_bind().dialect.name
    # article_indexed_at is the article's first_indexed_at, copied in (migration 0006).
    seconds = _seconds_between(d.article_indexed_at, d.decided_at, dialect)
    day = _day_of(d.decided_at, bounds) if by_day else literal(0)
    chosen = (
        select(day.label("day"), seconds.label("s"))
        .where(d.status == DONE, *_in(d.decided_at, bounds), _first(d))
        .subquery()
    )
    columns = [chosen.c.day, chosen.c.s, (func.row_number().over(order_by=chosen.c.s) - 1)]
    overall = sorted({*_ranks(count, _MEDIAN), *_ranks(count, _P90)})
    if by_day:
        columns.append(func.row_number().over(partition_by=chosen.c.day, order_by=chosen.c.s) - 1)
    ranked = select(*(c.label(f"c{n}") for n, c in enumerate(columns))).subquery()
    wanted: list[ColumnElement[bool]] = [ranked.c.c2.in_(overall)]
    if by_day:
        wanted += [
            and_(ranked.c.c0 == n, ranked.c.c3.in_(_ranks(size, _MEDIAN)))
            for n, size in firsts.items()
        ]
    values: dict[int, int] = {}
    by_days: dict[int, dict[int, int]] = {}
    for row in session.execute(select(ranked).where(or_(*wanted))):
        values[int(row[2])] = int(row[1])
        if by_day:
            by_days.setdefault(int(row[0]), {})[int(row[3])] = int(row[1])
    return _Times(
        count=count,
        median=_percentile(values, count, _MEDIAN),
        p90=_percentile(values, count, _P90),
        day_medians={
            n: value
            for n, ranks in by_days.items()
            if (value := _percentile(ranks, firsts[n], _MEDIAN)) is not None
        },
    )


def _ranks(n: int, share: Fraction) -> list[int]:
    """The two ranks (0-based) a percentile interpolates between, among n values."""
    position = (n - 1) * share
    return [position.numerator // position.denominator, -(-position // 1)]


def _percentile(values: dict[int, int], n: int, share: Fraction) -> float | None:
    """The interpolated percentile from the values at the ranks `_ranks` picked."""
    if n == 0:
        return None
    position = (n - 1) * share
    low, high = position.numerator // position.denominator, -(-position // 1)
    if low not in values or high not in values:
        return None  # the ranks were not picked: cannot happen, but never guess
    fraction = position - low
    return float(values[low] + (values[high] - values[low]) * fraction)


def _seconds_between(earlier: Any, later: Any, dialect: str) -> ColumnElement[int]:
    """Whole seconds between two UTC timestamp columns, each cut to its second first,
    so both backends count the same."""
    if dialect == "postgresql":
        return cast(
            func.floor(extract("epoch", later)) - func.floor(extract("epoch", earlier)), BigInteger
        )
    # Cut from the text: SQLite rounds a fraction to milliseconds, so 59.9999 would
    # count as the next second. julianday is cheaper than strftime('%s').
    days = func.julianday(func.substr(later, 1, 19)) - func.julianday(func.substr(earlier, 1, 19))
    return cast(func.round(days * 86400), BigInteger)


def _topics(session: Session, period: Period, tz: ZoneInfo, limit: int) -> list[TopicHeat]:
    """The topics with the most summed heat among the articles that came in during the period,
    with their sum over the period of the same length before.

    One index range of (topic_id, first_indexed_at, heat) per topic, summed
    inside the index: neither the articles nor the links are read.
    """
    if limit <= 0:
        return []

    def heat_in(bounds: Sequence[datetime], topic: Any) -> Any:
        return (
            select(func.sum(ArticleTopic.heat))
            .where(
                ArticleTopic.topic_id == topic,
                ArticleTopic.first_indexed_at >= bounds[0],
                ArticleTopic.first_indexed_at < bounds[-1],
            )
            .scalar_subquery()
        )

    now = heat_in(period.bounds(tz), Topic.id).label("heat")
    top = (
        select(Topic.id, Topic.name, now)
        .order_by(now.desc().nulls_last(), Topic.name, Topic.id)
        .limit(limit)
        .subquery()
    )
    rows = session.execute(
        select(top.c.name, top.c.heat, heat_in(period.before().bounds(tz), top.c.id))
        .where(top.c.heat.is_not(None))
        .order_by(top.c.heat.desc(), top.c.name, top.c.id)
    ).all()
    return [TopicHeat(name, int(heat), int(previous or 0)) for name, heat, previous in rows]
