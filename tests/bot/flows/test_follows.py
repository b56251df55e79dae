"""Follow cards against the Slack stand-in, real files, SQLite and PostgreSQL: each find
posted once per channel, bursts capped with one summary, refusals given back."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import make_client
from bot.flows.follows import post_pending
from bot.render import actions
from storage.db import open_database
from storage.follows import set_config_follow
from storage.models import Article, FollowClaim, PostedMessage
from tests.bot.follow_desk import CHANNEL, Desk, card_titles, make_desk, text_of, write_article
from tests.builders import REVIEWER, closed_port_url, make_settings
from tests.slack_api import FakeSlack
from tests.slack_requests import block_action


@pytest.fixture
def desk(slack: FakeSlack, database_url: str, tmp_path: Path) -> Iterator[Desk]:
    folder = tmp_path / "articles"
    folder.mkdir()
    write_article(folder, "old-ai", title="Older AI story", topics=("AI",), heat=90)
    settings = make_settings(slack, database_url, folder)
    db = open_database(database_url)
    yield make_desk(slack, settings, db)
    db.dispose()


def claims(desk: Desk) -> list[tuple[str, str, str]]:
    with desk.db.Session() as session:
        rows = session.execute(
            select(FollowClaim.channel, Article.web_url, FollowClaim.status)
            .join(Article, Article.id == FollowClaim.article_id)
            .order_by(FollowClaim.id)
        )
        return [tuple(r) for r in rows]


def test_a_new_matching_file_is_posted_once_with_its_card(desk: Desk):
    answer = desk.follow("ai heat>=70")
    assert "now follows" in text_of(answer)
    assert "Older AI story" in text_of(answer)  # the preview: matches today, not posted
    assert desk.post() == 0 and desk.posts() == []

    write_article(desk.folder, "fresh-ai", title="Fresh AI story", topics=("AI",), heat=80)
    write_article(desk.folder, "cold-ai", title="Cold AI story", topics=("AI",), heat=10)
    write_article(desk.folder, "other", title="Other story", topics=("Sports",), heat=99)
    desk.index()
    assert desk.post() == 1
    (card,) = desk.posts()
    assert card_titles(card) == ["Fresh AI story"]
    blocks = json.dumps(card.args["blocks"])
    assert "ai heat&gt;=70" in blocks  # the follow's query, as typed, escaped
    assert '"type": "image"' in blocks and "https://img.example/fresh-ai.jpg" in blocks
    assert actions.REVIEW_PUBLISH in blocks  # a draft: reviewer buttons, as on every card

    desk.index()  # a re-index, nothing changed
    assert desk.post() == 0
    assert len(desk.posts()) == 1


def test_two_follows_matching_one_article_post_one_card_naming_both(desk: Desk):
    desk.follow("ai")
    desk.follow("robots heat>=50")
    write_article(desk.folder, "robo", title="Robots learn to sort", topics=("AI",), heat=60)
    desk.index()
    desk.post()
    (card,) = desk.posts()
    line = card.args["blocks"][0]["elements"][0]["text"]
    assert "ai" in line and "robots heat&gt;=50" in line


def test_an_article_that_heats_past_the_threshold_is_posted_then(desk: Desk):
    desk.follow("ai heat>=70")
    path = write_article(desk.folder, "warming", title="Warming AI story", topics=("AI",), heat=40)
    desk.index()
    desk.post()
    assert desk.posts() == []
    path.write_text(path.read_text().replace("heat: 40", "heat: 75"))
    desk.index()
    desk.post()
    (card,) = desk.posts()
    assert card_titles(card) == ["Warming AI story"]
    # Cooling down and heating up again is not a new article: one card, ever.
    path.write_text(path.read_text().replace("heat: 75", "heat: 30"))
    desk.index()
    path.write_text(path.read_text().replace("heat: 30", "heat: 95"))
    desk.index()
    desk.post()
    assert len(desk.posts()) == 1


def test_a_topic_added_to_an_article_posts_it(desk: Desk):
    desk.follow("elections")
    path = write_article(desk.folder, "vote", title="Ballots counted", topics=("Local",))
    desk.index()
    path.write_text(path.read_text().replace('  - "Local"', '  - "Local"\n  - "Elections"'))
    desk.index()
    desk.post()
    (card,) = desk.posts()
    assert card_titles(card) == ["Ballots counted"]


def test_a_burst_posts_five_cards_and_one_summary_hottest_first(desk: Desk, slack: FakeSlack):
    desk.follow("ai")
    for n in range(12):
        write_article(desk.folder, f"b{n:02d}", title=f"Burst {n:02d}", topics=("AI",), heat=n)
    desk.index()
    assert desk.post() == 6
    posts = desk.posts()
    cards, summary = posts[:5], posts[5]
    assert [card_titles(c)[0] for c in cards] == [f"Burst {n:02d}" for n in (11, 10, 9, 8, 7)]
    said = text_of(summary.args)
    assert "7 more articles" in said and "match" in said and "ai" in summary.args["text"]
    listed = [f"Burst {n:02d}" for n in range(6, -1, -1)]
    assert [t for t in listed if t in said] == listed
    assert said.index("Burst 06") < said.index("Burst 00")  # hottest first
    # A find within ten minutes grows that summary: no second summary, no sixth card.
    write_article(desk.folder, "late", title="Late AI story", topics=("AI",), heat=99)
    desk.index()
    assert desk.post() == 1
    assert len(desk.posts()) == 6
    (grown,) = slack.calls_to("chat.update")
    assert grown.args["ts"] == summary.response["ts"]
    said = text_of(grown.args)
    assert "8 more articles" in said and said.index("Late AI story") < said.index("Burst 06")
    # Ten minutes on, the window has room again: a card.
    write_article(desk.folder, "later", title="Later AI story", topics=("AI",), heat=1)
    desk.index()
    assert desk.post(now=datetime.now(UTC) + timedelta(minutes=11)) == 1
    assert card_titles(desk.posts()[-1]) == ["Later AI story"]


def test_a_first_index_of_a_big_folder_posts_one_burst_and_one_summary(
    slack: FakeSlack, database_url: str, tmp_path: Path, make_articles
):
    folder = tmp_path / "big"
    make_articles([str(folder), "--count", "400", "--seed", "5"])
    settings = make_settings(slack, database_url, folder)
    db = open_database(database_url)
    try:
        desk = make_desk(slack, settings, db, index=False)  # every article arrives new
        desk.follow("ai")
        desk.follow("published")
        desk.index()
        desk.post()
        posts = desk.posts()
        assert len(posts) == 6
        assert "more articles" in posts[-1].args["text"]
        assert len(json.dumps(posts[-1].args["blocks"])) < 40_000
    finally:
        db.dispose()


def test_a_restart_posts_nothing_again(slack: FakeSlack, desk: Desk):
    desk.follow("ai")
    write_article(desk.folder, "once", title="Once", topics=("AI",))
    desk.index()
    desk.post()
    desk.db.dispose()
    again = make_desk(slack, desk.settings, open_database(desk.settings.database_url))
    try:
        again.index()
        assert again.post() == 0
        assert len(again.posts()) == 1
    finally:
        again.db.dispose()


def test_unfollow_stops_the_cards(desk: Desk):
    desk.follow("ai")
    write_article(desk.folder, "before", title="Before", topics=("AI",))
    desk.index()
    listed = desk.command("follows")
    desk.click(listed, actions.FOLLOW_UNFOLLOW)  # found before it was posted: never posted
    desk.post()
    assert desk.posts() == []
    write_article(desk.folder, "after", title="After", topics=("AI",))
    desk.index()
    desk.post()
    assert desk.posts() == []
    assert [s for _c, _u, s in claims(desk)] == ["dropped"]


def test_slack_refusing_releases_the_claim_and_the_next_run_posts_it(
    desk: Desk, slack: FakeSlack, caplog
):
    desk.follow("ai")
    slack.set_channel(CHANNEL, member=False)
    for n in range(3):
        write_article(desk.folder, f"r{n}", title=f"Refused {n}", topics=("AI",))
    caplog.set_level(logging.INFO)
    desk.index()
    caplog.clear()
    assert desk.post() == 0
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and "/invite @newsbot" in lines[0] and CHANNEL in lines[0]
    # Only the card Slack refused is released; the others were not tried and wait.
    assert sorted(s for _c, _u, s in claims(desk)) == ["pending", "pending", "released"]
    assert desk.post() == 0  # the channel rests a minute
    assert len(slack.calls_to("chat.postMessage", all_attempts=True)) == 1

    slack.set_channel(CHANNEL, member=True)  # /invite @newsbot
    report = desk.index()  # no file changed
    assert report.added == report.updated == 0 and report.follow_finds == 1
    assert desk.post(now=datetime.now(UTC) + timedelta(minutes=2)) == 3
    assert sorted(t for c in desk.posts() for t in card_titles(c)) == [
        "Refused 0",
        "Refused 1",
        "Refused 2",
    ]


def test_unpublish_updates_the_follow_card(desk: Desk, slack: FakeSlack):
    desk.follow("ai")
    write_article(desk.folder, "live", title="Live story", topics=("AI",), published=True)
    desk.index()
    desk.post()
    (card,) = desk.posts()
    ts = card.response["ts"]
    with desk.db.Session() as session:
        article_id = session.scalar(select(Article.id).where(Article.title == "Live story"))
        assert session.scalar(select(PostedMessage.kind).where(PostedMessage.message_ts == ts)) == (
            "follow"
        )
    request = block_action(
        actions.REVIEW_UNPUBLISH,
        actions.review_value(article_id, fingerprint_of(desk, article_id)),
        user_id=REVIEWER,
        channel_id=CHANNEL,
        message_ts=ts,
        message_blocks=card.args["blocks"],
        response_url=slack.response_url(),
    )
    assert desk.app.dispatch(request.bolt_request()).status == 200
    (update,) = slack.calls_to("chat.update")
    assert update.args["ts"] == ts and "Unpublished by" in json.dumps(update.args["blocks"])


def fingerprint_of(desk: Desk, article_id: int) -> str:
    with desk.db.Session() as session:
        article = session.get(Article, article_id)
        assert article is not None
        return article.content_hash


def test_publishing_posts_to_a_published_follow(desk: Desk, slack: FakeSlack):
    desk.follow("ai published")
    write_article(desk.folder, "draft", title="Draft story", topics=("AI",))
    desk.index()
    desk.post()
    assert desk.posts() == []
    with desk.db.Session() as session:
        article_id = session.scalar(select(Article.id).where(Article.title == "Draft story"))
    request = block_action(
        actions.REVIEW_PUBLISH,
        actions.review_value(article_id, fingerprint_of(desk, article_id)),
        user_id=REVIEWER,
        response_url=slack.response_url(),
    )
    assert desk.app.dispatch(request.bolt_request()).status == 200
    assert desk.post() == 1
    (card,) = desk.posts()
    assert card_titles(card) == ["Draft story"]
    assert "Published by" in json.dumps(card.args["blocks"])


def test_rejected_and_missing_articles_never_post(desk: Desk, slack: FakeSlack):
    desk.follow("ai")
    write_article(desk.folder, "doomed", title="Doomed", topics=("AI",))
    gone = write_article(desk.folder, "gone", title="Gone", topics=("AI",))
    desk.index()
    with desk.db.Session() as session:
        doomed = session.scalar(select(Article.id).where(Article.title == "Doomed"))
    request = block_action(
        actions.REVIEW_REJECT,
        actions.review_value(doomed, fingerprint_of(desk, doomed)),
        user_id=REVIEWER,
        response_url=slack.response_url(),
    )
    desk.app.dispatch(request.bolt_request())
    gone.unlink()
    desk.index()
    assert desk.post() == 0
    assert desk.posts() == []


def test_a_rate_limited_card_waits_for_its_retry_after_and_is_posted_once(
    desk: Desk, slack: FakeSlack
):
    desk.follow("ai")
    write_article(desk.folder, "busy", title="Busy", topics=("AI",))
    desk.index()
    slack.rate_limit_next("chat.postMessage", times=2, retry_after=20)
    assert desk.post() == 0
    assert [s for _c, _u, s in claims(desk)] == ["pending"]  # given back, not released
    assert desk.post() == 0  # the channel is held until its Retry-After: Slack is not asked
    assert len(slack.calls_to("chat.postMessage", all_attempts=True)) == 1
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert desk.post(now=later) == 0  # limited again
    assert desk.post(now=later + timedelta(minutes=1)) == 1
    assert len(desk.posts()) == 1
    assert len(slack.calls_to("chat.postMessage", all_attempts=True)) == 3


def test_slack_unreachable_gives_the_claim_back(desk: Desk, slack: FakeSlack, caplog):

    desk.follow("ai")
    write_article(desk.folder, "down", title="Down", topics=("AI",))
    desk.index()
    down = make_settings(slack, desk.settings.database_url, desk.folder)
    client = make_client(down, retry_connections=False)
    client.base_url = closed_port_url()
    caplog.set_level(logging.WARNING)
    assert post_pending(down, desk.db, client) == 0
    assert "could not be reached" in caplog.text
    assert [s for _c, _u, s in claims(desk)] == ["released"]
    desk.index()
    assert desk.post(now=datetime.now(UTC) + timedelta(minutes=2)) == 1


def test_a_connection_dropped_after_sending_is_not_posted_again(desk: Desk, slack: FakeSlack):
    desk.follow("ai")
    write_article(desk.folder, "maybe", title="Maybe", topics=("AI",))
    desk.index()
    slack.drop_next("chat.postMessage")
    assert desk.post() == 0
    assert [s for _c, _u, s in claims(desk)] == ["claimed"]
    desk.index()
    assert desk.post() == 0
    assert len(slack.calls_to("chat.postMessage", all_attempts=True)) == 1


@pytest.mark.parametrize("status", [500, 502, 504])
def test_a_server_error_after_sending_is_not_posted_again(
    desk: Desk, slack: FakeSlack, status: int
):
    desk.follow("ai")
    write_article(desk.folder, "maybe", title="Maybe", topics=("AI",))
    desk.index()
    slack.http_error_next("chat.postMessage", status)  # Slack may have posted it first
    assert desk.post() == 0
    assert [s for _c, _u, s in claims(desk)] == ["claimed"]
    desk.index()
    assert desk.post(now=datetime.now(UTC) + timedelta(minutes=11)) == 0
    assert len(slack.calls_to("chat.postMessage", all_attempts=True)) == 1


def test_a_card_names_every_follow_of_the_channel_matching_when_it_goes_out(desk: Desk):
    desk.follow("ai")
    write_article(desk.folder, "robo", title="Robots sort mail", topics=("AI",), heat=60)
    desk.index()
    desk.follow("robots")  # made after the find, before the card went out
    assert desk.post() == 1
    (card,) = desk.posts()
    line = card.args["blocks"][0]["elements"][0]["text"]
    assert "ai" in line and "robots" in line


def test_each_channel_gets_its_own_card(desk: Desk, slack: FakeSlack):
    desk.follow("ai")
    desk.follow("ai", channel="C0OTHER")
    write_article(desk.folder, "both", title="Both", topics=("AI",))
    desk.index()
    assert desk.post() == 2
    assert [card_titles(c) for c in desk.posts()] == [["Both"]]
    assert [card_titles(c) for c in desk.posts("C0OTHER")] == [["Both"]]


def test_the_configured_follow_posts_and_cannot_be_unfollowed(desk: Desk):
    with desk.db.WriteSession.begin() as session:
        set_config_follow(session, channel=CHANNEL, query="unpublished heat>=60")
    listed = desk.command("follows")
    assert "configuration" in text_of(listed) and actions.FOLLOW_UNFOLLOW not in text_of(listed)
    assert "comes from" in text_of(desk.command("unfollow 1"))
    write_article(desk.folder, "hot-draft", title="Hot draft", heat=70)
    desk.index()
    desk.post()
    (card,) = desk.posts()
    assert card_titles(card) == ["Hot draft"]


def test_serve_looks_for_follow_cards_every_few_seconds_and_after_its_reindex(desk: Desk):
    from bot.scheduler import (
        FOLLOWS_EVERY,
        FOLLOWS_JOB,
        REINDEX_JOB,
        create_scheduler,
        reindex_and_post_job,
    )

    scheduler = create_scheduler(desk.settings, desk.db, make_client(desk.settings))
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert jobs[FOLLOWS_JOB].trigger.interval == FOLLOWS_EVERY <= timedelta(seconds=15)
    assert jobs[REINDEX_JOB].func is reindex_and_post_job
    desk.follow("ai")
    write_article(desk.folder, "periodic", title="Periodic", topics=("AI",))
    reindex = jobs[REINDEX_JOB]
    reindex.func(*reindex.args, **reindex.kwargs)
    (card,) = desk.posts()
    assert card_titles(card) == ["Periodic"]
    follows = jobs[FOLLOWS_JOB]
    follows.func(*follows.args, **follows.kwargs)  # nothing waits: nothing more is posted
    assert len(desk.posts()) == 1


def test_the_burst_setting_is_a_number_from_1_to_50(slack: FakeSlack, tmp_path: Path):
    from bot.settings import ConfigError
    from storage.follows import MAX_BURST

    url = f"sqlite:///{tmp_path / 'n.db'}"
    assert make_settings(slack, url, tmp_path).follow_burst == 5
    assert make_settings(slack, url, tmp_path, NEWSBOT_FOLLOW_BURST="2").follow_burst == 2
    for bad in ("0", str(MAX_BURST + 1), "many"):
        with pytest.raises(ConfigError, match="NEWSBOT_FOLLOW_BURST"):
            make_settings(slack, url, tmp_path, NEWSBOT_FOLLOW_BURST=bad)
    assert make_settings(slack, url, tmp_path, NEWSBOT_WATCH="true").watch is True
    with pytest.raises(ConfigError, match="NEWSBOT_WATCH"):
        make_settings(slack, url, tmp_path, NEWSBOT_WATCH="sometimes")


def test_a_smaller_burst_posts_fewer_cards(slack: FakeSlack, database_url: str, tmp_path: Path):
    folder = tmp_path / "articles"
    folder.mkdir()
    settings = make_settings(slack, database_url, folder, NEWSBOT_FOLLOW_BURST="2")
    db = open_database(database_url)
    try:
        desk = make_desk(slack, settings, db)
        desk.follow("ai")
        for n in range(4):
            write_article(folder, f"s{n}", title=f"Small {n}", topics=("AI",), heat=n)
        desk.index()
        assert desk.post() == 3
        *cards, summary = desk.posts()
        assert [card_titles(c) for c in cards] == [["Small 3"], ["Small 2"]]
        assert summary.args["text"].startswith("2 more articles match")
    finally:
        db.dispose()


# --- what changes while cards wait or go out -----------------------------------------


def status_of(desk: Desk) -> dict[str, str]:
    """Each claim's status, by its article's title."""
    with desk.db.Session() as session:
        rows = session.execute(
            select(Article.title, FollowClaim.status).join(
                Article, Article.id == FollowClaim.article_id
            )
        )
        return {title: status for title, status in rows}


def posting_in_background(desk: Desk) -> tuple[threading.Thread, list[int]]:
    """serve's follow job on its own thread: the thread, and where it puts what it posted."""
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(desk.post()), daemon=True)
    thread.start()
    return thread, result


