"""Review decisions under bad timing and bad luck.

Each action checks the state it needs; no database lock is held while Slack
is called, so a slow Slack never stalls other clicks; a crash between the
file and the database is settled at the next start; reviewers never see a
server path.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from slack_bolt import App
from sqlalchemy import select, text

from bot.app import create_app, make_client
from bot.http_server import HttpServer
from bot.render import actions
from bot.scheduler import REFRESH_CARDS_JOB, create_scheduler
from bot.server import listener_pool
from bot.settings import Settings
from storage.db import Database
from storage.decisions import LEASE, decide, decisions_since, finish_interrupted
from storage.models import (
    PendingPost,
    PostedCard,
    PostedMessage,
    ReviewDecision,
    utcnow,
)
from storage.search import get_article
from storage.sync import sync
from storage.writeback import TEMP_MARKER
from tests.builders import (
    HARBOR_FILE,
    VOTER_FILE,
    ZURICH_FILE,
    article_id,
    click,
    click_request,
    indexed,
    make_settings,
    news,
    posted,
    run_until_killed,
    serving,
)
from tests.builders import (
    article_row as row,
)
from tests.builders import (
    decision_records as decisions,
)
from tests.slack_api import FakeSlack
from tests.slack_requests import link_shared

CRASH_HELPER = Path(__file__).with_name("decision_crash_helper.py")
RITA, OTTO = "U0RITA", "U0OTTO"


@pytest.fixture
def slack(slack: FakeSlack) -> FakeSlack:
    """The Slack stand-in of every test, knowing both reviewers."""
    slack.add_user(RITA, "rita", "Rita Reviewer")
    slack.add_user(OTTO, "otto", "Otto Reviewer")
    return slack


@pytest.fixture
def settings(slack: FakeSlack, database_url: str, articles_dir: Path) -> Settings:
    return make_settings(slack, database_url, articles_dir, NEWSBOT_REVIEWERS=f"{RITA},{OTTO}")


@pytest.fixture
def db(bot_db: Database) -> Database:
    """The examples, indexed (on SQLite, and on PostgreSQL when configured); `app` uses it."""
    return bot_db


# --- helpers -------------------------------------------------------------------


def said(replies: list[dict]) -> list[tuple[str, str]]:
    """What the clicker was told through response_url: (text, blocks as JSON) each."""
    return [(r.get("text", ""), json.dumps(r.get("blocks", []))) for r in replies]


# --- 1. each action checks the state it needs -----------------------------------


def test_reject_on_an_old_card_after_a_publish_is_refused_and_names_the_publisher(
    app, slack, settings, db
):
    voter = article_id(db, VOTER_FILE)
    old_card = news(app, slack, "review", user_id=RITA)  # both reviewers have this queue open
    click(app, slack, old_card, actions.REVIEW_PUBLISH, voter, user_id=RITA)
    published_file = (settings.articles_dir / VOTER_FILE).read_bytes()

    replies = said(click(app, slack, old_card, actions.REVIEW_REJECT, voter, user_id=OTTO))

    texts = [text for text, _blocks in replies]
    assert any(f"Already published by <@{RITA}" in t for t in texts), texts
    refreshed = [blocks for _text, blocks in replies if "Published by" in blocks]
    assert refreshed, "the card shown to the loser is refreshed"
    assert f"card-actions:{voter}" not in refreshed[-1]  # no Publish/Reject any more
    voter_row = row(db, VOTER_FILE)
    assert (voter_row.published, voter_row.rejected) == (True, False)
    assert decisions(db) == [("publish", RITA, "done")]
    assert (settings.articles_dir / VOTER_FILE).read_bytes() == published_file

    # Unpublish works (it used to answer "already rejected").
    results = news(app, slack, "privacy", user_id=RITA)
    replies = said(click(app, slack, results, actions.REVIEW_UNPUBLISH, voter, user_id=OTTO))
    assert not any("Already" in text for text, _ in replies)
    assert row(db, VOTER_FILE).published is False
    assert [d[0] for d in decisions(db)] == ["publish", "unpublish"]


STATES = ("draft", "published", "rejected")
ALLOWED = {("publish", "draft"), ("reject", "draft"), ("unpublish", "published")}


def put_in_state(db: Database, root: Path, source_path: str, state: str) -> int:
    """Bring an example draft into `state` through real decisions."""
    aid = article_id(db, source_path)
    action = {"published": "publish", "rejected": "reject"}.get(state)
    if action:
        done = decide(
            db.WriteSession,
            article_id=aid,
            action=action,
            fingerprint=None,
            reviewer_id=RITA,
            reviewer_name="rita",
            root=root,
        )
        assert done.status == "done"
    return aid


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", ["publish", "reject", "unpublish"])
def test_an_action_acts_only_on_the_state_it_needs(db, settings, state, action):
    root = settings.articles_dir
    aid = put_in_state(db, root, ZURICH_FILE, state)
    before_file = (root / ZURICH_FILE).read_bytes()
    before_row = row(db, ZURICH_FILE)
    before_decisions = decisions(db)

    outcome = decide(
        db.WriteSession,
        article_id=aid,
        action=action,
        fingerprint=before_row.content_hash,
        reviewer_id=OTTO,
        reviewer_name="otto",
        root=root,
    )

    after = row(db, ZURICH_FILE)
    if (action, state) in ALLOWED:
        assert outcome.status == "done"
        assert decisions(db) == [*before_decisions, (action, OTTO, "done")]
        assert after.version > before_row.version
    else:
        assert outcome.status == "already"
        assert outcome.state == state
        assert (after.published, after.rejected) == (before_row.published, before_row.rejected)
        assert after.version == before_row.version
        assert (root / ZURICH_FILE).read_bytes() == before_file
        assert decisions(db) == before_decisions
        if state != "draft":
            assert outcome.previous is not None and outcome.previous.reviewer_id == RITA
    assert not (after.published and after.rejected)


def test_publish_on_a_rejected_article_says_who_rejected_it(app, slack, db):
    voter = article_id(db, VOTER_FILE)
    old_card = news(app, slack, "review", user_id=RITA)
    click(app, slack, old_card, actions.REVIEW_REJECT, voter, user_id=OTTO)
    replies = said(click(app, slack, old_card, actions.REVIEW_PUBLISH, voter, user_id=RITA))
    assert any(f"Already rejected by <@{OTTO}" in text for text, _ in replies)
    assert row(db, VOTER_FILE).published is False


def test_unpublish_of_a_draft_edited_back_by_hand_says_what_it_is(app, slack, settings, db):
    harbor = article_id(db, HARBOR_FILE)
    results = news(app, slack, "computer vision", user_id=RITA)
    path = settings.articles_dir / HARBOR_FILE
    path.write_bytes(path.read_bytes().replace(b"published: true", b"published: false"))
    sync(db.WriteSession, settings.articles_dir)
    replies = said(click(app, slack, results, actions.REVIEW_UNPUBLISH, harbor, user_id=RITA))
    assert any("It is a draft, not published" in text for text, _ in replies)
    assert decisions(db) == []


# --- 2. no network call inside a write transaction -------------------------------


def share(app: App, slack: FakeSlack, source_path: str, db: Database) -> dict:
    """Share an article to C123 via its search card; the posted message as clicked later."""
    aid = article_id(db, source_path)
    results = news(
        app, slack, "privacy" if source_path == VOTER_FILE else "heat pump", user_id=RITA
    )
    request = click_request(slack, results, actions.NEWS_SHARE, aid, user_id="U111")
    app.dispatch(request.bolt_request())
    (message,) = slack.calls_to("chat.postMessage")
    slack.reset()
    return posted(message)


def test_a_rate_limited_card_update_does_not_stall_other_decisions(
    app, slack, settings, db, caplog
):
    caplog.set_level(logging.WARNING)
    voter, zurich = article_id(db, VOTER_FILE), article_id(db, ZURICH_FILE)
    shared = share(app, slack, VOTER_FILE, db)
    queue = news(app, slack, "review", user_id=RITA)
    slack.rate_limit_next("chat.update", retry_after=1)
    # The retry after the 429 hangs; for less than the client's 15 s timeout, so a click
    # that waited for this call to end would find it answered.
    held = slack.hold_next("chat.update", timeout=10)

    first = threading.Thread(
        target=click,
        args=(app, slack, shared, actions.REVIEW_PUBLISH, voter),
        kwargs={"user_id": RITA},
    )
    first.start()
    try:
        held.wait_reached()
        # Rita's decision is waiting on Slack. Otto decides another article meanwhile.
        replies = said(click(app, slack, queue, actions.REVIEW_PUBLISH, zurich, user_id=OTTO))
        assert held.waiting, "Otto's click had to wait for Rita's chat.update"
    finally:
        held.release()
        first.join(timeout=30)
    assert any("Published by" in blocks for _text, blocks in replies)
    assert row(db, ZURICH_FILE).published and row(db, VOTER_FILE).published
    assert b"published: true" in (settings.articles_dir / ZURICH_FILE).read_bytes()
    assert "database is locked" not in caplog.text
    (updated,) = slack.calls_to("chat.update")
    assert updated.args["ts"] == shared["ts"] and "Published by" in json.dumps(updated.args)


def test_two_decisions_on_one_message_both_reach_slack(app, slack, settings, db):
    """Two cards in one posted message, decided while its first edit is held."""
    voter, zurich = article_id(db, VOTER_FILE), article_id(db, ZURICH_FILE)
    shared = share(app, slack, VOTER_FILE, db)
    # The share's message also carries Zürich's card, as a digest message carries several.
    with db.WriteSession.begin() as session:
        message = session.scalars(select(PostedMessage)).one()
        session.add(PostedCard(posted_message_id=message.id, article_id=zurich))
    queue = news(app, slack, "review", user_id=RITA)
    zurich_card = [b for b in queue["blocks"] if b.get("block_id", "").endswith(f":{zurich}")]
    with db.WriteSession.begin() as session:
        message = session.scalars(select(PostedMessage)).one()
        message.blocks = [*message.blocks, *zurich_card]
    held = slack.hold_next("chat.update", timeout=10)

    first = threading.Thread(
        target=click,
        args=(app, slack, shared, actions.REVIEW_PUBLISH, voter),
        kwargs={"user_id": RITA},
    )
    first.start()
    try:
        held.wait_reached()
        click(app, slack, queue, actions.REVIEW_PUBLISH, zurich, user_id=OTTO)
        assert held.waiting
    finally:
        held.release()
        first.join(timeout=30)

    last = slack.calls_to("chat.update")[-1]
    text = json.dumps(last.args["blocks"])
    assert last.args["ts"] == shared["ts"]
    assert text.count("Published by") == 2, "the second decision was folded into the edit"
    with db.Session() as session:
        message = session.scalars(select(PostedMessage)).one()
        assert message.updating_by is None  # the lease was given back
        assert json.dumps(message.blocks) == text


def test_cards_a_failed_update_left_behind_are_brought_up_to_date(app, slack, settings, db):
    voter = article_id(db, VOTER_FILE)
    shared = share(app, slack, VOTER_FILE, db)
    queue = news(app, slack, "review", user_id=RITA)
    slack.fail_next("chat.update", "internal_error")
    click(app, slack, queue, actions.REVIEW_PUBLISH, voter, user_id=RITA)
    assert slack.calls_to("chat.update")[0].response["ok"] is False
    slack.reset()

    scheduler = create_scheduler(settings, db, make_client(settings))
    job = scheduler.get_job(REFRESH_CARDS_JOB)
    job.func(*job.args, **job.kwargs)

    (update,) = slack.calls_to("chat.update")
    assert update.args["ts"] == shared["ts"] and "Published by" in json.dumps(update.args)
    job.func(*job.args, **job.kwargs)  # up to date now: nothing more to do
    assert len(slack.calls_to("chat.update")) == 1


def test_a_message_slack_cannot_find_is_no_longer_kept_up_to_date(app, slack, settings, db):
    share(app, slack, VOTER_FILE, db)
    queue = news(app, slack, "review", user_id=RITA)
    slack.fail_next("chat.update", "message_not_found")  # someone deleted the share
    click(app, slack, queue, actions.REVIEW_PUBLISH, article_id(db, VOTER_FILE), user_id=RITA)
    with db.Session() as session:
        assert session.scalars(select(PostedMessage)).all() == []
    slack.reset()
    scheduler = create_scheduler(settings, db, make_client(settings))
    job = scheduler.get_job(REFRESH_CARDS_JOB)
    job.func(*job.args, **job.kwargs)
    assert slack.calls_to("chat.update") == []


@pytest.fixture
def http_app(settings: Settings, db: Database) -> Iterator[str]:
    pool = listener_pool()
    app = create_app(settings, db, listener_executor=pool)
    server = HttpServer(app, db, host="127.0.0.1", port=0, threads=8)
    server.start()
    yield f"http://127.0.0.1:{server.port}/slack/events"
    server.stop()
    pool.shutdown(wait=True)


@contextlib.contextmanager
def database_busy(db: Database, settings: Settings) -> Iterator[None]:
    """Another writer holds what a click must write to (an index batch, say)."""
    if db.dialect == "sqlite":
        busy = sqlite3.connect(settings.database_url.removeprefix("sqlite:///"), timeout=0)
        busy.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            busy.rollback()
            busy.close()
    else:
        with db.engine.connect() as conn:
            conn.execute(text("LOCK TABLE handled_requests, articles IN EXCLUSIVE MODE"))
            try:
                yield
            finally:
                conn.rollback()


def test_clicks_are_acknowledged_while_the_database_is_busy(http_app, slack, settings, db):
    results = news(
        create_app(settings, db, process_before_response=True), slack, "privacy", user_id=RITA
    )
    voter = article_id(db, VOTER_FILE)
    share_click = click_request(slack, results, actions.NEWS_SHARE, voter, user_id="U111")
    publish_click = click_request(slack, results, actions.REVIEW_PUBLISH, voter, user_id=RITA)
    with database_busy(db, settings):
        assert share_click.post(http_app) == (200, "")
        assert publish_click.post(http_app) == (200, "")
        assert slack.calls_to("chat.postMessage") == []  # the work waits for the database
    (posted,) = slack.wait_for("chat.postMessage", timeout=30)
    wait_until(lambda: row(db, VOTER_FILE).published)
    wait_until(lambda: posted_ts(db) == [posted.response["ts"]])


def wait_until(condition, timeout: float = 30) -> None:
    """For work the listener pool finishes after the ack."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the work after the ack did not finish")
        time.sleep(0.05)


