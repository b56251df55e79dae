"""The weekly report against the Slack-like server: numbers, then the chart, once a week."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import numpy
import pytest
from PIL import Image
from sqlalchemy import select, update

from bot.app import make_client
from bot.flows.report import (
    OWED_WEEKS,
    ReportError,
    ReportUnreachable,
    build,
    latest_due,
    post_report,
)
from bot.flows.upload import UPLOAD_RETRIES
from bot.render import chart
from bot.render.chart import HEIGHT, WIDTH
from bot.scheduler import (
    FORGET_JOB,
    REPORT_CATCH_UP_JOB,
    REPORT_JOB,
    REPORT_RETRY_JOB,
    create_scheduler,
    report_job,
)
from storage.db import open_database
from storage.models import ReportRun, SearchLog, utcnow
from storage.report import CHART_LEASE, claim_chart, start_sharing
from tests.builders import closed_port_url, make_settings
from tests.insights_builders import add_article, decide, searched
from tests.slack_api import mentions_in

CHANNEL = "C0REPORT"
MONDAY = date(2026, 11, 23)  # reports on Nov 16-22
DUE = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
RATE_LIMIT_RETRIES = 5  # bot.app.make_client's
TIME_COLOUR = (0x2A, 0x9D, 0x8F)
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))


@pytest.fixture
def db(database_url):
    database = open_database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def settings(slack, database_url, tmp_path):
    return make_settings(slack, database_url, tmp_path, NEWSBOT_REPORT_CHANNEL=CHANNEL)


def week_of_work(db) -> None:
    a1 = add_article(db, "2026-11-16 10:00", heat=50, topics=("AI",), published=True)
    a2 = add_article(db, "2026-11-17 08:00", heat=30, topics=("Privacy",), rejected=True)
    add_article(db, "2026-11-18 08:00", heat=20, topics=("Space",))
    decide(db, a1, "publish", "2026-11-16 12:00")
    decide(db, a2, "reject", "2026-11-17 11:00", "U0SAM", "Sam")


def post(settings, db, now=DUE):
    client = make_client(settings, retry_connections=False)
    return post_report(settings, db, client, channel=CHANNEL, report_date=MONDAY, now=now)


def runs(db) -> list[tuple[str, str | None, str | None]]:
    with db.Session() as session:
        return [(r.status, r.message_ts, r.file_id) for r in session.scalars(select(ReportRun))]


def blocks_of(call) -> str:
    return json.dumps(call.args["blocks"], ensure_ascii=False)


def test_the_numbers_then_the_chart_once(settings, db, slack):
    week_of_work(db)
    result = post(settings, db)
    assert result.status == "posted" and not result.late
    methods = [c.method for c in slack.calls]
    assert methods == [
        "chat.postMessage",
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]
    (message,) = slack.calls_to("chat.postMessage")
    assert message.args["channel"] == CHANNEL
    text = blocks_of(message)
    assert "Weekly desk report: Nov 16 – Nov 22, 2026" in text
    assert "*Articles in*\\n3" in text and "*Published*\\n1" in text
    assert "*Rejected*\\n1" in text and "*Still waiting*\\n1" in text
    assert "`█▁▁▁▁▁▁` published" in text  # the sparkline: all of it on Monday
    assert "Sam: 1 decision (1 rejected)" in text
    (done,) = slack.calls_to("files.completeUploadExternal")
    assert done.args["channel_id"] == CHANNEL
    (shared,) = json.loads(done.args["files"])
    png = slack.files[shared["id"]]["bytes"]
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (WIDTH, HEIGHT)
    assert slack.files[shared["id"]]["alt_txt"].startswith("Chart of articles in and published")
    assert runs(db) == [("posted", message.response["ts"], shared["id"])]

    again = post(settings, db, now=DUE + timedelta(hours=3))
    assert again.status == "already-posted"
    assert len(slack.calls) == 4


def time_line_pixels(png: bytes) -> int:
    """Pixels of the chart's median-time-to-decision colour: the line and its markers."""
    pixels = numpy.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    return int((pixels == TIME_COLOUR).all(axis=2).sum())