def test_a_follow_removed_while_its_burst_goes_out_posts_nothing_more(desk: Desk, slack: FakeSlack):
    desk.follow("ai")
    for n in range(4):
        write_article(desk.folder, f"u{n}", title=f"Unfollowed {n}", topics=("AI",), heat=n)
    desk.index()
    gate = slack.hold_next("chat.postMessage")  # a slow Slack holds the first card
    thread, result = posting_in_background(desk)
    gate.wait_reached()
    assert "Removed follow 1" in text_of(desk.command("unfollow 1"))
    gate.release()
    thread.join(timeout=30)
    assert result == [1]
    assert [card_titles(c) for c in desk.posts()] == [["Unfollowed 3"]]
    assert status_of(desk) == {
        "Unfollowed 3": "posted",
        "Unfollowed 2": "dropped",
        "Unfollowed 1": "dropped",
        "Unfollowed 0": "dropped",
    }


def test_an_article_rejected_while_the_burst_goes_out_is_not_posted(desk: Desk, slack: FakeSlack):
    desk.follow("ai")
    for n in range(3):
        write_article(desk.folder, f"j{n}", title=f"Judged {n}", topics=("AI",), heat=n)
    desk.index()
    with desk.db.Session() as session:
        doomed = session.scalar(select(Article.id).where(Article.title == "Judged 1"))
    assert doomed is not None
    gate = slack.hold_next("chat.postMessage")
    thread, result = posting_in_background(desk)
    gate.wait_reached()
    reject = block_action(
        actions.REVIEW_REJECT,
        actions.review_value(doomed, fingerprint_of(desk, doomed)),
        user_id=REVIEWER,
        response_url=slack.response_url(),
    )
    assert desk.app.dispatch(reject.bolt_request()).status == 200
    gate.release()
    thread.join(timeout=30)
    assert result == [2]
    assert [card_titles(c) for c in desk.posts()] == [["Judged 2"], ["Judged 0"]]
    assert status_of(desk)["Judged 1"] == "dropped"