def posted_ts(db: Database) -> list[str]:
    with db.Session() as session:
        return session.scalars(select(PostedMessage.message_ts)).all()


def test_a_share_is_written_down_before_it_is_posted(app, slack, db):
    voter = article_id(db, VOTER_FILE)
    results = news(app, slack, "privacy", user_id=RITA)
    held = slack.hold_next("chat.postMessage")
    request = click_request(slack, results, actions.NEWS_SHARE, voter, user_id="U111")
    worker = threading.Thread(target=app.dispatch, args=(request.bolt_request(),))
    worker.start()
    try:
        held.wait_reached()
        with db.Session() as session:
            (pending,) = session.scalars(select(PendingPost)).all()
            assert (pending.channel, pending.kind) == ("C123", "share")
            assert session.scalars(select(PostedMessage)).all() == []
    finally:
        held.release()
        worker.join(timeout=30)
    (posted,) = slack.calls_to("chat.postMessage")
    with db.Session() as session:
        assert session.scalars(select(PendingPost)).all() == []
        (message,) = session.scalars(select(PostedMessage)).all()
        assert message.message_ts == posted.response["ts"]


def test_a_refused_share_leaves_nothing_pending(app, slack, db):
    results = news(app, slack, "privacy", user_id=RITA)
    slack.fail_next("chat.postMessage", "not_in_channel")
    voter = article_id(db, VOTER_FILE)
    request = click_request(slack, results, actions.NEWS_SHARE, voter, user_id="U111")
    app.dispatch(request.bolt_request())
    assert any("not in this channel" in c.args["text"] for c in slack.calls_to("response_url"))
    with db.Session() as session:
        assert session.scalars(select(PendingPost)).all() == []
        assert session.scalars(select(PostedMessage)).all() == []


