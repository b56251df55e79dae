"""Follows and their claims in the database: numbering, removal kept for the audit, the
configured follow, one claim per channel and article, and what an index run keeps."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.db import Database, open_database
from storage.follows import (
    KEEP_PER_RUN,
    FollowError,
    active_follows,
    add_follow,
    follow_events_since,
    release_claims,
    remove_follow,
    set_config_follow,
)
from storage.models import Follow, FollowClaim, FollowExtra, utcnow
from storage.scan import quick_compare
from storage.sync import sync
from tests.bot.follow_desk import write_article


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = open_database(database_url)
    yield database
    database.dispose()


def follow(db: Database, channel: str, typed: str, user: str = "U1") -> int:
    with db.WriteSession.begin() as session:
        return add_follow(session, channel=channel, typed=typed, user_id=user, user_name="u").number


def unfollow(db: Database, channel: str, number: int) -> None:
    with db.WriteSession.begin() as session:
        remove_follow(session, channel=channel, number=number, user_id="U2", user_name="v")


def test_numbers_go_up_per_channel_and_are_never_reused(db: Database):
    assert [follow(db, "C1", q) for q in ("a", "b", "c")] == [1, 2, 3]
    assert follow(db, "C2", "a") == 1
    unfollow(db, "C1", 3)
    assert follow(db, "C1", "d") == 4
    with db.Session() as session:
        assert [(f.number, f.query) for f in active_follows(session, "C1")] == [
            (1, "a"),
            (2, "b"),
            (4, "d"),
        ]


def test_removal_is_kept_and_listed_by_the_audit(db: Database):
    start = utcnow() - timedelta(seconds=1)
    follow(db, "C1", "ai  heat>=70", user="U1")
    unfollow(db, "C1", 1)
    with pytest.raises(FollowError, match="removed already"):
        unfollow(db, "C1", 1)
    with db.Session() as session:
        events = follow_events_since(session, start)
        (row,) = session.scalars(select(Follow))
    assert [(e.action, e.who_id, e.channel, e.number, e.query) for e in events] == [
        ("follow", "U1", "C1", 1, "ai heat>=70"),
        ("unfollow", "U2", "C1", 1, "ai heat>=70"),
    ]
    assert row.removed_by == "U2" and row.removed_at is not None


def test_the_configured_follow_is_one_row_that_users_cannot_remove(db: Database):
    for _ in range(25):
        follow(db, "C9", f"q{_}")
    with db.WriteSession.begin() as session:
        set_config_follow(session, channel="C9", query="unpublished  heat>=60")
    with db.WriteSession.begin() as session:
        set_config_follow(session, channel="C9", query="unpublished heat>=60")  # unchanged
    with db.Session() as session:
        (configured,) = [f for f in active_follows(session, "C9") if f.configured]
    assert (configured.number, configured.query) == (26, "unpublished heat>=60")
    with pytest.raises(FollowError, match="configuration"):
        unfollow(db, "C9", 26)
    with db.WriteSession.begin() as session:
        set_config_follow(session, channel="C7", query="unpublished heat>=80")
    with db.Session() as session:
        configured_now = [(f.channel, f.query) for f in active_follows(session) if f.configured]
        assert configured_now == [("C7", "unpublished heat>=80")]
        removed = session.scalars(select(Follow).where(Follow.removed_by == "config")).all()
        assert [(f.channel, f.number) for f in removed] == [("C9", 26)]
    with db.WriteSession.begin() as session:
        set_config_follow(session, channel=None, query="unpublished heat>=80")
    with db.Session() as session:
        assert [f for f in active_follows(session) if f.configured] == []


def test_a_run_keeps_the_hottest_finds_per_channel_and_counts_the_rest(
    db: Database, tmp_path: Path
):
    folder = tmp_path / "articles"
    folder.mkdir()
    follow(db, "C1", "ai")
    follow(db, "C2", "ai heat>=95")
    total = KEEP_PER_RUN + 30
    for n in range(total):
        write_article(folder, f"a{n:03d}", topics=("AI",), heat=n)
    report = sync(db.WriteSession, folder)
    assert report.added == total
    with db.Session() as session:
        kept = session.execute(
            select(FollowClaim.channel, func.count()).group_by(FollowClaim.channel)
        ).all()
        extras = session.execute(select(FollowExtra.channel, FollowExtra.count)).all()
    assert sorted(kept) == [("C1", KEEP_PER_RUN), ("C2", 5)]
    assert extras == [("C1", 30)]
    assert report.follow_finds == KEEP_PER_RUN + 5


def test_the_review_channel_keeps_every_find_of_a_run_as_a_claim(db: Database, tmp_path: Path):
    folder = tmp_path / "articles"
    folder.mkdir()
    with db.WriteSession.begin() as session:
        set_config_follow(session, channel="CREVIEW", query="unpublished")
    total = KEEP_PER_RUN + 10
    for n in range(total):
        write_article(folder, f"r{n:03d}", heat=n)
    assert sync(db.WriteSession, folder).follow_finds == total
    with db.Session() as session:
        assert session.scalar(select(func.count()).select_from(FollowExtra)) == 0


def test_a_claim_that_never_went_out_is_pending_again_when_it_matches_again(
    db: Database, tmp_path: Path
):
    folder = tmp_path / "articles"
    folder.mkdir()
    follow(db, "C1", "ai heat>=50")
    path = write_article(folder, "x", topics=("AI",), heat=60)
    sync(db.WriteSession, folder)
    for status in ("dropped", "expired", "posted", "summarized", "claimed"):
        with db.WriteSession.begin() as session:
            session.execute(FollowClaim.__table__.update().values(status=status))
        path.write_text(path.read_text().replace("heat: 60", "heat: 40"))
        sync(db.WriteSession, folder)
        path.write_text(path.read_text().replace("heat: 40", "heat: 60"))
        sync(db.WriteSession, folder)
        with db.Session() as session:
            again = session.scalars(select(FollowClaim.status)).all()
        assert again == ["pending" if status in ("dropped", "expired") else status], status


def test_one_claim_per_channel_and_article_whatever_runs(db: Database, tmp_path: Path):
    folder = tmp_path / "articles"
    folder.mkdir()
    follow(db, "C1", "ai")
    path = write_article(folder, "x", topics=("AI",), heat=10)
    sync(db.WriteSession, folder)
    follow(db, "C1", "ai heat>=50")
    path.write_text(path.read_text().replace("heat: 10", "heat: 60"))  # now matches the second
    sync(db.WriteSession, folder)
    sync(db.WriteSession, folder)
    with db.Session() as session:
        assert session.scalar(select(func.count()).select_from(FollowClaim)) == 1


def test_a_refused_claim_makes_even_the_quick_index_path_run(db: Database, tmp_path: Path):
    folder = tmp_path / "articles"
    folder.mkdir()
    follow(db, "C1", "ai")
    write_article(folder, "x", topics=("AI",))
    sync(db.WriteSession, folder)
    url = db.engine.url.render_as_string(hide_password=False).replace("+psycopg", "")
    found = quick_compare(url, folder)
    assert found is not None and not found.needs_writing()
    with db.WriteSession.begin() as session:
        session.execute(FollowClaim.__table__.update().values(status="released"))
    found = quick_compare(url, folder)
    assert found is not None and found.needs_writing()
    assert sync(db.WriteSession, folder).follow_finds == 1
    with db.Session() as session:
        assert session.scalars(select(FollowClaim.status)).all() == ["pending"]


def test_claims_refused_for_a_day_expire(db: Database, tmp_path: Path):
    folder = tmp_path / "articles"
    folder.mkdir()
    follow(db, "C1", "ai")
    write_article(folder, "x", topics=("AI",))
    sync(db.WriteSession, folder)
    with db.WriteSession.begin() as session:
        session.execute(
            FollowClaim.__table__.update().values(
                status="released", claimed_at=utcnow() - timedelta(days=2)
            )
        )
    assert sync(db.WriteSession, folder).follow_finds == 0
    with db.Session() as session:
        assert session.scalars(select(FollowClaim.status)).all() == ["expired"]


def test_a_claim_that_waited_long_and_was_refused_just_now_is_retried(db: Database, tmp_path: Path):
    folder = tmp_path / "articles"
    folder.mkdir()
    follow(db, "C1", "ai")
    write_article(folder, "x", topics=("AI",))
    write_article(folder, "y", topics=("AI",))
    sync(db.WriteSession, folder)
    with db.WriteSession.begin() as session:
        # Both found two days ago (a slow review queue); one refused now, one never tried.
        session.execute(
            FollowClaim.__table__.update().values(found_at=utcnow() - timedelta(days=2))
        )
        first = session.scalars(select(FollowClaim.id).order_by(FollowClaim.id)).first()
        assert first is not None
        release_claims(session, [first])
    assert sync(db.WriteSession, folder).follow_finds == 1
    with db.Session() as session:
        assert session.scalars(select(FollowClaim.status)).all() == ["pending", "pending"]


def test_the_follow_tables_go_down_and_up_again(database_url: str):
    from alembic import command
    from sqlalchemy import inspect

    from storage.db import alembic_config

    db = open_database(database_url)
    follow(db, "C1", "ai")
    tables = {"follows", "follow_claims", "follow_extras", "follow_channels"}
    with db.engine.connect() as conn:
        command.downgrade(alembic_config(conn), "0005")
        conn.commit()
        assert not tables & set(inspect(conn).get_table_names())
    db.dispose()
    db = open_database(database_url)
    assert tables <= set(inspect(db.engine).get_table_names())
    db.dispose()
