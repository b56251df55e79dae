"""Desk figures against values worked out by hand, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text, update

from storage.models import Article, ArticleTopic, ReviewDecision
from storage.stats import Period, PeriodError, desk_stats, last_days, parse_period, week_before
from storage.sync import sync
from storage.types import TopicHeat
from tests.insights_builders import add_article, at, decide, searched

UTC = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")
WEEK = Period(date(2026, 11, 16), date(2026, 11, 22))  # Monday to Sunday


@pytest.fixture
def desk(db):
    """The week of Nov 16-22, 2026 (UTC), and some of the week before. See each test."""
    a1 = add_article(db, "2026-11-16 10:00", heat=50, topics=("AI",), published=True)
    a2 = add_article(db, "2026-11-16 23:30", heat=30, topics=("AI", "Privacy"), rejected=True)
    a3 = add_article(db, "2026-11-18 08:00", heat=80, topics=("Privacy",), published=True)
    a4 = add_article(db, "2026-11-21 12:00", heat=10, topics=("Space",))
    a5 = add_article(db, "2026-11-15 23:59", heat=100, topics=("AI",), published=True)
    add_article(db, "2026-11-23 00:00", heat=70, topics=("AI",))  # the next week's
    a7 = add_article(db, "2026-11-10 12:00", heat=40, topics=("Privacy",))

    decide(db, a1, "publish", "2026-11-16 12:00")  # 2 h
    decide(db, a2, "reject", "2026-11-17 05:30", "U0SAM", "Sam")  # 6 h
    decide(db, a3, "publish", "2026-11-18 09:00")  # 1 h; then undone and done again
    decide(db, a3, "unpublish", "2026-11-19 10:00", "U0SAM", "Sam")
    decide(db, a3, "publish", "2026-11-20 10:00")
    decide(db, a4, "publish", "2026-11-21 13:00", status="pending")  # not taken effect
    decide(db, a4, "publish", "2026-11-21 14:00", status="abandoned")  # never took effect
    decide(db, a5, "publish", "2026-11-16 01:00", "U0SAM", "Sam Smith")  # 1 h 1 min
    decide(db, a7, "publish", "2026-11-12 09:00")  # the week before
    decide(db, a7, "unpublish", "2026-11-22 10:00")
    searched(db, "quantum dots", 0, "2026-11-17 09:00")
    searched(db, "ai", 12, "2026-11-20 09:00")
    searched(db, "ai", 12, "2026-11-14 09:00")  # the week before
    return db


def test_a_week_by_hand(desk):
    with desk.Session() as session:
        stats = desk_stats(session, WEEK, UTC, day_medians=True)
    # a1, a2, a3, a4 came in; a5 the minute before Monday, the next one at Monday's midnight.
    assert stats.articles_in == 4
    assert [d.articles_in for d in stats.days] == [2, 0, 1, 0, 0, 1, 0]
    # By each article's last decision of the week: a1, a3 (published, undone, published
    # again: once) and a5 published; a2 rejected; a7 unpublished. a4's pending and
    # abandoned publishes took no effect.
    assert (stats.published, stats.rejected, stats.unpublished) == (3, 1, 1)
    assert [d.published for d in stats.days] == [2, 0, 0, 0, 1, 0, 0]
    assert stats.waiting == 3  # a4, a7 (unpublished) and next Monday's
    # First decisions of the week: a3 1 h, a5 1 h 1 min, a1 2 h, a2 6 h.
    assert stats.decided == 4
    assert stats.median_to_decision == (3660 + 7200) / 2
    assert stats.p90_to_decision == 7200 + 0.7 * (21600 - 7200)  # rank 0.9 * 3 = 2.7
    medians = [d.median_to_decision for d in stats.days]
    assert medians == [(3660 + 7200) / 2, 21600, 3600, None, None, None, None]
    assert [(r.reviewer_id, r.reviewer_name, r.published, r.rejected, r.unpublished) for r in
            stats.reviewers] == [
        ("U0RITA", "Rita", 3, 0, 1),
        ("U0SAM", "Sam Smith", 1, 1, 1),
    ]  # fmt: skip
    # Heat of the articles that came in: Privacy 30 + 80, AI 50 + 30, Space 10; the week
    # before: AI 100 (a5), Privacy 40 (a7).
    assert stats.topics == (
        TopicHeat("Privacy", 110, 40),
        TopicHeat("AI", 80, 100),
        TopicHeat("Space", 10, 0),
    )
    assert stats.topics[1].change == -20
    assert stats.searches == 2
    assert not stats.quiet


def test_an_empty_week(desk):
    with desk.Session() as session:
        stats = desk_stats(session, Period(date(2026, 11, 30), date(2026, 12, 6)), UTC)
    assert (stats.articles_in, stats.published, stats.rejected, stats.unpublished) == (0,) * 4
    assert [d.articles_in for d in stats.days] == [0] * 7
    assert [d.published for d in stats.days] == [0] * 7
    assert stats.decided == 0 and stats.median_to_decision is None
    assert stats.p90_to_decision is None
    assert stats.reviewers == () and stats.topics == () and stats.searches == 0
    assert stats.waiting == 3  # now, whatever the period
    assert stats.quiet


def test_the_week_clocks_go_back_has_a_25_hour_sunday(db):
    # Berlin leaves summer time on Sunday Oct 25, 2026 at 03:00 CEST (01:00 UTC): the
    # Sunday runs from Oct 24 22:00 UTC to Oct 25 23:00 UTC.
    week = Period(date(2026, 10, 19), date(2026, 10, 25))
    bounds = week.bounds(BERLIN)
    assert bounds[-1] - bounds[-2] == timedelta(hours=25)
    assert bounds[1] - bounds[0] == timedelta(hours=24)
    add_article(db, "2026-10-18 21:59")  # Sunday Oct 18, 23:59 CEST: the week before
    add_article(db, "2026-10-18 22:00")  # Monday 00:00 CEST
    sunday_first = add_article(db, "2026-10-24 22:00")  # Sunday 00:00 CEST
    add_article(db, "2026-10-25 00:30")  # 02:30 CEST, before the change
    add_article(db, "2026-10-25 01:30")  # 02:30 CET, the hour that happens twice
    add_article(db, "2026-10-25 22:59")  # Sunday 23:59 CET
    add_article(db, "2026-10-25 23:00")  # Monday Oct 26 00:00 CET: the week after
    decide(db, sunday_first, "publish", "2026-10-25 22:30")  # 24.5 h later, still Sunday
    with db.Session() as session:
        stats = desk_stats(session, week, BERLIN, day_medians=True)
    assert [d.articles_in for d in stats.days] == [1, 0, 0, 0, 0, 0, 4]
    assert [d.published for d in stats.days] == [0, 0, 0, 0, 0, 0, 1]
    assert stats.days[-1].median_to_decision == 24.5 * 3600
    # In UTC the same moments fall on other days.
    with db.Session() as session:
        utc = desk_stats(session, week, UTC)
    assert [d.articles_in for d in utc.days] == [0, 0, 0, 0, 0, 1, 4]


def test_the_week_clocks_go_forward_has_a_23_hour_sunday(db):
    week = Period(date(2027, 3, 22), date(2027, 3, 28))
    bounds = week.bounds(BERLIN)
    assert bounds[-1] - bounds[-2] == timedelta(hours=23)
    add_article(db, "2027-03-27 23:00")  # Sunday 00:00 CET
    add_article(db, "2027-03-28 21:59")  # Sunday 23:59 CEST
    add_article(db, "2027-03-28 22:00")  # Monday
    with db.Session() as session:
        stats = desk_stats(session, week, BERLIN)
    assert [d.articles_in for d in stats.days] == [0, 0, 0, 0, 0, 0, 2]


def test_topic_links_and_decisions_copy_the_articles_first_indexed_at(db):
    article = add_article(db, "2026-11-16 10:00", heat=5, topics=("AI", "Space"))
    decide(db, article, "reject", "2026-11-16 11:00")
    with db.Session() as session:
        copies = session.scalars(select(ArticleTopic.first_indexed_at)).all()
        assert copies == [at("2026-11-16 10:00")] * 2
        assert session.scalar(select(ReviewDecision.article_indexed_at)) == at("2026-11-16 10:00")
    # Moved by hand into the week before: every copy follows, and so do the figures.
    with db.WriteSession.begin() as session:
        session.execute(
            update(Article).values(first_indexed_at=at("2026-11-09 10:00")),
            execution_options={"synchronize_session": False},
        )
    with db.Session() as session:
        assert set(session.scalars(select(ArticleTopic.first_indexed_at))) == {
            at("2026-11-09 10:00")
        }
        stats = desk_stats(session, WEEK, UTC)
    assert stats.articles_in == 0 and stats.topics == ()
    assert stats.median_to_decision == 7 * 24 * 3600 + 3600


def test_the_indexer_writes_the_copy_for_new_and_changed_articles(db, articles_dir):
    sync(db.WriteSession, articles_dir)
    path = next(articles_dir.rglob("harbor-city-tests-ai-traffic-cameras.md"))
    path.write_text(path.read_text().replace("heat: 82", "heat: 83"))
    sync(db.WriteSession, articles_dir)
    with db.Session() as session:
        rows = session.execute(
            text(
                "SELECT article_topics.first_indexed_at, articles.first_indexed_at, "
                "article_topics.heat, articles.heat FROM article_topics "
                "JOIN articles ON articles.id = article_topics.article_id"
            )
        ).all()
    assert rows and all(link == article for link, article, _h, _ah in rows)
    assert {(h, ah) for _l, _a, h, ah in rows if ah in (82, 83)} == {(83, 83)}


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("", Period(date(2026, 11, 23), date(2026, 11, 29))),
        ("7d", Period(date(2026, 11, 23), date(2026, 11, 29))),
        ("30D", Period(date(2026, 10, 31), date(2026, 11, 29))),
        ("2w", Period(date(2026, 11, 16), date(2026, 11, 29))),
        ("1d", Period(date(2026, 11, 29), date(2026, 11, 29))),
        ("2026-11-01", Period(date(2026, 11, 1), date(2026, 11, 29))),
        ("2026-11-01..2026-11-07", Period(date(2026, 11, 1), date(2026, 11, 7))),
        (" 2026-11-07..2026-11-07 ", Period(date(2026, 11, 7), date(2026, 11, 7))),
    ],
)
def test_periods(typed, expected):
    assert parse_period(typed, today=date(2026, 11, 29)) == expected


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("7x", "`/news stats 7x` is not a period: use 7d, 30d"),
        ("0d", "`/news stats 0d` is not a period: give 1 to 366 days"),
        ("367d", "give 1 to 366 days"),
        ("99999999999d", "is not a period"),
        ("2026-11-07..2026-11-01", "ends before it starts: give the earlier day first"),
        ("2026-12-01", "is after today: give a day up to 2026-11-29"),
        ("9999-12-31..9999-12-31", "ends after today"),
        ("2026-11-01..2026-11-30", "ends after today"),
        ("2024-01-01..2026-11-01", "is longer than 366 days"),
        ("1899-12-31..1900-01-02", "starts before 1900-01-01"),
        ("2026-02-30", "is not a period"),
        ("<!channel>", "`/news stats <!channel>` is not a period"),
    ],
)
def test_bad_periods_get_one_sentence(typed, said):
    with pytest.raises(PeriodError) as raised:
        parse_period(typed, today=date(2026, 11, 29), spelled="/news stats ")
    message = str(raised.value)
    assert said in message and "\n" not in message


def test_week_before_and_last_days():
    assert week_before(date(2026, 11, 23)) == WEEK
    assert last_days(7, date(2026, 11, 22)) == WEEK
    assert WEEK.before() == Period(date(2026, 11, 9), date(2026, 11, 15))


def test_decisions_written_out_of_order_settled_or_undone_later_count_by_their_times(db):
    late_first = add_article(db, "2026-11-16 10:00")
    decide(db, late_first, "unpublish", "2026-11-19 10:00")  # written before the publish
    decide(db, late_first, "publish", "2026-11-17 17:00")
    settled = add_article(db, "2026-11-16 10:00")
    decide(db, settled, "publish", "2026-11-18 10:00", status="pending")
    undone = add_article(db, "2026-11-16 10:00")
    decide(db, undone, "reject", "2026-11-18 12:00")
    with db.Session() as session:
        before = desk_stats(session, WEEK, UTC)
    assert (before.published, before.rejected, before.unpublished) == (0, 1, 1)
    assert before.decided == 2  # late_first's publish (31 h), undone's reject (50 h)
    with db.WriteSession.begin() as session:
        session.execute(
            update(ReviewDecision)
            .where(ReviewDecision.article_id == settled)
            .values(status="done"),
            execution_options={"synchronize_session": False},
        )
        session.execute(
            ReviewDecision.__table__.delete().where(ReviewDecision.article_id == undone)
        )
    with db.Session() as session:
        after = desk_stats(session, WEEK, UTC)
    assert (after.published, after.rejected, after.unpublished) == (1, 0, 1)
    assert after.decided == 2 and after.median_to_decision == (31 + 48) / 2 * 3600