def test_a_share_decided_while_it_was_being_posted_is_brought_up_to_date(app, slack, db):
    voter = article_id(db, VOTER_FILE)
    results = news(app, slack, "privacy", user_id=RITA)
    queue = news(app, slack, "review", user_id=RITA)
    held = slack.hold_next("chat.postMessage")
    request = click_request(slack, results, actions.NEWS_SHARE, voter, user_id="U111")
    worker = threading.Thread(target=app.dispatch, args=(request.bolt_request(),))
    worker.start()
    try:
        held.wait_reached()  # the share's draft card is on its way to Slack
        click(app, slack, queue, actions.REVIEW_PUBLISH, voter, user_id=RITA)
    finally:
        held.release()
        worker.join(timeout=30)
    (posted,) = slack.calls_to("chat.postMessage")
    (update,) = slack.calls_to("chat.update")
    assert update.args["ts"] == posted.response["ts"]
    assert "Published by" in json.dumps(update.args["blocks"])


def test_an_event_retry_to_another_replica_is_not_acted_on_twice(slack, settings, db):
    # Two apps on one database: the retry lands on the replica that did not see the first.
    first, second = (create_app(settings, db, process_before_response=True) for _ in range(2))
    url = "https://www.harborcityherald.com/story/ai-traffic-cameras-pilot-results-4821907"
    request = link_shared([url])
    first.dispatch(request.bolt_request())
    retry = link_shared([url], retry_num=1, event_id=request.payload["event_id"])
    assert second.dispatch(retry.bolt_request()).status == 200
    assert len(slack.calls_to("chat.unfurl")) == 1


