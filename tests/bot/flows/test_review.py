"""Reviewers publish, reject and unpublish from Slack; the article file follows, once."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.app import create_app
from bot.render import actions
from storage.models import Article, ReviewDecision
from storage.sync import sync
from tests.builders import (
    REVIEWER,
    VOTER_FILE,
    article_id,
    click,
    click_request,
    dispatch,
    git,
    git_repo,
    indexed,
    make_settings,
    news,
    posted,
    texts,
    write_article,
)
from tests.slack_requests import app_home_opened

VOTER = "https://www.lakeviewledger.com/politics/5530871/voter-roll-privacy-audit"


def decisions(db) -> list[ReviewDecision]:
    with db.Session() as session:
        return list(session.scalars(select(ReviewDecision)))


@pytest.fixture
def voter(bot_db) -> int:
    return article_id(bot_db, VOTER_FILE)


def test_publish_flips_the_file_and_the_card(app, slack, settings, bot_db, voter):
    path = settings.articles_dir / VOTER_FILE
    before = path.read_bytes()
    replies = click(app, slack, news(app, slack, "review"), actions.REVIEW_PUBLISH, voter)
    after = path.read_bytes()
    assert after == before.replace(b"published: false", b"published: true")
    with bot_db.Session() as session:
        assert session.scalar(select(Article.published).where(Article.web_url == VOTER))
    (decision,) = decisions(bot_db)
    assert (decision.action, decision.reviewer_id, decision.reviewer_name) == (
        "publish",
        REVIEWER,
        "rita",
    )
    assert (decision.old_value, decision.new_value) == ("false", "true")
    (updated,) = replies
    assert updated["replace_original"] is True
    card = texts(updated)
    assert f"Published by <@{REVIEWER}" in card
    assert f"card-actions:{voter}" not in card  # the buttons are gone
    assert "Ransomware" in card  # the rest of the queue is still there
    # The indexer sees its own write as the new version, not a conflict.
    report = sync(bot_db.WriteSession, settings.articles_dir)
    assert (report.updated, report.failed) == (0, 0)


def test_a_non_reviewer_is_refused_and_nothing_changes(app, slack, settings, bot_db, voter):
    path = settings.articles_dir / VOTER_FILE
    before = path.read_bytes()
    queue = news(app, slack, "review")
    (refusal,) = click(app, slack, queue, actions.REVIEW_PUBLISH, voter, user_id="U111")
    assert refusal["response_type"] == "ephemeral" and refusal["replace_original"] is False
    assert "Only reviewers can publish" in refusal["text"]
    assert path.read_bytes() == before
    assert decisions(bot_db) == []


def test_a_user_group_member_may_publish(slack, articles_dir, sqlite_url, bot_db, voter):
    settings = make_settings(slack, sqlite_url, articles_dir, NEWSBOT_REVIEWERS="S0DESK")
    slack.set_usergroup("S0DESK", ["U0GROUPIE"])
    app = create_app(settings, bot_db, process_before_response=True)
    queue = news(app, slack, "review")
    click(app, slack, queue, actions.REVIEW_PUBLISH, voter, user_id="U0GROUPIE")
    assert [d.reviewer_id for d in decisions(bot_db)] == ["U0GROUPIE"]
    assert len(slack.calls_to("usergroups.users.list")) == 1


def test_when_slack_cannot_list_the_group_nobody_new_gets_in(
    slack, articles_dir, sqlite_url, bot_db, voter
):
    settings = make_settings(slack, sqlite_url, articles_dir, NEWSBOT_REVIEWERS="S0DESK")
    slack.set_usergroup("S0DESK", ["U0GROUPIE"])  # a member, had Slack been asked
    app = create_app(settings, bot_db, process_before_response=True)
    queue = news(app, slack, "review")
    slack.fail_next("usergroups.users.list", "ratelimited")
    (refusal,) = click(app, slack, queue, actions.REVIEW_PUBLISH, voter, user_id="U0GROUPIE")
    assert "Only reviewers" in refusal["text"] and decisions(bot_db) == []
    assert [c.response["ok"] for c in slack.calls_to("usergroups.users.list")] == [False]


def test_a_stale_card_refuses_and_shows_the_fresh_one(app, slack, settings, bot_db, voter):
    queue = news(app, slack, "review")
    path = settings.articles_dir / VOTER_FILE
    edited = path.read_bytes().replace(b"quality: 48", b"quality: 49")
    path.write_bytes(edited)  # an editor's change the card has not seen
    replies = click(app, slack, queue, actions.REVIEW_PUBLISH, voter)
    assert path.read_bytes() == edited
    assert decisions(bot_db) == []
    assert any("changed since the card was posted" in r["text"] for r in replies)


def test_a_second_click_or_a_retry_publishes_once(app, slack, settings, bot_db, voter):
    queue = news(app, slack, "review")
    click(app, slack, queue, actions.REVIEW_PUBLISH, voter)
    replies = click(app, slack, queue, actions.REVIEW_PUBLISH, voter)
    assert any("Already published by" in r["text"] for r in replies)
    assert len(decisions(bot_db)) == 1


def test_reject_takes_it_out_of_the_queue_without_touching_the_file(
    app, slack, settings, bot_db, voter
):
    path = settings.articles_dir / VOTER_FILE
    before = path.read_bytes()
    (updated,) = click(app, slack, news(app, slack, "review"), actions.REVIEW_REJECT, voter)
    assert f"Rejected by <@{REVIEWER}" in texts(updated)
    assert path.read_bytes() == before
    assert "Voter Roll" not in texts(news(app, slack, "review"))


def test_unpublish_reverts_the_file(app, slack, settings, bot_db, voter):
    path = settings.articles_dir / VOTER_FILE
    before = path.read_bytes()
    click(app, slack, news(app, slack, "review"), actions.REVIEW_PUBLISH, voter)
    results = news(app, slack, "privacy", user_id=REVIEWER)
    replies = click(app, slack, results, actions.REVIEW_UNPUBLISH, voter)
    assert path.read_bytes() == before
    assert [d.action for d in decisions(bot_db)] == ["publish", "unpublish"]
    assert "Unpublished by" in texts(replies[0])


def test_shared_cards_are_updated_too(app, slack, bot_db, voter):
    results = news(app, slack, "privacy")
    click(app, slack, results, actions.NEWS_SHARE, voter, user_id="U111")
    (share,) = slack.calls_to("chat.postMessage")
    slack.reset()
    click(app, slack, posted(share), actions.REVIEW_PUBLISH, voter)
    (update,) = slack.calls_to("chat.update")
    assert update.args["ts"] == share.response["ts"]
    assert "Published by" in texts(update.args)
    assert "shared" in texts(update.args)  # who shared it is kept
    # chat.update already changed the clicked message: no second edit through response_url.
    assert [c for c in slack.calls_to("response_url") if c.args.get("replace_original")] == []


def test_twenty_concurrent_clicks_publish_once(slack, articles_dir, database_url):
    settings = make_settings(slack, database_url, articles_dir)
    with indexed(database_url, articles_dir) as db:
        app = create_app(settings, db, process_before_response=True)
        queue = news(app, slack, "review")
        voter = article_id(db, VOTER_FILE)
        requests = [click_request(slack, queue, actions.REVIEW_PUBLISH, voter) for _ in range(20)]
        barrier = threading.Barrier(20)
        statuses = []

        def go(request):
            barrier.wait()
            statuses.append(app.dispatch(request.bolt_request()).status)

        threads = [threading.Thread(target=go, args=(r,)) for r in requests]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert statuses == [200] * 20
        assert len(decisions(db)) == 1
    texts_sent = [c.args.get("text", "") for c in slack.calls_to("response_url")]
    assert sum("Already published" in t for t in texts_sent) == 19


def test_git_commit_records_the_decision(slack, articles_dir, sqlite_url, monkeypatch):
    git_repo(articles_dir, monkeypatch)
    settings = make_settings(
        slack,
        sqlite_url,
        articles_dir,
        NEWSBOT_GIT_COMMIT="true",
        NEWSBOT_GIT_AUTHOR="Newsbot <newsbot@desk.example>",
    )
    with indexed(sqlite_url, articles_dir) as db:
        app = create_app(settings, db, process_before_response=True)
        queue = news(app, slack, "review")
        click(app, slack, queue, actions.REVIEW_PUBLISH, article_id(db, VOTER_FILE))
    log = git(articles_dir, "log", "-1", "--format=%an <%ae>%n%B", "--name-only")
    assert log.startswith("Newsbot <newsbot@desk.example>\nPublish: State Auditor Finds Voter Roll")
    assert f"Approved-by: rita <{REVIEWER}>" in log
    assert VOTER_FILE in log


def test_published_files_keep_secured_byte_for_byte(app, slack, settings, bot_db, voter):
    path = settings.articles_dir / VOTER_FILE
    secured = next(line for line in path.read_bytes().splitlines() if line.startswith(b"secured:"))
    click(app, slack, news(app, slack, "review"), actions.REVIEW_PUBLISH, voter)
    assert secured in path.read_bytes().splitlines()
    assert secured.split(b'"')[1].decode() not in json.dumps([c.args for c in slack.calls])


def test_publishing_from_app_home_republishes_the_tab(app, slack, settings, bot_db):
    write_article(settings.articles_dir, "fresh", heat=99, publishedDateTime=datetime.now(UTC))
    sync(bot_db.WriteSession, settings.articles_dir)
    dispatch(app, slack, app_home_opened(REVIEWER))
    (home,) = slack.calls_to("views.publish")
    slack.reset()
    # The fresh draft is the only article of the last 24 hours; the reviewer's queue
    # below lists every draft. App Home has no response_url: the answer is the tab again.
    fresh = article_id(bot_db, "fresh.md")
    click = click_request(slack, home.args["view"], actions.REVIEW_PUBLISH, fresh)
    assert dispatch(app, slack, click) == []
    (again,) = slack.calls_to("views.publish")
    assert "Published by" in json.dumps(again.args["view"])
    assert b"published: true" in (settings.articles_dir / "fresh.md").read_bytes()