def heat(path: Path, old: int, new: int) -> None:
    path.write_text(path.read_text().replace(f"heat: {old}", f"heat: {new}"))


def test_a_find_that_stopped_matching_before_it_went_out_is_posted_when_it_matches_again(
    desk: Desk,
):
    desk.follow("ai heat>=70")
    path = write_article(desk.folder, "owl", title="Owl four", topics=("AI",), heat=72)
    desk.index()
    heat(path, 72, 68)  # re-scored before the poster got to it
    desk.index()
    assert desk.post() == 0
    assert status_of(desk) == {"Owl four": "dropped"}
    heat(path, 68, 85)
    desk.index()
    assert desk.post() == 1
    assert [card_titles(c) for c in desk.posts()] == [["Owl four"]]
    heat(path, 85, 60)  # posted: one card, ever
    desk.index()
    heat(path, 60, 90)
    desk.index()
    assert desk.post() == 0


def test_after_unfollow_and_follow_again_an_article_that_starts_matching_is_posted(desk: Desk):
    desk.follow("ai heat>=70")
    path = write_article(desk.folder, "again", title="Again", topics=("AI",), heat=80)
    desk.index()
    desk.command("unfollow 1")
    assert desk.post() == 0  # found for the removed follow: dropped
    desk.follow("ai heat>=70")  # it matches already: not posted for that
    desk.index()
    assert desk.post() == 0
    heat(path, 80, 50)
    desk.index()
    heat(path, 50, 75)  # starts matching the new follow
    desk.index()
    assert desk.post() == 1
    (card,) = desk.posts()
    assert card_titles(card) == ["Again"]
    assert "ai heat&gt;=70" in card.args["blocks"][0]["elements"][0]["text"]