# --- 3. the record and the file agree after any crash ------------------------------


def crash_decision(settings: Settings, source_path: str, action: str, step: str) -> None:
    with indexed(settings.database_url, settings.articles_dir) as db:
        aid = article_id(db, source_path)
    url, root = settings.database_url, str(settings.articles_dir)
    run_until_killed(CRASH_HELPER, url, root, str(aid), action, step)


def serve_once(slack: FakeSlack, settings: Settings, tmp_path: Path) -> str:
    """Start `newsbot serve`, wait until it answers, stop it; its output."""
    with serving(slack, settings, tmp_path) as (proc, _url):
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    return output


def test_a_share_is_on_record_when_the_process_dies_during_the_post(
    app, slack, settings, db, tmp_path
):
    results = news(app, slack, "privacy", user_id=RITA)
    voter = article_id(db, VOTER_FILE)
    held = slack.hold_next("chat.postMessage")
    with serving(slack, settings, tmp_path) as (proc, url):
        share_click = click_request(slack, results, actions.NEWS_SHARE, voter, user_id="U111")
        assert share_click.post(url)[0] == 200
        held.wait_reached()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        held.release()  # Slack accepts the message; nobody is left to hear it
    (posted,) = slack.wait_for("chat.postMessage")
    with db.Session() as session:
        (pending,) = session.scalars(select(PendingPost)).all()
        assert (pending.channel, pending.kind, pending.text) == (
            "C123",
            "share",
            posted.args["text"],
        )
        assert pending.cards == {str(voter): row(db, VOTER_FILE).version}


