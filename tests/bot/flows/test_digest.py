"""Posting the digest against the Slack-like server: once, late when late, never twice."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import create_app, make_client
from bot.flows.digest import DigestError, DigestUnreachable, post_digest
from bot.scheduler import DIGEST_RETRY_JOB, create_scheduler, digest_job
from storage.models import DigestRun, PostedMessage
from tests.builders import (
    DIGEST_CHANNEL,
    DIGEST_DAY,
    DIGEST_DUE,
    digest_settings,
    indexed,
    news,
    write_story,
)


def post(settings, db, *, late_by=timedelta(0)):
    client = make_client(settings, retry_connections=False)
    return post_digest(
        settings,
        db,
        client,
        channel=DIGEST_CHANNEL,
        local_date=DIGEST_DAY,
        now=DIGEST_DUE + late_by,
    )


def test_posts_one_message_with_cards_and_images_once(digest, slack):
    settings, db = digest
    result = post(settings, db)
    assert result.status == "posted" and not result.late
    (call,) = slack.calls_to("chat.postMessage")
    assert call.args["channel"] == DIGEST_CHANNEL
    assert call.args["unfurl_links"] is False and call.args["unfurl_media"] is False
    blocks = json.dumps(call.args["blocks"])
    assert "Thursday, Nov 26" in blocks
    assert [t for t in ("Story s0", "Story s1", "Story s2", "Story s3") if t in blocks] == [
        "Story s0",
        "Story s1",
        "Story s2",
    ]
    assert blocks.count('"type": "image"') == 3
    assert "Story s0" in call.args["text"] or "3 stories" in call.args["text"]

    again = post(settings, db)
    assert again.status == "already-posted" and again.message_ts == result.message_ts
    assert len(slack.calls_to("chat.postMessage")) == 1
    with db.Session() as session:
        assert [m.message_ts for m in session.scalars(select(PostedMessage))] == [result.message_ts]


def test_nothing_hot_posts_nothing_and_says_why(slack, digest_dir, sqlite_url, caplog):
    caplog.set_level(logging.INFO)
    write_story(digest_dir, "cold", heat=10)
    with indexed(sqlite_url, digest_dir) as db:
        assert post(digest_settings(slack, sqlite_url, digest_dir), db).status == "nothing-to-post"
    assert slack.calls_to("chat.postMessage") == []
    assert "no article with heat >= 50" in caplog.text


def test_a_429_is_waited_out_and_posts_once(digest, slack):
    settings, db = digest
    slack.rate_limit_next("chat.postMessage", retry_after=1)
    assert post(settings, db).status == "posted"
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert len(slack.calls_to("chat.postMessage", all_attempts=True)) == 2


@pytest.mark.parametrize("status", [500, 502, 504])
def test_a_5xx_after_slack_posted_is_not_posted_again(digest, slack, status):
    """A gateway's 500/502/504 may come after Slack posted: the claim stays (at most once)."""
    settings, db = digest
    slack.act_then_error_next("chat.postMessage", status)
    with pytest.raises(DigestError) as raised:
        post(settings, db)
    assert not isinstance(raised.value, DigestUnreachable)
    assert f"HTTP {status}" in str(raised.value) and "it is not posted again" in str(raised.value)
    assert post(settings, db).status == "already-posted"
    assert len(slack.calls_to("chat.postMessage", all_attempts=True)) == 1


@pytest.mark.parametrize("kind", ["503", "429 for an hour"])
def test_a_503_or_a_long_retry_after_is_handed_back_and_tried_again(digest, slack, caplog, kind):
    """Slack did not take the request: the claim is given back at once (not held through
    an hour's Retry-After) and the scheduler tries again five minutes later."""
    settings, db = digest
    if kind == "503":
        slack.http_error_next("chat.postMessage", 503)
    else:
        slack.rate_limit_next("chat.postMessage", retry_after=3600)
    client = make_client(settings, retry_connections=False)
    scheduler = create_scheduler(settings, db, client)
    digest_job(settings, db, client, now=DIGEST_DUE, scheduler=scheduler)
    assert "trying again at" in caplog.text
    with db.Session() as session:
        assert session.scalars(select(DigestRun)).all() == []
    retry = scheduler.get_job(DIGEST_RETRY_JOB)
    assert retry is not None

    retry.func(*retry.args, **{**retry.kwargs, "now": DIGEST_DUE + timedelta(minutes=5)})
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert len(slack.calls_to("chat.postMessage", all_attempts=True)) == 2


def test_a_slack_error_releases_the_claim_with_a_fix(digest, slack):
    settings, db = digest
    slack.fail_next("chat.postMessage", "not_in_channel")
    with pytest.raises(DigestError, match="invite it there with /invite @newsbot"):
        post(settings, db)
    with db.Session() as session:
        assert session.scalars(select(DigestRun)).all() == []
    assert post(settings, db).status == "posted"


def test_late_digest_says_so(digest, slack):
    settings, db = digest
    assert post(settings, db, late_by=timedelta(hours=3)).late
    assert "posted late" in json.dumps(slack.calls_to("chat.postMessage")[0].args["blocks"])


def test_twenty_items_split_into_a_thread(slack, digest_dir, sqlite_url):
    for n in range(20):
        write_story(digest_dir, f"t{n:02d}", heat=99 - n)
    settings = digest_settings(slack, sqlite_url, digest_dir, NEWSBOT_DIGEST_SIZE="20")
    with indexed(sqlite_url, digest_dir) as db:
        post(settings, db)
    calls = slack.calls_to("chat.postMessage")
    assert len(calls) >= 2
    first_ts = calls[0].response["ts"]
    assert all(c.args["thread_ts"] == first_ts for c in calls[1:])
    carried = "".join(json.dumps(c.args["blocks"]) for c in calls)
    assert all(f"Story t{n:02d}" in carried for n in range(20))


def test_news_digest_previews_only_to_the_caller(slack, digest_dir, sqlite_url):
    write_story(digest_dir, "now-hot", heat=90, hours_before=0)
    settings = digest_settings(slack, sqlite_url, digest_dir)
    with indexed(sqlite_url, digest_dir) as db:
        reply = news(create_app(settings, db, process_before_response=True), slack, "digest")
    assert reply["response_type"] == "ephemeral"
    assert "Newsbot digest" in json.dumps(reply["blocks"])
    assert slack.calls_to("chat.postMessage") == []