def test_the_chart_draws_each_days_median_time_to_decision(settings, db, slack):
    week_of_work(db)  # decided after 2 h on Monday and 3 h on Tuesday
    post(settings, db)
    (done,) = slack.calls_to("files.completeUploadExternal")
    (shared,) = json.loads(done.args["files"])
    uploaded = slack.files[shared["id"]]["bytes"]
    stats, _gaps = build(settings, db, MONDAY)
    assert chart.median_hours(stats)[:3] == [2.0, 3.0, None]
    assert time_line_pixels(uploaded) > 100
    # The same week drawn without its medians has no line at all: the test can fail.
    blank = replace(stats, days=tuple(replace(d, median_to_decision=None) for d in stats.days))
    assert time_line_pixels(chart.draw_png(blank)) == 0


def test_a_week_without_activity_posts_one_line_and_no_chart(settings, db, slack):
    add_article(db, "2026-11-10 10:00")  # the week before: still waiting now
    assert post(settings, db).status == "posted"
    (message,) = slack.calls_to("chat.postMessage")
    (block,) = message.args["blocks"]
    line = block["text"]["text"]
    assert "\n" not in line and "no activity" in line and "1 draft still waiting" in line
    assert slack.calls_to("files.getUploadURLExternal") == []
    assert runs(db) == [("posted", message.response["ts"], None)]


def test_a_refused_message_gives_the_claim_back(settings, db, slack):
    week_of_work(db)
    slack.fail_next("chat.postMessage", "not_in_channel")
    with pytest.raises(ReportError) as raised:
        post(settings, db)
    assert "invite it there with /invite @newsbot" in str(raised.value)
    assert runs(db) == [("given-back", None, None)]  # owed, free to claim
    assert post(settings, db).status == "posted"
    assert [c.ok for c in slack.calls_to("chat.postMessage")] == [False, True]


def test_a_refused_chart_keeps_the_message_and_is_uploaded_by_the_next_run(settings, db, slack):
    week_of_work(db)
    slack.fail_next("files.completeUploadExternal", "missing_scope")
    with pytest.raises(ReportError) as raised:
        post(settings, db)
    assert "files:write" in str(raised.value)
    (message,) = slack.calls_to("chat.postMessage")
    assert runs(db) == [("message", message.response["ts"], None)]

    result = post(settings, db, now=DUE + timedelta(hours=1))
    assert result.status == "posted" and result.file_id
    assert len(slack.calls_to("chat.postMessage")) == 1  # the message is not posted again
    assert [c.ok for c in slack.calls_to("files.completeUploadExternal")] == [False, True]
    assert runs(db) == [("posted", message.response["ts"], result.file_id)]


def test_slack_out_of_reach_gives_everything_back(slack, db, database_url, tmp_path):
    week_of_work(db)
    down = make_settings(
        slack,
        database_url,
        tmp_path,
        NEWSBOT_REPORT_CHANNEL=CHANNEL,
        SLACK_API_URL=closed_port_url(),
    )
    with pytest.raises(ReportUnreachable) as raised:
        post(down, db)
    assert "could not be reached" in str(raised.value) and "was not posted" in str(raised.value)
    assert runs(db) == [("given-back", None, None)]  # owed, free to claim


def shared_charts(slack) -> list[str]:
    """The files Slack shared in a channel, whatever it answered."""
    return [file_id for file_id, entry in slack.files.items() if entry.get("channel")]


@pytest.mark.parametrize("kind", ["drop", "500", "502", "504"])
def test_a_message_that_may_have_posted_is_not_posted_again_and_its_chart_follows(
    settings, db, slack, caplog, kind
):
    """A dropped connection, or a 500/502/504 that may come after Slack posted: the message
    is kept (no ts known) and never repeated, and the chart, never sent, goes up once."""
    week_of_work(db)
    if kind == "drop":
        slack.drop_next("chat.postMessage")
    else:
        slack.act_then_error_next("chat.postMessage", int(kind))
    result = post(settings, db)
    assert result.status == "maybe-posted" and result.file_id and result.message_ts is None
    assert f"may be in {CHANNEL}: it is not posted again" in caplog.text
    assert runs(db) == [("posted", None, result.file_id)]
    assert shared_charts(slack) == [result.file_id]

    assert post(settings, db, now=DUE + timedelta(hours=1)).status == "already-posted"
    assert len(slack.calls_to("chat.postMessage", all_attempts=True)) == 1
    assert len(shared_charts(slack)) == 1


