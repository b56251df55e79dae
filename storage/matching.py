"""Whether an article matches a follow's query, decided in Python exactly as `/news` would.

`/news QUERY` (storage.search) finds an article when it is not missing, passes
the filters (`heat>=N`, `provider:`, `published`/`unpublished`) and either
carries the topic QUERY's words name (when that topic exists) or, when no
topic has that name, holds every word in its title or excerpt as the
database's full-text index has it:

- SQLite: FTS5's `unicode61 remove_diacritics 2` tokenizer. Its rules go
  character by character (token character or separator, and how it folds), so
  each character is asked of SQLite itself once per process, on a small
  in-memory FTS5 table, and cached. Each query word is a quoted FTS5 string:
  the tokens it splits into must stand next to each other in one column.
- PostgreSQL: the `search_vector` column is `to_tsvector('simple', title ||
  ' ' || excerpt)`; its lexemes are read from the row, and a query's from
  `plainto_tsquery('simple', words)`, which is all of them ANDed.

A follow never matches a rejected article (it would never be posted). A
follow's words are a topic when a topic of that name exists: the matcher is
told the topics as an index run creates them (`set_topics`).
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from operator import attrgetter
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from storage.models import Article, Topic
from storage.parse import topic_key
from storage.search import HEAT_MIN, parse_query

# The words of a query, as storage.search takes them from the terms.
_WORD = re.compile(r"\w+")
# A lexeme in PostgreSQL's text form of a tsvector or tsquery: quoted, quotes doubled.
_LEXEME = re.compile(r"'((?:[^']|'')*)'")


# --- SQLite's tokenizer, asked one character at a time -------------------------------


class _Folds(dict[int, str]):
    """A `str.translate` table: each character as a token character (folded) or a space."""

    def __missing__(self, code: int) -> str:
        folded = _probe(code)
        self[code] = folded
        return folded


_FOLDS = _Folds({c: chr(c).lower() if chr(c).isalnum() else " " for c in range(128)})
_PROBE_LOCK = threading.Lock()
_probe_db: sqlite3.Connection | None = None


def _probe(code: int) -> str:
    """How FTS5's tokenizer treats one character: " " (a separator) or what it folds to."""
    global _probe_db
    try:
        doc = f"q{chr(code)}q".encode().decode()
    except UnicodeError:  # a lone surrogate
        return " "
    with _PROBE_LOCK:
        if _probe_db is None:
            db = sqlite3.connect(":memory:", check_same_thread=False)
            # The tokenizer of articles_fts (migration 0001).
            db.execute(
                "CREATE VIRTUAL TABLE probe USING fts5(t, tokenize='unicode61 remove_diacritics 2')"
            )
            db.execute("CREATE VIRTUAL TABLE probe_terms USING fts5vocab(probe, instance)")
            _probe_db = db
        _probe_db.execute("DELETE FROM probe")
        _probe_db.execute("INSERT INTO probe (rowid, t) VALUES (1, ?)", (doc,))
        terms = [t for (t,) in _probe_db.execute("SELECT term FROM probe_terms ORDER BY offset")]
    if len(terms) == 1 and len(terms[0]) >= 2 and not terms[0][1:-1].isspace():
        return terms[0][1:-1]
    return " "


def fts_tokens(value: str) -> list[str]:
    """The tokens SQLite's full-text index makes of `value`, in order."""
    return value.translate(_FOLDS).split()


def lexemes(tsvector_or_tsquery: str) -> frozenset[str]:
    """The lexemes in PostgreSQL's text form of a tsvector or a tsquery."""
    return frozenset(m.replace("''", "'") for m in _LEXEME.findall(tsvector_or_tsquery))


# --- articles as the matcher sees them ---------------------------------------------


