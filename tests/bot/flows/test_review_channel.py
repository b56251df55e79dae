"""NEWSBOT_REVIEW_CHANNEL follows the drafts from configuration: each new draft hot enough
is posted there once, with the buttons only reviewers get."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.render import actions
from bot.scheduler import start_up
from storage.db import Database, open_database
from storage.models import FollowClaim, utcnow
from tests.bot.follow_desk import Desk, card_titles, make_desk, text_of, write_article
from tests.builders import make_settings
from tests.slack_api import FakeSlack

REVIEW = "CREVIEW01"


def desk_with(slack: FakeSlack, database_url: str, folder: Path, db: Database, **env: str) -> Desk:
    settings = make_settings(slack, database_url, folder, **env)
    start_up(settings, db)  # what serve does before its first index
    return make_desk(slack, settings, db, index=False)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = open_database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    articles = tmp_path / "articles"
    articles.mkdir()
    write_article(articles, "already-here", title="Already here", heat=90)
    return articles


def test_new_hot_drafts_are_posted_to_the_review_channel_once(slack, database_url, folder, db):
    desk_with(slack, database_url, folder, db).index()  # a desk running without one
    env = {"NEWSBOT_REVIEW_CHANNEL": REVIEW, "NEWSBOT_REVIEW_MIN_HEAT": "50"}
    desk = desk_with(slack, database_url, folder, db, **env)
    desk.index()  # what was there before the channel was set is not posted
    desk.post()
    assert desk.posts(REVIEW) == []

    write_article(folder, "hot-draft", title="Hot draft", heat=70)
    write_article(folder, "cold-draft", title="Cold draft", heat=20)
    write_article(folder, "live", title="Already live", heat=95, published=True)
    desk.index()
    desk.post()
    (card,) = desk.posts(REVIEW)
    assert card_titles(card) == ["Hot draft"]
    assert card.args["text"] == "Hot draft (waiting for review)"
    blocks = json.dumps(card.args["blocks"])
    assert "waiting for review" in blocks
    for button in (actions.REVIEW_PUBLISH, actions.REVIEW_PUBLISH_AT, actions.REVIEW_REJECT):
        assert button in blocks

    # A restart (start_up again), and a re-index: nothing is posted twice.
    desk = desk_with(slack, database_url, folder, db, **env)
    desk.index()
    desk.post()
    assert len(desk.posts(REVIEW)) == 1
    listed = desk.command("follows", channel=REVIEW)
    assert "unpublished heat&gt;=50" in text_of(listed) and "configuration" in text_of(listed)


def test_a_new_review_channel_takes_over_and_unset_stops_it(slack, database_url, folder, db):
    desk_with(slack, database_url, folder, db).index()
    desk_with(slack, database_url, folder, db, NEWSBOT_REVIEW_CHANNEL=REVIEW).index()
    other = "CREVIEW02"
    desk = desk_with(slack, database_url, folder, db, NEWSBOT_REVIEW_CHANNEL=other)
    write_article(folder, "next", title="Next draft", heat=10)
    desk.index()
    desk.post()
    assert [card_titles(c) for c in desk.posts(other)] == [["Next draft"]]
    assert desk.posts(REVIEW) == []

    desk = desk_with(slack, database_url, folder, db)  # NEWSBOT_REVIEW_CHANNEL unset
    write_article(folder, "after", title="After it was unset", heat=99)
    desk.index()
    desk.post()
    assert len(desk.posts(other)) == 1 and desk.posts(REVIEW) == []


def test_every_draft_of_a_big_run_reaches_the_review_channel_as_its_card(
    slack, database_url, folder, db
):
    desk_with(slack, database_url, folder, db).index()
    desk = desk_with(slack, database_url, folder, db, NEWSBOT_REVIEW_CHANNEL=REVIEW)
    for n in range(9):
        write_article(folder, f"d{n}", title=f"Draft {n}", heat=10 * n)
    desk.index()
    assert desk.post() == 5  # the burst, hottest first; the rest wait for room, no summary
    assert [card_titles(c) for c in desk.posts(REVIEW)] == [[f"Draft {n}"] for n in (8, 7, 6, 5, 4)]
    assert desk.post() == 0
    later = datetime.now(UTC) + timedelta(minutes=11)
    assert desk.post(now=later) == 4
    cards = desk.posts(REVIEW)
    assert [card_titles(c) for c in cards[5:]] == [[f"Draft {n}"] for n in (3, 2, 1, 0)]
    for card in cards:
        blocks = json.dumps(card.args["blocks"])
        assert actions.REVIEW_PUBLISH in blocks and actions.REVIEW_REJECT in blocks
    assert "more articles" not in json.dumps([c.args for c in cards])
    assert desk.post(now=later + timedelta(minutes=11)) == 0


def test_a_draft_decided_while_it_waits_for_room_is_not_posted(slack, database_url, folder, db):
    desk_with(slack, database_url, folder, db).index()
    env = {"NEWSBOT_REVIEW_CHANNEL": REVIEW, "NEWSBOT_FOLLOW_BURST": "1"}
    desk = desk_with(slack, database_url, folder, db, **env)
    write_article(folder, "first", title="First draft", heat=90)
    waiting = write_article(folder, "second", title="Second draft", heat=80)
    desk.index()
    assert desk.post() == 1
    waiting.write_text(waiting.read_text().replace("published: false", "published: true"))
    desk.index()  # published in the file meanwhile: no longer a draft for review
    assert desk.post(now=datetime.now(UTC) + timedelta(minutes=11)) == 0
    assert [card_titles(c) for c in desk.posts(REVIEW)] == [["First draft"]]


def test_a_new_threshold_keeps_the_drafts_waiting_for_room(slack, database_url, folder, db):
    desk_with(slack, database_url, folder, db).index()
    env = {"NEWSBOT_REVIEW_CHANNEL": REVIEW, "NEWSBOT_FOLLOW_BURST": "1"}
    desk = desk_with(slack, database_url, folder, db, NEWSBOT_REVIEW_MIN_HEAT="70", **env)
    for n in range(3):
        write_article(folder, f"t{n}", title=f"Threshold {n}", heat=80 + n)
    desk.index()
    assert desk.post() == 1
    # A restart with a lower threshold: the configured follow is replaced; the drafts that
    # wait still pass it, so they go out.
    desk = desk_with(slack, database_url, folder, db, NEWSBOT_REVIEW_MIN_HEAT="60", **env)
    later = datetime.now(UTC) + timedelta(minutes=11)
    assert desk.post(now=later) == 1
    assert desk.post(now=later + timedelta(minutes=11)) == 1
    cards = desk.posts(REVIEW)
    assert [card_titles(c) for c in cards] == [[f"Threshold {n}"] for n in (2, 1, 0)]
    # One above it: a draft that waits below the new threshold is not posted.
    write_article(folder, "t-cool", title="Below the new one", heat=65)
    desk.index()
    desk = desk_with(slack, database_url, folder, db, NEWSBOT_REVIEW_MIN_HEAT="70", **env)
    assert desk.post(now=later + timedelta(minutes=22)) == 0


def test_drafts_whose_files_are_missing_for_a_run_are_posted_when_they_come_back(
    slack, database_url, folder, db, tmp_path
):
    desk_with(slack, database_url, folder, db).index()
    env = {"NEWSBOT_REVIEW_CHANNEL": REVIEW, "NEWSBOT_FOLLOW_BURST": "1"}
    desk = desk_with(slack, database_url, folder, db, **env)
    for n in range(3):
        write_article(folder, f"m{n}", title=f"Missing {n}", heat=80 + n)
    desk.index()
    assert desk.post() == 1
    aside = tmp_path / "aside"
    folder.rename(aside)
    folder.mkdir()  # an unmounted share: the folder is empty for one run
    desk.index()
    later = datetime.now(UTC) + timedelta(minutes=11)
    assert desk.post(now=later) == 0  # missing drafts are not posted while missing
    folder.rmdir()
    aside.rename(folder)  # back, byte for byte
    desk.index()
    assert desk.post(now=later) == 1
    assert desk.post(now=later + timedelta(minutes=11)) == 1
    assert desk.post(now=later + timedelta(minutes=22)) == 0
    cards = desk.posts(REVIEW)
    assert [card_titles(c) for c in cards] == [[f"Missing {n}"] for n in (2, 1, 0)]


def test_a_long_queue_survives_a_refusal(slack, database_url, folder, db):
    desk_with(slack, database_url, folder, db).index()
    desk = desk_with(slack, database_url, folder, db, NEWSBOT_REVIEW_CHANNEL=REVIEW)
    for n in range(8):
        write_article(folder, f"q{n}", title=f"Queued {n}", heat=50 + n)
    desk.index()
    assert desk.post() == 5
    with db.WriteSession.begin() as session:  # they have waited in the queue for two days
        session.execute(update(FollowClaim).values(found_at=utcnow() - timedelta(days=2)))
    slack.fail_next("chat.postMessage", "not_in_channel")  # one hiccup
    later = datetime.now(UTC) + timedelta(minutes=11)
    assert desk.post(now=later) == 0
    desk.index()  # what was refused is pending again; nothing expired
    assert desk.post(now=later + timedelta(minutes=2)) == 3
    titles = sorted(t for c in desk.posts(REVIEW) for t in card_titles(c))
    assert titles == [f"Queued {n}" for n in range(8)]