def test_a_503_on_the_message_is_tried_again_by_the_scheduler(settings, db, slack, caplog):
    """A 503 says Slack did not take the request: given back, and tried again five minutes
    later, not left for a week as a refusal."""
    week_of_work(db)
    client = make_client(settings, retry_connections=False)
    scheduler = create_scheduler(settings, db, client)
    slack.http_error_next("chat.postMessage", 503)
    report_job(settings, db, client, now=DUE, scheduler=scheduler)
    assert "HTTP 503" in caplog.text and "trying again at" in caplog.text
    assert runs(db) == [("given-back", None, None)]
    retry = scheduler.get_job(REPORT_RETRY_JOB)
    assert retry is not None

    retry.func(*retry.args, **{**retry.kwargs, "now": DUE + timedelta(minutes=5)})
    assert [c.status for c in slack.calls_to("chat.postMessage", all_attempts=True)] == [503, 200]
    assert len(shared_charts(slack)) == 1
    assert runs(db)[0][0] == "posted"


@pytest.mark.parametrize("method", ["chat.postMessage", "files.getUploadURLExternal"])
def test_a_long_retry_after_is_not_waited_out_but_handed_back(settings, db, slack, caplog, method):
    """A 429 asking for an hour gives the claim back at once (nothing was posted), and the
    scheduler tries again: no claim is held through the wait, nor SIGTERM kept waiting."""
    week_of_work(db)
    client = make_client(settings, retry_connections=False)
    scheduler = create_scheduler(settings, db, client)
    slack.rate_limit_next(method, retry_after=3600)
    report_job(settings, db, client, now=DUE, scheduler=scheduler)
    assert len(slack.calls_to(method, all_attempts=True)) == 1
    assert "429" in caplog.text and "trying again at" in caplog.text
    assert runs(db)[0][0] == ("given-back" if method == "chat.postMessage" else "message")
    retry = scheduler.get_job(REPORT_RETRY_JOB)
    assert retry is not None

    retry.func(*retry.args, **{**retry.kwargs, "now": DUE + timedelta(minutes=5)})
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert len(shared_charts(slack)) == 1
    assert runs(db)[0][0] == "posted"


def test_a_chart_whose_sharing_may_have_happened_is_not_uploaded_again(settings, db, slack):
    week_of_work(db)
    slack.drop_next("files.completeUploadExternal")
    with pytest.raises(ReportError):
        post(settings, db)
    assert [status for status, _ts, _file in runs(db)] == ["sharing"]
    assert post(settings, db).status == "already-posted"
    assert len(slack.calls_to("files.completeUploadExternal", all_attempts=True)) == 1


@pytest.mark.parametrize("status", [500, 502, 504])
def test_a_5xx_after_the_chart_was_shared_is_not_shared_again(settings, db, slack, status):
    week_of_work(db)
    slack.act_then_error_next("files.completeUploadExternal", status)
    with pytest.raises(ReportError) as raised:
        post(settings, db)
    assert not isinstance(raised.value, ReportUnreachable)
    assert f"HTTP {status}" in str(raised.value) and f"may be in {CHANNEL}" in str(raised.value)
    assert [state for state, _ts, _file in runs(db)] == ["sharing"]
    assert post(settings, db, now=DUE + timedelta(minutes=5)).status == "already-posted"
    assert len(slack.calls_to("files.completeUploadExternal", all_attempts=True)) == 1
    assert len(shared_charts(slack)) == 1


def fault(slack, method: str, kind: str) -> None:
    if kind == "drop":
        slack.drop_next(method)
    elif kind in ("500", "503"):
        slack.http_error_next(method, int(kind))
    elif kind == "429s":  # one more than the upload (or the client's retry handler) waits out
        times = UPLOAD_RETRIES + 1 if method == "upload" else RATE_LIMIT_RETRIES + 1
        slack.rate_limit_next(method, times=times, retry_after=0)
    else:
        slack.rate_limit_next(method, retry_after=int(kind.removeprefix("429 for ")))