@dataclass(slots=True)
class ArticleState:
    """What matching needs of an article (as it is, or as it was before a change)."""

    id: int
    title: str
    excerpt: str
    heat: int
    published: bool
    provider_domain: str | None
    topic_keys: frozenset[str]
    published_at: Any = None  # only for ordering; datetime, or the driver's form of it
    missing: bool = False
    rejected: bool = False
    # PostgreSQL: the lexemes of search_vector. SQLite: filled from title and excerpt.
    words: frozenset[str] | None = None

    def word_set(self) -> frozenset[str]:
        if self.words is None:
            # A space between: the columns' tokens never run into each other.
            self.words = frozenset(f"{self.title} {self.excerpt}".translate(_FOLDS).split())
        return self.words

    def column_tokens(self) -> tuple[list[str], list[str]]:
        """Each column's tokens in order, for phrases (which stay within a column)."""
        return fts_tokens(self.title), fts_tokens(self.excerpt)


def topic_keys(names: Iterable[Any]) -> frozenset[str]:
    """The keys of an article's topic names, as article_topics links them."""
    keys = []
    for name in names or ():
        if isinstance(name, str):
            key = _TOPIC_KEYS.get(name)
            if key is None:
                if len(_TOPIC_KEYS) > 100_000:
                    _TOPIC_KEYS.clear()
                key = _TOPIC_KEYS[name] = topic_key(name)
            keys.append(key)
    return frozenset(keys)


# A desk has a few hundred topic names, on every article: each is folded once.
_TOPIC_KEYS: dict[str, str] = {}


# PostgreSQL: an article's lexemes as an array, which the driver hands over as a list.
_LEXEMES = text("tsvector_to_array(articles.search_vector)")


def article_states(session: Session, ids: Collection[int]) -> dict[int, ArticleState]:
    """The articles with these ids as the matcher sees them, read from the database."""
    if not ids:
        return {}
    postgres = session.get_bind().dialect.name == "postgresql"
    columns: list[Any] = [
        Article.id,
        Article.title,
        Article.excerpt,
        Article.heat,
        Article.published,
        Article.provider_domain,
        Article.topics,
        Article.published_at,
        Article.missing,
        Article.rejected,
    ]
    if postgres:
        columns.append(_LEXEMES)
    states: dict[int, ArticleState] = {}
    id_list = sorted(ids)
    for start in range(0, len(id_list), 1000):
        chunk = id_list[start : start + 1000]
        for row in session.execute(select(*columns).where(Article.id.in_(chunk))):
            states[row[0]] = ArticleState(
                id=row[0],
                title=row[1],
                excerpt=row[2] or "",
                heat=row[3],
                published=bool(row[4]),
                provider_domain=row[5],
                topic_keys=topic_keys(row[6]),
                published_at=row[7],
                missing=bool(row[8]),
                rejected=bool(row[9]),
                words=frozenset(row[10] or ()) if postgres else None,
            )
    return states


def search_vectors(session: Session, ids: Collection[int]) -> dict[int, frozenset[str]]:
    """PostgreSQL: the lexemes of these articles' search_vector, by id."""
    out: dict[int, frozenset[str]] = {}
    id_list = sorted(ids)
    for start in range(0, len(id_list), 1000):
        chunk = id_list[start : start + 1000]
        rows = session.execute(select(Article.id, _LEXEMES).where(Article.id.in_(chunk)))
        out.update((article_id, frozenset(found or ())) for article_id, found in rows)
    return out


# --- follows compiled for matching ---------------------------------------------------