@pytest.mark.parametrize(
    ("step", "action", "took_effect"),
    [
        ("after-replace", "publish", True),
        ("before-replace", "publish", False),
        ("after-replace", "unpublish", True),
        ("before-replace", "unpublish", False),
    ],
)
def test_a_crash_between_the_file_and_the_database_is_settled_at_start(
    slack, settings, db, tmp_path, step, action, took_effect
):
    source = VOTER_FILE if action == "publish" else HARBOR_FILE
    path = settings.articles_dir / source
    was_published = action == "unpublish"
    crash_decision(settings, source, action, step)
    with db.Session() as session:
        (pending,) = session.scalars(select(ReviewDecision)).all()
        assert pending.status == "pending"  # written down before the file was touched

    # A write-back killed long ago left its temporary file; serve's start removes it.
    leftover = path.parent / f".{path.name}{TEMP_MARKER}k1ll3d00"
    leftover.write_bytes(b"half an article")
    os.utime(leftover, (time.time() - 3600, time.time() - 3600))

    output = serve_once(slack, settings, tmp_path)

    assert not leftover.exists()

    now_published = was_published != took_effect
    assert f"published: {'true' if now_published else 'false'}".encode() in path.read_bytes()
    assert row(db, source).published is now_published
    assert decisions(db) == [(action, "U0CRASH", "done" if took_effect else "abandoned")]
    with db.Session() as session:
        audit = decisions_since(session, pending.decided_at)
        card = get_article(session, article_id(db, source))
    assert [(a.action, a.old_value, a.new_value) for a in audit] == (
        [(action, str(was_published).lower(), str(now_published).lower())] if took_effect else []
    )
    assert (card.decision is not None) is took_effect
    assert f"an interrupted {action} of {source}" in output
    # The article is decidable again: nothing is left pending.
    again = decide(
        db.WriteSession,
        article_id=article_id(db, source),
        action="unpublish" if now_published else "publish",
        fingerprint=None,
        reviewer_id=RITA,
        reviewer_name="rita",
        root=settings.articles_dir,
    )
    assert again.status == "done"


