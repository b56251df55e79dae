from datetime import UTC, datetime, timedelta

import pytest

from storage.search import (
    QueryError,
    find_by_url,
    parse_query,
    search,
    topic_counts,
)
from storage.sync import sync
from tests.builders import write_article

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def write(folder, name, *, title, topics, heat, when="2026-11-25T10:00:00Z", **more):
    write_article(
        folder, name, title=title, topics=topics, heat=heat, publishedDateTime=when, **more
    )


@pytest.fixture
def indexed(db, tmp_path):
    folder = tmp_path / "a"
    write(
        folder, "cams", title="Cameras watch the harbor", topics=["AI", "Computer Vision"], heat=80
    )
    write(
        folder,
        "chips",
        title="Chip budget doubles",
        topics=["AI"],
        heat=60,
        when="2026-11-20T10:00:00Z",
    )
    write(
        folder, "older", title="Older AI story", topics=["AI"], heat=60, when="2026-11-01T10:00:00Z"
    )
    write(
        folder,
        "pokemon",
        title="Pokémon cards & <!channel> fans",
        topics=["Pokémon"],
        heat=5,
        published=True,
        provider={"name": "Rare", "domain": "rare.example"},
    )
    write(
        folder,
        "budget",
        title="City budget vote",
        topics=["Politics"],
        heat=30,
        excerpt="The council argued about the budget",
    )
    sync(db.WriteSession, folder)
    return db


def run(db, typed, **kw):
    with db.Session() as session:
        return search(session, parse_query(typed, now=NOW), **kw)


def titles(page):
    return [a.title for a in page.articles]


def test_topic_match_is_case_insensitive_and_hottest_then_newest(indexed):
    page = run(indexed, "ai")
    assert page.mode == "topic"
    assert titles(page) == ["Cameras watch the harbor", "Chip budget doubles", "Older AI story"]
    assert titles(run(indexed, "computer VISION")) == ["Cameras watch the harbor"]
    assert titles(run(indexed, "POKÉMON")) == ["Pokémon cards & <!channel> fans"]


def test_text_search_is_the_fallback(indexed):
    page = run(indexed, "budget")
    assert page.mode == "text"
    assert titles(page) == ["Chip budget doubles", "City budget vote"]
    assert titles(run(indexed, "council")) == ["City budget vote"]  # excerpt words count


def test_filters(indexed):
    assert titles(run(indexed, "ai heat>=70")) == ["Cameras watch the harbor"]
    assert titles(run(indexed, "ai heat>60")) == ["Cameras watch the harbor"]
    assert titles(run(indexed, "ai since:7d")) == [
        "Cameras watch the harbor",
        "Chip budget doubles",
    ]
    assert titles(run(indexed, "ai since:2026-11-21")) == ["Cameras watch the harbor"]
    assert titles(run(indexed, "provider:rare.example")) == ["Pokémon cards & <!channel> fans"]
    assert titles(run(indexed, "published")) == ["Pokémon cards & <!channel> fans"]
    assert "Pokémon cards & <!channel> fans" not in titles(run(indexed, "unpublished", limit=10))
    assert titles(run(indexed, "budget unpublished heat>=40")) == ["Chip budget doubles"]


def test_bad_filters_say_how_to_fix_them(indexed):
    with pytest.raises(QueryError, match="heat>=50"):
        parse_query("ai heat>=lots")
    with pytest.raises(QueryError, match="since:7d"):
        parse_query("ai since:yesterday")


def test_paging(indexed):
    first = run(indexed, "ai", limit=2)
    assert first.has_more and len(first.articles) == 2
    second = run(indexed, "ai", limit=2, offset=2)
    assert titles(second) == ["Older AI story"] and not second.has_more


@pytest.mark.parametrize(
    "typed",
    ['"', "'", "%", "_", "*", "NEAR(", 'budget"', "budget OR", "AND", "^", "a:b", "--", "()"],
)
def test_search_input_is_data_not_syntax(indexed, typed):
    page = run(indexed, typed, limit=10)
    assert len(page.articles) < 5  # never "everything"


def test_wildcards_do_not_match_everything(indexed):
    assert titles(run(indexed, "budget%")) == titles(run(indexed, "budget"))
    assert run(indexed, "%").articles == ()


def test_topic_counts_and_url_lookup(indexed):
    with indexed.Session() as session:
        counts = {t.name: t.count for t in topic_counts(session)}
        assert counts == {"AI": 3, "Computer Vision": 1, "Pokémon": 1, "Politics": 1}
        assert find_by_url(session, "https://news.example/cams").title == "Cameras watch the harbor"
        assert find_by_url(session, "https://news.example/unknown") is None


def test_since_is_relative_to_now():
    query = parse_query("x since:2d", now=NOW)
    assert query.since == NOW - timedelta(days=2)
    assert query.terms == "x"


def test_text_search_treats_every_word_alike_on_both_backends(indexed):
    # No stemming and no stop words on either backend, so both answer the same.
    assert titles(run(indexed, "the harbor")) == ["Cameras watch the harbor"]
    assert titles(run(indexed, "budgets")) == []