@pytest.mark.parametrize(
    ("method", "kind"),
    [
        ("files.getUploadURLExternal", "drop"),
        ("files.getUploadURLExternal", "429s"),
        ("files.getUploadURLExternal", "500"),
        ("upload", "drop"),
        ("upload", "503"),
        ("upload", "429s"),
        ("upload", "429 for 600"),
        ("files.completeUploadExternal", "429s"),
        ("files.completeUploadExternal", "503"),
    ],
)
def test_a_chart_that_was_not_shared_is_given_back_and_shared_by_the_next_run(
    settings, db, slack, method, kind
):
    """Before files.completeUploadExternal answers, nothing is in the channel: whatever
    failed (a drop, Slack's 5xx, 429s past waiting) the chart is handed back for a retry."""
    week_of_work(db)
    fault(slack, method, kind)
    with pytest.raises(ReportUnreachable) as raised:
        post(settings, db)
    assert f"not posted to {CHANNEL}" in str(raised.value)
    (message,) = slack.calls_to("chat.postMessage")
    assert runs(db) == [("message", message.response["ts"], None)]
    assert slack.calls_to("files.completeUploadExternal") == []

    result = post(settings, db, now=DUE + timedelta(minutes=5))
    assert result.status == "posted" and result.file_id
    assert len(slack.calls_to("chat.postMessage")) == 1
    (shared,) = slack.calls_to("files.completeUploadExternal")
    assert runs(db) == [("posted", message.response["ts"], result.file_id)]
    assert json.loads(shared.args["files"])[0]["id"] == result.file_id


def test_a_429_on_the_upload_is_waited_out(settings, db, slack):
    week_of_work(db)
    slack.rate_limit_next("upload", times=2, retry_after=1)
    result = post(settings, db)
    assert result.status == "posted" and result.file_id
    assert [c.status for c in slack.calls_to("upload", all_attempts=True)] == [429, 429, 200]
    assert len(slack.calls_to("files.getUploadURLExternal")) == 1  # the same upload URL
    assert runs(db)[0][0] == "posted"


def test_an_upload_the_file_server_refuses_is_given_back_with_a_sentence(settings, db, slack):
    week_of_work(db)
    slack.fail_next("upload", "too_large")
    with pytest.raises(ReportError) as raised:
        post(settings, db)
    assert not isinstance(raised.value, ReportUnreachable)
    assert "file server answered HTTP 400" in str(raised.value)
    assert [status for status, _ts, _file in runs(db)] == ["message"]
    assert post(settings, db).status == "posted"


def test_a_rate_limited_message_is_given_back_not_refused(settings, db, slack):
    week_of_work(db)
    slack.rate_limit_next("chat.postMessage", times=6, retry_after=0)
    with pytest.raises(ReportUnreachable):
        post(settings, db)
    assert runs(db) == [("given-back", None, None)]  # owed, free to claim
    assert post(settings, db).status == "posted"
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_a_chart_rate_limited_past_waiting_is_tried_again_by_the_scheduler(
    settings, db, slack, caplog
):
    week_of_work(db)
    client = make_client(settings, retry_connections=False)
    scheduler = create_scheduler(settings, db, client)
    slack.rate_limit_next("upload", retry_after=600)
    report_job(settings, db, client, now=DUE, scheduler=scheduler)
    retry = scheduler.get_job(REPORT_RETRY_JOB)
    assert retry is not None and retry.func is report_job
    assert "trying again at" in caplog.text and "Retry-After 600" in caplog.text
    assert slack.calls_to("files.completeUploadExternal") == []

    retry.func(*retry.args, **{**retry.kwargs, "now": DUE + timedelta(minutes=5)})
    assert len(slack.calls_to("files.completeUploadExternal")) == 1
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert runs(db)[0][0] == "posted"


def posted(slack, method: str = "chat.postMessage") -> list:
    return [c for c in slack.calls_to(method) if c.ok]


def test_a_handed_back_week_is_posted_by_the_next_weekly_run(settings, db, slack, caplog):
    """Refused in week 1 (the bot not invited yet), week 1's report goes out with week 2's
    at the next scheduled run, oldest first, and each once."""
    week_of_work(db)
    add_article(db, "2026-11-24 08:00", heat=10)  # the week after
    client = make_client(settings, retry_connections=False)
    scheduler = create_scheduler(settings, db, client)
    slack.set_channel(CHANNEL, member=False)
    report_job(settings, db, client, now=DUE, scheduler=scheduler)
    assert "invite it there" in caplog.text
    assert scheduler.get_job(REPORT_RETRY_JOB) is None  # a refusal waits for a run
    assert runs(db) == [("given-back", None, None)]

    slack.set_channel(CHANNEL, member=True)  # invited
    report_job(settings, db, client, now=DUE + timedelta(days=7), scheduler=scheduler)
    headers = [c.args["blocks"][0]["text"]["text"] for c in posted(slack)]
    assert headers == [
        "Weekly desk report: Nov 16 – Nov 22, 2026",
        "Weekly desk report: Nov 23 – Nov 29, 2026",
    ]
    assert "(posted late)" in blocks_of(posted(slack)[0])
    assert len(posted(slack, "files.completeUploadExternal")) == 2
    assert [status for status, _ts, _file in runs(db)] == ["posted", "posted"]

    report_job(settings, db, client, now=DUE + timedelta(days=7, hours=1), scheduler=scheduler)
    assert len(posted(slack)) == 2


