"""The follow matcher agrees with `/news` (storage.search) on both databases, and its
tokenizer with SQLite's own FTS5 tokenizer, character for character."""

from __future__ import annotations

import sqlite3
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from storage.db import Database, open_database
from storage.matching import FollowQuery, article_states, build_matcher, fts_tokens
from storage.models import Article
from storage.search import parse_query, search
from storage.sync import sync
from tests.bot.follow_desk import write_article
from tests.depth import depth

# Titles that take the tokenizers through their corners: accents precomposed and
# decomposed, ligatures and sharp s, CJK, emoji with selectors, underscores, hyphens,
# hosts, apostrophes, digits stuck to letters, full-width letters, markup.
TRICKY = [
    "Café culture: the cafe\u0301 on Main St.",
    "Straße und STRASSE: Œuvre, ǅemal, ﬁnance",
    "東京の人工知能 企業が 新しい AI を発表",
    "Emoji ❤️ and 🚀 launch: rocket_science at example.com",
    "State-of-the-art e-mail from O'Brien & co <!channel>",
    "Version 3.14 of py3k ships; ＡＩ full-width; naïve coöperation",
    "İstanbul ıstakoz Ελληνικά άλφα ΣΊΣΥΦΟΣ",
    "foo_bar baz__qux __init__ snake_case_words",
]


@pytest.fixture
def corpus(database_url: str, tmp_path: Path, make_articles) -> Iterator[Database]:
    folder = tmp_path / "articles"
    make_articles([str(folder), "--count", "300", "--seed", "11"])
    for n, title in enumerate(TRICKY):
        write_article(folder, f"tricky{n}", title=title, excerpt=TRICKY[-n - 1], topics=("Odd",))
    db = open_database(database_url)
    sync(db.WriteSession, folder)
    yield db
    db.dispose()


def _vocabulary(db: Database) -> tuple[list[str], list[str], list[str]]:
    with db.Session() as session:
        articles = list(session.scalars(select(Article)))
    topics = sorted({t for a in articles for t in a.topics})
    words = sorted({w for a in articles for w in (a.title + " " + a.excerpt).split()[:12]})
    domains = sorted({a.provider_domain for a in articles if a.provider_domain})
    return topics, words, domains


@st.composite
def queries(draw: st.DrawFn, topics: list[str], words: list[str], domains: list[str]) -> str:
    kind = draw(st.sampled_from(["topic", "words", "fragment", "filters"]))
    if kind == "topic":
        terms = draw(st.sampled_from(topics))
        terms = draw(st.sampled_from([terms, terms.upper(), terms.lower(), f"  {terms} "]))
    elif kind == "words":
        terms = " ".join(draw(st.lists(st.sampled_from(words), min_size=1, max_size=3)))
    elif kind == "fragment":
        word = draw(st.sampled_from(words))
        start = draw(st.integers(0, max(0, len(word) - 1)))
        terms = word[start : start + draw(st.integers(1, 8))]
    else:
        terms = ""
    filters = []
    if draw(st.booleans()):
        filters.append(f"heat>={draw(st.sampled_from([0, 20, 50, 80, 101]))}")
    if draw(st.integers(0, 4)) == 0:
        filters.append(f"provider:{draw(st.sampled_from(domains))}")
    if draw(st.integers(0, 3)) == 0:
        filters.append(draw(st.sampled_from(["published", "unpublished", "drafts"])))
    return " ".join([terms, *filters]).strip() or "heat>=0"


def test_the_matcher_finds_what_news_finds(corpus: Database):
    topics, words, domains = _vocabulary(corpus)
    with corpus.Session() as session:
        states = article_states(session, list(session.scalars(select(Article.id))))
        rejected = {i for i, s in states.items() if s.rejected}

        @settings(
            max_examples=depth(400),
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(st.lists(queries(topics, words, domains), min_size=1, max_size=25))
        def check(typed: list[str]) -> None:
            follows = [FollowQuery(n, "C1", q) for n, q in enumerate(typed)]
            matcher = build_matcher(session, follows)
            found: dict[int, set[int]] = {f.id: set() for f in follows}
            for state in states.values():
                for follow in matcher.matches(state):
                    found[follow.id].add(state.id)
            for follow in follows:
                page = search(session, parse_query(follow.typed), limit=100_000)
                expected = {a.id for a in page.articles} - rejected
                assert found[follow.id] == expected, (follow.typed, page.mode)

        check()


def test_the_tricky_titles_match_as_news_finds_them(corpus: Database):
    with corpus.Session() as session:
        states = article_states(session, list(session.scalars(select(Article.id))))
        typed = [
            "cafe",
            "café",
            "strasse",
            "rocket_science",
            "science rocket",
            "example",
            "example.com",
            "o'brien",
            "人工知能",
            "ελληνικά",
            "snake_case",
            "case_snake",
            "3.14",
            "ai",
            "odd heat>=50",
        ]
        follows = [FollowQuery(n, "C1", q) for n, q in enumerate(typed)]
        matcher = build_matcher(session, follows)
        for follow in follows:
            got = {s.id for s in states.values() if follow.id in {f.id for f in matcher.matches(s)}}
            found = search(session, parse_query(follow.typed), limit=100_000)
            expected = {a.id for a in found.articles}
            assert got == expected, follow.typed
            if follow.typed in ("café", "rocket_science", "ai", "ελληνικά"):
                assert got, follow.typed  # these words are in the tricky titles


# Characters from every corner of Unicode the corpus may hold, ASCII punctuation included.
_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(string.printable),
        st.characters(blacklist_categories=("Cs",)),
    ),
    max_size=60,
)


@settings(max_examples=depth(2000), deadline=None)
@given(_TEXT)
def test_the_tokenizer_is_sqlites(text: str):
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(a, tokenize='unicode61 remove_diacritics 2')")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, instance)")
    db.execute("INSERT INTO t (rowid, a) VALUES (1, ?)", (text,))
    theirs = [term for (term,) in db.execute("SELECT term FROM v ORDER BY offset")]
    assert fts_tokens(text) == theirs