class Compiled:
    """A follow's query, ready to test articles against (plain slots: it is read per article)."""

    __slots__ = (
        "channel",
        "heat_floor",
        "id",
        "key",
        "min_heat",
        "multi",
        "one_word",
        "phrases",
        "plain",
        "provider",
        "published",
        "query",
        "tokens",
    )

    def __init__(
        self,
        *,
        id: int,
        channel: str,
        query: str,
        key: str | None,
        phrases: tuple[tuple[str, ...], ...],
        min_heat: int | None,
        provider: str | None,
        published: bool | None,
    ) -> None:
        self.id = id
        self.channel = channel
        self.query = query  # as typed
        self.key = key  # the topic key of its words; None without words
        # Text mode: each word's tokens, which must stand together (SQLite) or each
        # appear (PostgreSQL). Empty with words given: the text search finds nothing.
        self.phrases = phrases
        self.min_heat = min_heat
        self.provider = provider
        self.published = published
        self.heat_floor = HEAT_MIN if min_heat is None else min_heat
        self.tokens = frozenset(t for p in phrases for t in p)
        self.multi = any(len(p) > 1 for p in phrases)  # a phrase: its tokens stand together
        # Found by its one token in text mode: the index entry it is filed under.
        self.one_word = len(phrases) == 1 and len(phrases[0]) == 1
        self.plain = provider is None and published is None  # heat is its only filter

    def passes_filters(self, state: ArticleState) -> bool:
        return state.heat >= self.heat_floor and (self.plain or _other_filters(self, state))

    def has_words(self, state: ArticleState, words: frozenset[str] | None = None) -> bool:
        """Whether the article holds the follow's words (`words`: its word set, if known)."""
        if not self.phrases or not self.tokens <= (words or state.word_set()):
            return False
        if not self.multi:
            return True
        columns = state.column_tokens()
        return all(any(_contains(c, p) for c in columns) for p in self.phrases)