def test_a_live_replicas_pending_decision_is_left_alone_until_its_lease_ends(settings, db):
    crash_decision(settings, VOTER_FILE, "publish", "before-replace")
    with db.WriteSession.begin() as session:
        pending = session.scalars(select(ReviewDecision)).one()
        pending.owner = "another-host:4242"  # a replica elsewhere, maybe still writing
    assert finish_interrupted(db.WriteSession, settings.articles_dir, at_start=True) == []
    assert decisions(db) == [("publish", "U0CRASH", "pending")]
    # Meanwhile the article is not decidable twice.
    busy = decide(
        db.WriteSession,
        article_id=article_id(db, VOTER_FILE),
        action="reject",
        fingerprint=None,
        reviewer_id=RITA,
        reviewer_name="rita",
        root=settings.articles_dir,
    )
    assert busy.status == "already" and busy.previous.reviewer_id == "U0CRASH"

    later = utcnow() + LEASE + timedelta(seconds=1)
    (settled,) = finish_interrupted(db.WriteSession, settings.articles_dir, now=later)
    assert settled.status == "abandoned"
    assert row(db, VOTER_FILE).published is False
    assert decisions(db) == [("publish", "U0CRASH", "abandoned")]


# --- 6 and 7. the articles folder, and what reviewers are told -------------------


def all_slack_text(slack: FakeSlack) -> str:
    return json.dumps([c.args for c in slack.calls])


def test_a_symlink_repointed_outside_the_folder_is_refused(app, slack, settings, db, tmp_path):
    root = settings.articles_dir
    outside = tmp_path / "outside"
    outside.mkdir()
    real = root / ".store" / "target.md"  # hidden: indexed through the link only
    real.parent.mkdir()
    real.write_bytes((root / VOTER_FILE).read_bytes().replace(b"5530871", b"1111111"))
    link = root / "linked.md"
    link.symlink_to(real)
    sync(db.WriteSession, root)
    queue = news(app, slack, "review", user_id=RITA)
    linked = article_id(db, "linked.md")
    # Someone re-points the link at a file outside the articles folder, same bytes.
    stolen = outside / "elsewhere.md"
    stolen.write_bytes(real.read_bytes())
    link.unlink()
    link.symlink_to(stolen)

    replies = said(click(app, slack, queue, actions.REVIEW_PUBLISH, linked, user_id=RITA))

    (text,) = [t for t, _ in replies]
    assert text == (
        "Could not publish it: linked.md: the file leads outside the articles folder "
        "(a symlink?); nothing was written"
    )
    assert b"published: false" in stolen.read_bytes()
    assert row(db, "linked.md").published is False
    assert decisions(db) == []
    assert str(tmp_path) not in all_slack_text(slack)


def test_a_vanished_file_says_so_and_changes_nothing(app, slack, settings, db, tmp_path):
    queue = news(app, slack, "review", user_id=RITA)
    (settings.articles_dir / VOTER_FILE).unlink()
    voter = article_id(db, VOTER_FILE)
    replies = said(click(app, slack, queue, actions.REVIEW_PUBLISH, voter, user_id=RITA))
    assert [t for t, _ in replies] == [
        "The article file is gone from the articles folder: nothing changed."
    ]
    assert row(db, VOTER_FILE).published is False
    assert decisions(db) == []
    assert str(tmp_path) not in all_slack_text(slack)


def test_write_back_errors_name_the_file_relative_to_the_folder(app, slack, settings, db, tmp_path):
    path = settings.articles_dir / VOTER_FILE
    # Two published keys: YAML keeps the last, the indexer accepts it, the write-back refuses.
    path.write_bytes(
        path.read_bytes().replace(b"published: false", b"published: false\npublished: false")
    )
    sync(db.WriteSession, settings.articles_dir)
    queue = news(app, slack, "review", user_id=RITA)
    voter = article_id(db, VOTER_FILE)
    replies = said(click(app, slack, queue, actions.REVIEW_PUBLISH, voter, user_id=RITA))
    (text,) = [t for t, _ in replies]
    assert text.startswith(f"Could not publish it: {VOTER_FILE}: the frontmatter has more than one")
    assert str(tmp_path) not in all_slack_text(slack)
    assert row(db, VOTER_FILE).published is False and decisions(db) == []
