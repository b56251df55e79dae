"""Queries behind `/news` and `newsbot search`: topic first, full text as a fallback.

Every function takes a Session first and never commits; the caller owns the
transaction.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select, text
from sqlalchemy.orm import Session

from storage.models import Article, ArticleTopic, Topic
from storage.parse import topic_key
from storage.types import ArticleView, SearchPage, TopicCount
from storage.views import views_of

# Below this many full-text matches, fetching them all and sorting is cheapest;
# above it, walking the heat index and probing the matches stops sooner.
_FEW_MATCHES = 2000

_UTC = ZoneInfo("UTC")
_WORD = re.compile(r"\w+")
# Controls and lone surrogates separate words like spaces do: PostgreSQL refuses
# NUL in a parameter, and none of them belongs in a search.
_SEPARATORS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# Shown back in error messages, so nothing in them may reorder the text around it.
_INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069]")
# ASCII digits only: int() also takes "٣" and "５", which nobody means as heat.
_SINCE_AGO = re.compile(r"([0-9]+)([dwh])", re.ASCII)
_HEAT = re.compile(r"heat(>=|>|=)(.*)", re.DOTALL)
_HEAT_NUMBER = re.compile(r"-?[0-9]+", re.ASCII)
_HOURS = {"h": 1, "d": 24, "w": 24 * 7}

# articles.heat is a 32-bit INTEGER on PostgreSQL; a filter outside it cannot be bound.
HEAT_MIN = -(2**31)
HEAT_MAX = 2**31 - 1
# The earliest `since:` accepted, in the configured zone: far enough back for any
# news archive, and every zone's offset still leaves a representable UTC moment.
SINCE_EARLIEST = date(1900, 1, 1)
# An error message quotes at most this much of what was typed.
_SHOWN_LIMIT = 40


class QueryError(ValueError):
    """A filter the user typed cannot be understood; the message says how to fix it."""


@dataclass(frozen=True, slots=True)
class Query:
    """Search terms and filters, as typed after `/news`."""

    text: str
    terms: str = ""
    min_heat: int | None = None
    since: datetime | None = None
    provider: str | None = None
    published: bool | None = None


def parse_query(typed: str, *, now: datetime | None = None, tz: ZoneInfo = _UTC) -> Query:
    """Split what the user typed into terms and filters (`heat>=N`, `since:7d`, ...).

    Any text gives a Query or raises QueryError, whose message is one sentence
    naming the filter and how to write it.
    """
    now = now or datetime.now(UTC)
    typed = _SEPARATORS.sub(" ", typed)
    words: list[str] = []
    min_heat = since = provider = published = None
    for token in typed.split():
        lowered = token.lower()
        if heat := _HEAT.fullmatch(lowered):
            min_heat = _min_heat(token, *heat.groups())
        elif lowered.startswith("since:"):
            since = parse_since(token[6:], now=now, tz=tz)
        elif lowered.startswith("provider:"):
            provider = lowered[9:].removeprefix("www.")
            if not provider:
                raise QueryError(f"`{_shown(token)}` needs a domain, as in provider:reuters.com")
        elif lowered in ("published", "unpublished", "is:published", "is:draft", "drafts"):
            published = lowered in ("published", "is:published")
        else:
            words.append(token)
    return Query(
        text=" ".join(typed.split()),
        terms=" ".join(words),
        min_heat=min_heat,
        since=since,
        provider=provider,
        published=published,
    )


def _min_heat(token: str, op: str, number: str) -> int:
    if not _HEAT_NUMBER.fullmatch(number):
        raise QueryError(f"`{_shown(token)}` needs a whole number, as in heat>=50")
    # Checked on the digits: int() refuses more than 4300 of them with its own error.
    digits = number.lstrip("-").lstrip("0")
    value = int(number) if len(digits) <= len(str(HEAT_MAX)) else None
    if value is not None and op == ">":
        value += 1
    if value is None or not HEAT_MIN <= value <= HEAT_MAX:
        raise QueryError(
            f"`{_shown(token)}` is out of range: heat filters go from "
            f"heat>={HEAT_MIN} to heat>={HEAT_MAX}"
        )
    return value


def parse_since(
    value: str, *, now: datetime | None = None, tz: ZoneInfo = _UTC, spelled: str = "since:"
) -> datetime:
    """The UTC moment that `since:VALUE` means: 7d, 12h, 2w ago, or a local date's midnight.

    Raises QueryError naming the value as the user wrote it, `spelled` before it
    (`since:` in a query, `--since ` on the command line).
    """
    now = now or datetime.now(UTC)
    earliest = datetime.combine(SINCE_EARLIEST, time(), tzinfo=tz).astimezone(UTC)
    if match := _SINCE_AGO.fullmatch(value.lower()):
        digits, unit = match.group(1).lstrip("0"), match.group(2)
        # Eight digits of hours are millennia already; more need not be turned into an int.
        if len(digits) <= 8:
            hours = int(digits or "0") * _HOURS[unit]
            if hours <= (now - earliest) / timedelta(hours=1):
                return now - timedelta(hours=hours)
        raise QueryError(_too_early(value, spelled))
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise QueryError(
            f"`{_shown(spelled + value)}` is not a date: use {spelled}7d, {spelled}12h "
            f"or {spelled}2026-11-01"
        ) from None
    if day < SINCE_EARLIEST:
        raise QueryError(_too_early(value, spelled))
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


def _too_early(value: str, spelled: str) -> str:
    return (
        f"`{_shown(spelled + value)}` reaches back before {SINCE_EARLIEST.isoformat()}: "
        f"use a later date, as in {spelled}2026-11-01"
    )


def _shown(typed: str) -> str:
    shown = _INVISIBLE.sub("", _SEPARATORS.sub(" ", typed))
    return shown if len(shown) <= _SHOWN_LIMIT else shown[: _SHOWN_LIMIT - 1] + "…"


def search(
    session: Session,
    query: Query,
    *,
    offset: int = 0,
    limit: int = 5,
) -> SearchPage:
    """One page of articles for the query, hottest first, then newest."""
    mode, stmt = _matching(session, query)
    if stmt is None:
        return SearchPage(query.text, mode, (), offset, limit, has_more=False)
    stmt = stmt.order_by(*_HOTTEST).offset(offset).limit(limit + 1)
    articles = list(session.scalars(stmt))
    views = views_of(session, articles[:limit])
    return SearchPage(query.text, mode, tuple(views), offset, limit, has_more=len(articles) > limit)


def newest(session: Session, query: Query, *, limit: int) -> list[ArticleView]:
    """The newest articles (by publishedDateTime) the query finds, rejected ones left out."""
    _mode, stmt = _matching(session, query)
    if stmt is None:
        return []
    stmt = (
        stmt.where(Article.rejected.is_(False))
        .order_by(None)
        .order_by(Article.published_at.desc().nulls_last(), Article.id.desc())
        .limit(limit)
    )
    return views_of(session, session.scalars(stmt))


def matching(session: Session, query: Query) -> Select | None:
    """The articles `search` finds for the query, unordered; None when it finds none."""
    return _matching(session, query)[1]


def _matching(session: Session, query: Query) -> tuple[str, Select | None]:
    """How TERMS match ("topic", "text" or "all"), and the select of the matching articles."""
    topic = None
    if query.terms:
        topic = session.scalar(select(Topic).where(Topic.key == topic_key(query.terms)))
    if topic is not None:
        return "topic", _topic_select(topic.id, query)
    if query.terms:
        words = _WORD.findall(query.terms)
        return "text", _text_select(session, words, query) if words else None
    return "all", _filtered(select(Article), query)


_HOTTEST = (Article.heat.desc(), Article.published_at.desc(), Article.id.desc())


def _filtered(stmt: Select, query: Query) -> Select:
    stmt = stmt.where(Article.missing.is_(False))
    if query.min_heat is not None:
        stmt = stmt.where(Article.heat >= query.min_heat)
    if query.since is not None:
        stmt = stmt.where(Article.published_at >= query.since)
    if query.provider is not None:
        stmt = stmt.where(Article.provider_domain == query.provider)
    if query.published is not None:
        stmt = stmt.where(Article.published.is_(query.published))
    return stmt


def _topic_select(topic_id: int, query: Query) -> Select:
    # Filtering and ordering on the link table's own heat and date lets the
    # covering index (topic_id, heat, published_at) answer without a sort.
    stmt = (
        select(Article)
        .join(ArticleTopic, ArticleTopic.article_id == Article.id)
        .where(ArticleTopic.topic_id == topic_id)
    )
    if query.min_heat is not None:
        stmt = stmt.where(ArticleTopic.heat >= query.min_heat)
    if query.since is not None:
        stmt = stmt.where(ArticleTopic.published_at >= query.since)
    stmt = _filtered(
        stmt, Query(text=query.text, provider=query.provider, published=query.published)
    )
    return stmt.order_by(
        ArticleTopic.heat.desc(), ArticleTopic.published_at.desc(), ArticleTopic.article_id.desc()
    )


def _text_select(session: Session, words: Sequence[str], query: Query) -> Select:
    stmt = _filtered(select(Article), query)
    if session.get_bind().dialect.name == "postgresql":
        # plainto_tsquery treats its input as plain words, never as operators.
        matches = text("articles.search_vector @@ plainto_tsquery('simple', :q)")
        return stmt.where(matches.bindparams(q=" ".join(words)))
    # FTS5: every word quoted, so the user's text is never FTS syntax.
    match = " ".join('"' + w.replace('"', '""') + '"' for w in words)
    matches = text("SELECT rowid FROM articles_fts WHERE articles_fts MATCH :m LIMIT :n")
    ids = session.scalars(matches, {"m": match, "n": _FEW_MATCHES + 1}).all()
    if len(ids) <= _FEW_MATCHES:
        return stmt.where(Article.id.in_(ids))
    # A common word: walk the (heat, published_at) index hottest first and stop at
    # the page's end. "id + 0" keeps SQLite from looking up every match by rowid
    # and sorting them all instead.
    every = text("SELECT rowid FROM articles_fts WHERE articles_fts MATCH :m").bindparams(m=match)
    return stmt.where((Article.id + 0).in_(every.columns(rowid=Article.id.type)))


def topic_counts(session: Session, *, limit: int | None = None) -> list[TopicCount]:
    """Topics with how many (non-missing) articles carry them, most first."""
    count = func.count(ArticleTopic.article_id)
    stmt = (
        select(Topic.name, count)
        .join(ArticleTopic, ArticleTopic.topic_id == Topic.id)
        .join(Article, Article.id == ArticleTopic.article_id)
        .where(Article.missing.is_(False))
        .group_by(Topic.id, Topic.name)
        .order_by(count.desc(), Topic.name)
        .limit(limit)
    )
    return [TopicCount(name, n) for name, n in session.execute(stmt)]


def get_article(session: Session, article_id: int) -> ArticleView | None:
    """The article with this id, or None."""
    article = session.get(Article, article_id)
    return views_of(session, [article])[0] if article else None


def find_by_url(session: Session, url: str) -> ArticleView | None:
    """The article whose webUrl or ampWebUrl is `url` (as pasted in Slack), or None."""
    candidates = {url, url.rstrip("/")}
    article = session.scalars(
        select(Article)
        .where(Article.web_url.in_(candidates) | Article.amp_web_url.in_(candidates))
        .order_by(Article.missing)
        .limit(1)
    ).first()
    return views_of(session, [article])[0] if article else None


def hottest(session: Session, *, since: datetime, limit: int = 5) -> list[ArticleView]:
    """The hottest articles first published since the given moment."""
    stmt = _filtered(select(Article), Query(text="", since=since)).order_by(*_HOTTEST).limit(limit)
    return views_of(session, session.scalars(stmt))