def _contains(tokens: Sequence[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tuple(tokens[i : i + n]) == phrase for i in range(len(tokens) - n + 1))


@dataclass(frozen=True, slots=True)
class FollowQuery:
    """A follow as stored: its id, channel and query as typed."""

    id: int
    channel: str
    typed: str


# Follows compiled before, by (PostgreSQL?, id, channel, query): a follow never changes,
# and every index run matches against them all.
_COMPILED: dict[tuple[bool, int, str, str], Compiled] = {}
_COMPILED_MOST = 100_000


def compile_follows(session: Session, follows: Sequence[FollowQuery]) -> list[Compiled]:
    """The follows ready for matching, their words tokenized as the database does."""
    postgres = session.get_bind().dialect.name == "postgresql"
    missing = [f for f in follows if (postgres, f.id, f.channel, f.typed) not in _COMPILED]
    parsed = {f.id: parse_query(f.typed) for f in missing}
    words = {f.id: _WORD.findall(parsed[f.id].terms) for f in missing}
    tsqueries: dict[str, frozenset[str]] = {}
    if postgres:
        wanted = sorted({" ".join(w) for w in words.values() if w})
        if wanted:
            rows = session.execute(
                text(
                    "SELECT q, CAST(plainto_tsquery('simple', q) AS text) "
                    "FROM unnest(CAST(:qs AS text[])) AS q"
                ),
                {"qs": wanted},
            )
            tsqueries = {q: lexemes(found or "") for q, found in rows}
    if len(_COMPILED) + len(missing) > _COMPILED_MOST:
        _COMPILED.clear()
    for follow in missing:
        query, found = parsed[follow.id], words[follow.id]
        phrases: tuple[tuple[str, ...], ...]
        if postgres:
            phrases = tuple((w,) for w in sorted(tsqueries.get(" ".join(found), ())))
        else:
            # An FTS5 string that holds no token is left out of the query by SQLite.
            phrases = tuple(p for p in (tuple(fts_tokens(w)) for w in found) if p)
        _COMPILED[postgres, follow.id, follow.channel, follow.typed] = Compiled(
            id=follow.id,
            channel=follow.channel,
            query=follow.typed,
            key=topic_key(query.terms) if query.terms else None,
            phrases=phrases,
            min_heat=query.min_heat,
            provider=query.provider,
            published=query.published,
        )
    return [_COMPILED[postgres, f.id, f.channel, f.typed] for f in follows]


def existing_topics(session: Session, keys: Collection[str]) -> set[str]:
    """Which of these topic keys name a topic in the database."""
    found: set[str] = set()
    key_list = sorted(keys)
    for start in range(0, len(key_list), 1000):
        chunk = key_list[start : start + 1000]
        found.update(session.scalars(select(Topic.key).where(Topic.key.in_(chunk))))
    return found


class Matcher:
    """All follows, indexed so that one article is tested against the few that may match.

    Topic follows are found by the article's topic keys, text follows by one of
    their words (the longest, as the rarest guess), and follows of filters
    alone are each tested. Each list is ordered by its `heat>=N`, so a cold
    article stops at the first follow that wants more heat.
    """

    def __init__(self, follows: Sequence[Compiled], topics: Collection[str]) -> None:
        self._compiled = tuple(follows)
        self.follows = {f.id: f for f in follows}
        self._keys = {f.key for f in follows if f.key is not None}
        self._topics: frozenset[str] | None = None
        self._by_topic: dict[str, list[Compiled]] = {}
        self._by_word: dict[str, list[Compiled]] = {}
        self._filters_only = sorted((f for f in follows if f.key is None), key=_HEAT_FLOOR)
        self.set_topics(topics)

    def __bool__(self) -> bool:
        return bool(self.follows)

    @property
    def needs_words(self) -> bool:
        """Whether any follow matches by text (so articles' words must be known)."""
        return bool(self._by_word)

    def set_topics(self, known: Collection[str]) -> None:
        """Tell the matcher which topics exist now (an index run creates some)."""
        now = frozenset(key for key in self._keys if key in known)
        if now == self._topics:
            return
        self._topics = now
        self._by_topic, self._by_word = _indexes(self._compiled, now)

    def matches(self, state: ArticleState) -> list[Compiled]:
        """The follows that `/news` with their query would find this article for."""
        if state.missing or state.rejected:
            return []
        found: list[Compiled] = []
        heat = state.heat
        if self._by_topic:
            by_topic = self._by_topic
            for key in state.topic_keys:
                for follow in by_topic.get(key, ()):
                    if follow.heat_floor > heat:
                        break
                    if follow.plain or _other_filters(follow, state):
                        found.append(follow)
        if self._by_word:
            by_word = self._by_word
            words = state.word_set()
            for word in words:
                for follow in by_word.get(word, ()):
                    if follow.heat_floor > heat:
                        break
                    if (follow.plain or _other_filters(follow, state)) and (
                        follow.one_word or follow.has_words(state, words)
                    ):
                        found.append(follow)
        for follow in self._filters_only:
            if follow.heat_floor > heat:
                break
            if _other_filters(follow, state):
                found.append(follow)
        return found


_HEAT_FLOOR = attrgetter("heat_floor")


# The same follows and topics give the same indexes, run after run: built once. The
# indexes are only read after they are built.
@lru_cache(maxsize=16)
def _indexes(
    follows: tuple[Compiled, ...], topics: frozenset[str]
) -> tuple[dict[str, list[Compiled]], dict[str, list[Compiled]]]:
    """Follows by the topic key they match (topics that exist) and by one of their words."""
    by_topic: dict[str, list[Compiled]] = {}
    by_word: dict[str, list[Compiled]] = {}
    for follow in follows:
        if follow.key is None:
            continue
        if follow.key in topics:
            by_topic.setdefault(follow.key, []).append(follow)
        elif follow.phrases:
            word = max(follow.tokens, key=len)
            by_word.setdefault(word, []).append(follow)
    return (
        {k: sorted(fs, key=_HEAT_FLOOR) for k, fs in by_topic.items()},
        {k: sorted(fs, key=_HEAT_FLOOR) for k, fs in by_word.items()},
    )


def _other_filters(follow: Compiled, state: ArticleState) -> bool:
    """`provider:` and `published`/`unpublished` (heat is checked by the caller)."""
    return (follow.provider is None or state.provider_domain == follow.provider) and (
        follow.published is None or state.published is follow.published
    )


def build_matcher(session: Session, follows: Sequence[FollowQuery]) -> Matcher:
    """A matcher for these follows, knowing which of their topics exist now."""
    compiled = compile_follows(session, follows)
    keys = {c.key for c in compiled if c.key is not None}
    return Matcher(compiled, existing_topics(session, keys))


def sort_key(state: ArticleState) -> tuple[Any, ...]:
    """Hottest first, then newest, as `/news` orders: larger sorts later."""
    when = state.published_at
    if isinstance(when, datetime):
        return (state.heat, 1, when.timestamp(), state.id)
    return (state.heat, 1, when, state.id) if when is not None else (state.heat, 0, 0, state.id)