def test_a_refused_find_whose_file_is_missing_for_a_run_is_posted_when_it_comes_back(
    desk: Desk, slack: FakeSlack, tmp_path: Path
):
    desk.follow("ai")
    write_article(desk.folder, "away", title="Away and back", topics=("AI",))
    desk.index()
    slack.fail_next("chat.postMessage", "not_in_channel")
    assert desk.post() == 0
    assert status_of(desk) == {"Away and back": "released"}
    aside = tmp_path / "aside"
    desk.folder.rename(aside)
    desk.folder.mkdir()  # an unmounted share: the folder is empty for one run
    desk.index()  # the refused find is pending again, but its article is missing
    later = datetime.now(UTC) + timedelta(minutes=2)
    assert desk.post(now=later) == 0
    assert status_of(desk) == {"Away and back": "missing"}
    desk.folder.rmdir()
    aside.rename(desk.folder)  # back, byte for byte
    desk.index()
    assert desk.post(now=later) == 1
    assert [card_titles(c) for c in desk.posts()] == [["Away and back"]]
    desk.index()
    assert desk.post(now=later + timedelta(minutes=11)) == 0  # once


def test_articles_whose_files_vanish_for_one_run_and_come_back_are_not_new(
    desk: Desk, tmp_path: Path
):
    for n in range(8):
        write_article(desk.folder, f"g{n}", title=f"Glacier {n}", topics=("Glaciers",))
    desk.index()
    desk.follow("glaciers")  # they match already: previewed, never posted
    aside = tmp_path / "aside"
    desk.folder.rename(aside)
    desk.folder.mkdir()  # an unmounted share: the folder is empty for one run
    assert desk.index().missing == 9
    desk.folder.rmdir()
    aside.rename(desk.folder)  # back, byte for byte
    write_article(desk.folder, "g-new", title="Glacier new", topics=("Glaciers",))
    desk.index()
    assert desk.post() == 1
    assert [card_titles(c) for c in desk.posts()] == [["Glacier new"]]