def test_a_chart_left_handed_back_is_shared_by_the_next_weekly_run(settings, db, slack):
    week_of_work(db)
    add_article(db, "2026-11-24 08:00", heat=10)
    client = make_client(settings, retry_connections=False)
    slack.fail_next("files.completeUploadExternal", "missing_scope")
    report_job(settings, db, client, now=DUE)
    (first,) = posted(slack)
    assert runs(db) == [("message", first.response["ts"], None)]

    report_job(settings, db, client, now=DUE + timedelta(days=7))
    shared = [
        json.loads(c.args["files"])[0]["title"]
        for c in posted(slack, "files.completeUploadExternal")
    ]
    assert shared == ["Desk: Nov 16, 2026 – Nov 22, 2026", "Desk: Nov 23, 2026 – Nov 29, 2026"]
    assert len(posted(slack)) == 2  # week 1's message is not repeated


def test_a_handed_back_week_older_than_four_weeks_is_left(settings, db, slack):
    week_of_work(db)
    client = make_client(settings, retry_connections=False)
    slack.fail_next("chat.postMessage", "not_in_channel")
    report_job(settings, db, client, now=DUE)
    report_job(settings, db, client, now=DUE + timedelta(weeks=OWED_WEEKS + 1))
    (latest,) = posted(slack)
    assert "Dec 21 – Dec 27" in blocks_of(latest)
    assert ("given-back", None, None) in runs(db)


def test_a_first_start_reports_no_week_from_before_the_desk_had_anything(
    settings, db, slack, caplog
):
    caplog.set_level(logging.INFO)
    add_article(db, "2026-11-25 08:00")  # first indexed after the week reported on Monday
    client = make_client(settings, retry_connections=False)
    report_job(settings, db, client, now=DUE + timedelta(days=3))
    assert slack.calls == [] and runs(db) == []
    assert "holds nothing from before that week ended" in caplog.text
    # The week after has data: it is reported, as one line when nothing happened.
    report_job(settings, db, client, now=DUE + timedelta(days=7))
    (posted,) = slack.calls_to("chat.postMessage")
    assert "Nov 23 – Nov 29" in blocks_of(posted)


def test_searches_that_found_little_with_the_drafts_that_match_now(settings, db, slack):
    week_of_work(db)
    for _ in range(3):
        add_article(db, "2026-11-25 08:00", topics=("Quantum Dots",))  # came in since
    add_article(db, "2026-11-25 08:00", topics=("Quantum Dots",), published=True)
    add_article(db, "2026-11-25 08:00", topics=("Quantum Dots",), rejected=True)
    for day in (17, 18, 19):
        searched(db, "quantum dots", 0, f"2026-11-{day} 09:00")
    searched(db, "heat pump subsidy", 1, "2026-11-20 09:00")
    searched(db, "ai", 12, "2026-11-20 10:00")
    searched(db, "lidar", 0, "2026-11-09 10:00")  # the week before
    post(settings, db)
    (message,) = slack.calls_to("chat.postMessage")
    gaps = next(b for b in message.args["blocks"] if b["block_id"] == "stats-gaps")
    lines = gaps["text"]["text"].splitlines()[1:]
    assert lines == [
        "• “quantum dots”: searched 3 times, 0 results · 3 drafts match, waiting for review",
        "• “heat pump subsidy”: searched 1 time, 1 result · no draft matches",
    ]


def test_names_and_searches_never_ping_anyone(settings, db, slack):
    article = add_article(db, "2026-11-16 10:00", topics=("<!here>",))
    decide(db, article, "publish", "2026-11-16 11:00", "U0EVIL", "<!channel> <@U111>")
    searched(db, "<!everyone> news", 0, "2026-11-17 09:00")
    post(settings, db)
    (message,) = slack.calls_to("chat.postMessage")
    assert mentions_in(message.args) == []
    assert "&lt;!channel&gt;" in blocks_of(message)


