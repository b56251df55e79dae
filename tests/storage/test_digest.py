"""Digest selection and the exactly-once claim."""

import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from storage.digest import (
    claim_digest,
    find_run,
    mark_posted,
    plan_digest,
    release_claim,
)
from storage.sync import sync
from tests.builders import write_article

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
DAY = date(2026, 11, 26)
END = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)  # 09:00 in Berlin


def write(folder, name, *, heat, when, domain="one.example", related=()):
    write_article(
        folder,
        name,
        heat=heat,
        publishedDateTime=when,
        provider={"name": "P", "domain": domain},
        related=[{"title": "r", "webUrl": f"https://news.example/{r}"} for r in related],
    )


def plan(db, **kw):
    args = {"channel": "C1", "local_date": DAY, "window_end": END, "size": 8, "min_heat": 50} | kw
    with db.Session() as session:
        return plan_digest(session, **args)


def names(p):
    return [a.title.removeprefix("Story ") for a in p.articles]


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "articles"
    path.mkdir()
    return path


def test_window_edges_and_min_heat(db, folder):
    write(folder, "at-start", heat=60, when=END - timedelta(hours=24), domain="a.example")
    write(folder, "before", heat=90, when=END - timedelta(hours=24, seconds=1), domain="b.example")
    write(folder, "at-end", heat=90, when=END, domain="c.example")
    write(folder, "cool", heat=49, when=END - timedelta(hours=1), domain="d.example")
    write(folder, "hot", heat=70, when=END - timedelta(hours=1), domain="e.example")
    sync(db.WriteSession, folder)
    assert names(plan(db)) == ["hot", "at-start"]
    assert names(plan(db, min_heat=0)) == ["hot", "at-start", "cool"]


def test_size_and_the_two_per_provider_cap(db, folder):
    for n in range(5):
        write(folder, f"same-{n}", heat=90 - n, when=END - timedelta(hours=2), domain="big.example")
    for n in range(5):
        write(
            folder, f"other-{n}", heat=70 - n, when=END - timedelta(hours=2), domain=f"o{n}.example"
        )
    sync(db.WriteSession, folder)
    assert names(plan(db, size=4)) == ["same-0", "same-1", "other-0", "other-1"]


def test_related_candidates_are_folded_into_the_hotter_one(db, folder):
    write(
        folder,
        "lead",
        heat=90,
        when=END - timedelta(hours=1),
        domain="a.example",
        related=["follow"],
    )
    write(folder, "follow", heat=80, when=END - timedelta(hours=1), domain="b.example")
    write(
        folder,
        "points-back",
        heat=70,
        when=END - timedelta(hours=1),
        domain="c.example",
        related=["lead"],
    )
    write(folder, "alone", heat=60, when=END - timedelta(hours=1), domain="d.example")
    sync(db.WriteSession, folder)
    result = plan(db)
    assert names(result) == ["lead", "alone"]
    assert result.related_counts == {result.articles[0].id: 2}


def test_articles_of_an_earlier_digest_are_not_sent_again(db, folder):
    write(folder, "old-hot", heat=90, when=END - timedelta(hours=30), domain="a.example")
    write(folder, "new", heat=60, when=END - timedelta(hours=2), domain="b.example")
    sync(db.WriteSession, folder)
    yesterday = plan(db, local_date=DAY - timedelta(days=1), window_end=END - timedelta(days=1))
    assert names(yesterday) == ["old-hot"]
    with db.WriteSession.begin() as session:
        run = claim_digest(session, channel="C1", local_date=DAY - timedelta(days=1), late=False)
        mark_posted(session, run.id, message_ts="1.0", article_ids=[yesterday.articles[0].id])
    wide = plan(db, window_end=END)  # a 24 h window that still holds old-hot
    write(folder, "old-hot", heat=90, when=END - timedelta(hours=20), domain="a.example")
    sync(db.WriteSession, folder)
    assert names(plan(db)) == ["new"]
    assert names(plan(db, channel="C2")) == ["old-hot", "new"]  # another channel may have it
    assert "old-hot" not in names(wide)


def test_claim_is_exclusive_and_can_be_released(db):
    with db.WriteSession.begin() as session:
        first = claim_digest(session, channel="C1", local_date=DAY, late=False)
    with db.WriteSession.begin() as session:
        assert claim_digest(session, channel="C1", local_date=DAY, late=True) is None
        assert claim_digest(session, channel="C2", local_date=DAY, late=False) is not None
    with db.WriteSession.begin() as session:
        release_claim(session, first.id)
    with db.WriteSession.begin() as session:
        again = claim_digest(session, channel="C1", local_date=DAY, late=True)
        assert again is not None and again.late


def test_twenty_simultaneous_claims_give_one_winner(db):
    winners, barrier = [], threading.Barrier(20)

    def claim():
        barrier.wait()
        with db.WriteSession.begin() as session:
            if claim_digest(session, channel="C1", local_date=DAY, late=False):
                winners.append(1)

    threads = [threading.Thread(target=claim) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert winners == [1]
    with db.Session() as session:
        assert find_run(session, channel="C1", local_date=DAY).status == "claimed"