def test_a_bulk_import_over_several_index_runs_posts_one_burst_and_one_summary(
    desk: Desk, slack: FakeSlack
):
    desk.follow("ai")
    write_article(desk.folder, "first", title="First of the import", topics=("AI",), heat=0)
    desk.index()  # the folder watch saw one file first
    assert desk.post() == 1
    n = 0
    # Then the rest, over several watch runs: the rest of the burst and a summary, then
    # that summary grown.
    for batch, messages in ((100, 5), (50, 1), (50, 1)):
        for _ in range(batch):
            write_article(desk.folder, f"i{n:03d}", title=f"Import {n:03d}", topics=("AI",), heat=n)
            n += 1
        desk.index()
        assert desk.post() == messages
    posts = desk.posts()
    assert len(posts) == 6
    assert [card_titles(c) for c in posts[1:5]] == [[f"Import {i:03d}"] for i in (99, 98, 97, 96)]
    summary = posts[5]
    updates = slack.calls_to("chat.update")
    assert len(updates) == 2 and {u.args["ts"] for u in updates} == {summary.response["ts"]}
    said = text_of(updates[-1].args)
    assert "196 more articles match" in said  # 100 + 50 + 50, less the four cards
    assert said.index("Import 199") < said.index("Import 180")  # hottest of all first
    assert "Import 179" not in said and "and 176 more:" in said  # 20 titles, then a count
    assert slack.block_kit_violations == []
    # Once the window has passed, nothing of the import is left to post.
    assert desk.post(now=datetime.now(UTC) + timedelta(minutes=11)) == 0