def test_late_reports_say_so(settings, db, slack):
    week_of_work(db)
    result = post(settings, db, now=DUE + timedelta(days=2))
    assert result.late
    assert "(posted late)" in blocks_of(slack.calls_to("chat.postMessage")[0])


@pytest.mark.parametrize(
    ("now", "day", "expected"),
    [
        (DUE, "Monday", MONDAY),
        (DUE - timedelta(minutes=1), "Monday", MONDAY - timedelta(days=7)),
        (DUE + timedelta(days=6), "Monday", MONDAY),
        (DUE + timedelta(days=7), "Monday", MONDAY + timedelta(days=7)),
        (DUE, "Friday", date(2026, 11, 20)),
        (DUE, "sun", date(2026, 11, 22)),
    ],
)
def test_the_report_whose_time_came_last(slack, tmp_path, now, day, expected):
    settings = make_settings(slack, "sqlite://", tmp_path, NEWSBOT_REPORT_DAY=day)
    assert latest_due(settings, now) == expected


def test_the_report_time_is_local(slack, tmp_path):
    settings = make_settings(
        slack,
        "sqlite://",
        tmp_path,
        NEWSBOT_TIMEZONE="America/New_York",
        NEWSBOT_REPORT_TIME="23:30",
    )
    # Monday 23:30 in New York is Tuesday 04:30 UTC.
    monday_night = datetime(2026, 11, 24, 4, 30, tzinfo=UTC)
    assert latest_due(settings, monday_night) == MONDAY
    assert latest_due(settings, monday_night - timedelta(seconds=1)) == MONDAY - timedelta(days=7)


def test_scheduler_jobs(settings, db, slack, tmp_path, database_url):
    client = make_client(settings)
    scheduler = create_scheduler(settings, db, client)
    assert {REPORT_JOB, REPORT_CATCH_UP_JOB, FORGET_JOB} <= {job.id for job in scheduler.get_jobs()}
    weekly = scheduler.get_job(REPORT_JOB).trigger
    after_sunday = weekly.get_next_fire_time(None, DUE - timedelta(days=1))
    assert after_sunday == DUE  # Monday 09:30
    assert weekly.get_next_fire_time(None, DUE + timedelta(minutes=1)) == DUE + timedelta(days=7)
    off = create_scheduler(make_settings(slack, database_url, tmp_path), db, client)
    assert REPORT_JOB not in {job.id for job in off.get_jobs()}


def test_searches_older_than_90_days_are_deleted_by_the_hourly_housekeeping(settings, db):
    now = datetime.now(UTC)
    searched(db, "old", 0, (now - timedelta(days=90, minutes=1)).strftime("%Y-%m-%d %H:%M"))
    searched(db, "kept", 0, (now - timedelta(days=89, hours=23)).strftime("%Y-%m-%d %H:%M"))
    scheduler = create_scheduler(settings, db, make_client(settings))
    forget = scheduler.get_job(FORGET_JOB)
    assert forget.trigger.interval == timedelta(hours=1)
    forget.func(*forget.args, **forget.kwargs)
    with db.Session() as session:
        assert session.scalars(select(SearchLog.query)).all() == ["kept"]


def test_a_start_after_a_missed_report_posts_it_late_once(settings, db, slack):
    week_of_work(db)
    client = make_client(settings, retry_connections=False)
    thursday = DUE + timedelta(days=3)
    report_job(settings, db, client, now=thursday)  # the catch-up at start
    report_job(settings, db, client, now=thursday + timedelta(hours=1))  # a restart
    (message,) = slack.calls_to("chat.postMessage")
    assert "Nov 16 – Nov 22" in blocks_of(message) and "(posted late)" in blocks_of(message)
    assert len(slack.calls_to("files.completeUploadExternal")) == 1


@pytest.mark.postgres
def test_two_processes_at_once_post_one_report(slack, postgres_url, tmp_path):
    db = open_database(postgres_url)
    week_of_work(db)
    db.dispose()
    command = [sys.executable, "-m", "tests.bot.flows.report_race", postgres_url, slack.api_url]
    procs = [
        subprocess.Popen(
            [*command, DUE.isoformat()],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    # One posts the message; the chart is uploaded by one of the two.
    assert {o.strip().splitlines()[-1] for o in outputs} <= {"posted", "already-posted"}
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert len(slack.calls_to("files.completeUploadExternal")) == 1


def test_the_manifest_asks_for_files_write_and_says_why():
    with open(os.path.join(REPO, "manifest.yaml"), encoding="utf-8") as file:
        manifest = file.read()
    (line,) = [line for line in manifest.splitlines() if "- files:write" in line]
    assert "weekly report's chart" in line and "files_upload_v2" in line
    assert "stats [7d|30d]" in manifest


def test_a_week_refused_for_its_channel_is_carried_to_the_channel_set_after(
    settings, db, slack, caplog
):
    """The refusal says to set NEWSBOT_REPORT_CHANNEL; once set, the week refused in the
    old channel is posted in the new one, once, and never again in either."""
    week_of_work(db)
    add_article(db, "2026-11-24 08:00", heat=10)  # the week after
    client = make_client(settings, retry_connections=False)
    slack.fail_next("chat.postMessage", "channel_not_found")
    report_job(settings, db, client, now=DUE)
    assert "set NEWSBOT_REPORT_CHANNEL" in caplog.text

    moved = replace(settings, report_channel="C0NEW")
    report_job(moved, db, client, now=DUE + timedelta(days=7))
    report_job(moved, db, client, now=DUE + timedelta(days=7, hours=1))
    headers = [(c.args["channel"], c.args["blocks"][0]["text"]["text"]) for c in posted(slack)]
    assert headers == [
        ("C0NEW", "Weekly desk report: Nov 16 – Nov 22, 2026"),
        ("C0NEW", "Weekly desk report: Nov 23 – Nov 29, 2026"),
    ]
    with db.Session() as session:
        rows = sorted(
            (r.channel, str(r.week), r.status) for r in session.scalars(select(ReportRun))
        )
    assert rows == [("C0NEW", "2026-11-23", "posted"), ("C0NEW", "2026-11-30", "posted")]

    # and back to the old channel: nothing is owed there, the weeks are out
    report_job(settings, db, client, now=DUE + timedelta(days=7, hours=2))
    assert len(posted(slack)) == 2


def test_a_week_out_in_one_channel_is_not_posted_in_another(settings, db, slack):
    week_of_work(db)
    assert post(settings, db).status == "posted"
    client = make_client(settings, retry_connections=False)
    result = post_report(
        settings, db, client, channel="C0NEW", report_date=MONDAY, now=DUE + timedelta(hours=1)
    )
    assert result.status == "already-posted" and result.channel == CHANNEL
    assert len(posted(slack)) == 1


def test_a_chart_left_uploading_by_a_dead_process_is_taken_over_after_its_lease(
    settings, db, slack
):
    """Killed during the first two steps (which share nothing), a process leaves the row
    "uploading": once the lease has run out, the next run uploads the chart, once."""
    week_of_work(db)
    slack.fail_next("files.completeUploadExternal", "missing_scope")
    with pytest.raises(ReportError):
        post(settings, db)
    with db.WriteSession.begin() as session:
        assert claim_chart(session, runs_ids(db)[0])  # taken, then the process is killed
    assert post(settings, db).status == "already-posted"  # the lease still runs
    with db.WriteSession.begin() as session:
        session.execute(update(ReportRun).values(claimed_at=utcnow() - CHART_LEASE * 2))
    result = post(settings, db)
    assert result.status == "posted" and result.file_id
    assert shared_charts(slack) == [result.file_id]
    assert runs(db)[0][0] == "posted"


def test_a_run_whose_lease_was_taken_over_does_not_share(settings, db, slack):
    week_of_work(db)
    slack.fail_next("files.completeUploadExternal", "missing_scope")
    with pytest.raises(ReportError):
        post(settings, db)
    run_id = runs_ids(db)[0]
    with db.WriteSession.begin() as session:
        stale = claim_chart(session, run_id)
        session.execute(update(ReportRun).values(claimed_at=utcnow() - CHART_LEASE * 2))
    with db.WriteSession.begin() as session:
        fresh = claim_chart(session, run_id)
    assert stale and fresh
    with db.WriteSession.begin() as session:
        assert not start_sharing(session, run_id, stale)
        assert start_sharing(session, run_id, fresh)


def runs_ids(db) -> list[int]:
    with db.Session() as session:
        return list(session.scalars(select(ReportRun.id)))