def test_a_deleted_summary_is_not_grown_and_what_it_would_carry_waits(desk: Desk, slack: FakeSlack):
    desk.follow("ai")
    for n in range(7):
        write_article(desk.folder, f"d{n}", title=f"Deleted {n}", topics=("AI",), heat=n)
    desk.index()
    assert desk.post() == 6
    write_article(desk.folder, "late", title="Late", topics=("AI",), heat=99)
    desk.index()
    slack.fail_next("chat.update", "message_not_found")  # someone deleted the summary
    assert desk.post() == 0
    assert status_of(desk)["Late"] == "released"
    desk.index()  # pending again, but the window's summary is gone: it waits for the window
    assert desk.post() == 0
    assert desk.post(now=datetime.now(UTC) + timedelta(minutes=11)) == 1
    assert card_titles(desk.posts()[-1]) == ["Late"]


@pytest.mark.parametrize("retry_after", [20, 3600])
def test_a_rate_limited_channel_holds_up_no_other_channel(
    desk: Desk, slack: FakeSlack, retry_after: int
):
    desk.follow("ai")
    desk.follow("ai", channel="C0OTHER")
    desk.follow("ai", channel="C0THIRD")
    write_article(desk.folder, "both", title="Both", topics=("AI",))
    desk.index()
    # Channels are posted in order: the first is limited, the others go out in the same look.
    slack.rate_limit_next("chat.postMessage", retry_after=retry_after)
    assert desk.post() == 2
    assert desk.posts() == []
    for other in ("C0OTHER", "C0THIRD"):
        assert [card_titles(c) for c in desk.posts(other)] == [["Both"]]
    assert sorted(claims(desk))[0] == (CHANNEL, "https://news.example/both", "pending")
    assert desk.post() == 0  # held until its Retry-After, without an index run
    assert len(slack.calls_to("chat.postMessage", all_attempts=True)) == 3
    assert desk.post(now=datetime.now(UTC) + timedelta(seconds=retry_after + 60)) == 1
    assert [card_titles(c) for c in desk.posts()] == [["Both"]]


def test_posting_stopped_mid_channel_counts_what_went_out(desk: Desk, slack: FakeSlack):
    desk.follow("ai")
    for n in range(3):
        write_article(desk.folder, f"m{n}", title=f"Midway {n}", topics=("AI",), heat=n)
    desk.index()
    slack.hold_next("chat.postMessage").release()  # the first card goes through
    slack.drop_next("chat.postMessage")  # the second's connection is lost after sending
    assert desk.post() == 1
    assert [card_titles(c) for c in desk.posts()] == [["Midway 2"]]
