"""The weekly desk report: when it is due, what it says, and posting it once per channel and week.

The report for a report date covers the seven local days before it. It is two
posts, the Block Kit message and then the chart image (files_upload_v2's three
steps, bot/flows/upload.py), each exactly once across replicas and restarts
(storage/report.py): a step that certainly posted nothing (refused, not
reached, rate-limited past waiting, a 503, or, for the chart, anything before
files.completeUploadExternal) is given back for a later run; a step that may
have posted (its connection dropped after sending, or Slack answered 500, 502
or 504) is not tried again (at most once, as the digest). A message that may
have posted is followed by its chart, which certainly was not sent yet. A week
without activity posts one line and no chart. A week is reported in one channel
only; one given back in a channel the report no longer goes to is carried to
NEWSBOT_REPORT_CHANNEL.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.flows.cards import CALL_FAILED, api_host, failure_reason, not_acted
from bot.flows.upload import MAYBE_SHARED, REFUSED, UploadFailed, share_file
from bot.localtime import local_today, wall_time
from bot.render import chart
from bot.render.replies import channel_refusal
from bot.render.stats import report_message
from bot.settings import Settings
from storage.db import Database
from storage.report import (
    GIVEN_BACK,
    MESSAGE,
    POSTED,
    UPLOADING,
    claim_chart,
    claim_report,
    find_week,
    mark_chart,
    mark_message,
    owed_reports,
    release_chart,
    release_report,
    start_sharing,
    week_of,
)
from storage.searches import search_gaps
from storage.stats import anything_before, desk_stats, week_before
from storage.types import DeskStats, SearchGap

log = logging.getLogger(__name__)

# Posted this much after its time, a report says "(posted late)".
LATE_AFTER = timedelta(minutes=10)

#: How many weeks back a run also posts a report (or chart) that was handed back.
OWED_WEEKS = 4

# The setting an operator changes when Slack refuses the report channel.
_SETTING = "NEWSBOT_REPORT_CHANNEL"


class ReportError(Exception):
    """A part of the report was not posted (or may not have been); one sentence says why."""


class ReportUnreachable(ReportError):
    """Nothing was posted by this step and it was given back, to be tried again in a few
    minutes: Slack could not be reached, kept rate-limiting, failed on its side, or the
    connection dropped before the chart was shared."""


@dataclass(frozen=True)
class ReportResult:
    # "posted" (this call posted the message, the chart or both), "already-posted",
    # "nothing-to-report" (a quiet week from before the database holds anything)
    status: str
    channel: str
    report_date: date
    message_ts: str | None = None
    file_id: str | None = None
    late: bool = False


def due_at(settings: Settings, report_date: date) -> datetime:
    """When the report of that date is due (NEWSBOT_REPORT_TIME in NEWSBOT_TIMEZONE)."""
    return wall_time(report_date, settings.report_time, settings.timezone)


def latest_due(settings: Settings, now: datetime) -> date:
    """The report date (a NEWSBOT_REPORT_DAY) whose time came last, at or before `now`."""
    today = local_today(settings.timezone, now)
    day = today - timedelta(days=(today.weekday() - settings.report_day) % 7)
    return day if now >= due_at(settings, day) else day - timedelta(days=7)


def build(settings: Settings, db: Database, report_date: date) -> tuple[DeskStats, list[SearchGap]]:
    """The figures of the seven days before the report date (with each day's median time to
    decision, which the chart draws), and that week's content gaps."""
    with db.Session() as session:
        stats = desk_stats(session, week_before(report_date), settings.timezone, day_medians=True)
        gaps = search_gaps(session, stats.start, stats.end)
    return stats, gaps


def post_report(
    settings: Settings,
    db: Database,
    client: WebClient,
    *,
    channel: str,
    report_date: date,
    now: datetime | None = None,
) -> ReportResult:
    """Post the report of `report_date`'s week unless the channel has it: message, then chart.

    Raises ReportUnreachable when that step certainly posted nothing and may
    work a few minutes later (Slack not reached, rate-limited past waiting, a
    chart's connection dropped before sharing): it is free for the retry.
    ReportError when Slack refused (free too, for the next run, with the fix)
    or when the chart may have been shared (not tried again). A message that may
    have posted (a dropped connection, a 500, 502 or 504) is not posted again,
    and its chart is uploaded ("maybe-posted", logged as an error). A quiet week
    from before the database held anything is not reported ("nothing-to-report");
    a week out (or being posted) in another channel is "already-posted" there.
    """
    now = now or datetime.now(UTC)
    late = now - due_at(settings, report_date) > LATE_AFTER
    week = week_of(report_date)
    with db.Session() as session:
        run = find_week(session, channel=channel, week=week)
        state = (run.id, run.status, run.message_ts, run.report_date, run.channel) if run else None
    built: tuple[DeskStats, list[SearchGap]] | None = None
    posted_message = maybe_posted = False
    if state is None or state[1] == GIVEN_BACK:
        built = build(settings, db, report_date)
        stats, gaps = built
        if state is None and stats.quiet and not _had_data(db, stats):
            return ReportResult("nothing-to-report", channel, report_date, late=late)
        message = report_message(stats, gaps, late=late)
        with db.WriteSession.begin() as session:
            run_id = claim_report(session, channel=channel, report_date=report_date, late=late)
        if run_id is None:  # a replica was quicker, or the week is out in another channel
            with db.Session() as session:
                run = find_week(session, channel=channel, week=week)
                assert run is not None
                state = (run.id, run.status, run.message_ts, run.report_date, run.channel)
        else:
            ts: str | None
            try:
                response = client.chat_postMessage(
                    channel=channel,
                    text=message.text,
                    blocks=message.blocks,
                    unfurl_links=False,
                    unfurl_media=False,
                )
                ts = str(response["ts"])
            except CALL_FAILED as exc:
                if not_acted(exc):
                    with db.WriteSession.begin() as session:
                        release_report(session, run_id)
                    raise _error(exc, client, channel, "the weekly report") from None
                log.error("weekly report for %s: %s", report_date, _maybe(exc, channel))
                ts, maybe_posted = None, True
            with db.WriteSession.begin() as session:
                mark_message(session, run_id, message_ts=ts, chart=not stats.quiet)
            if ts:
                log.info("posted the weekly report for %s to %s", report_date, channel)
            state = (run_id, POSTED if stats.quiet else MESSAGE, ts, report_date, channel)
            posted_message = True
    run_id, status, message_ts, run_date, run_channel = state
    done = "maybe-posted" if maybe_posted else "posted" if posted_message else "already-posted"
    if status not in (MESSAGE, UPLOADING) or run_channel != channel:
        return ReportResult(done, run_channel, run_date, message_ts, late=late)
    with db.WriteSession.begin() as session:
        token = claim_chart(session, run_id)
    if token is None:
        return ReportResult(done, channel, run_date, message_ts)
    if built is None or run_date != report_date:
        built = build(settings, db, run_date)
    file_id = _upload_chart(db, client, run_id, token, channel, built[0])
    log.info("uploaded the weekly report's chart for %s to %s", run_date, channel)
    done = "maybe-posted" if maybe_posted else "posted"
    return ReportResult(done, channel, run_date, message_ts, file_id, late)


def _had_data(db: Database, stats: DeskStats) -> bool:
    """Whether the desk used newsbot by the end of the week: a first start reports no week
    from before that, not even as one line."""
    with db.Session() as session:
        return anything_before(session, stats.end)


def owed_before(settings: Settings, db: Database, channel: str, report_date: date) -> list[date]:
    """The report dates of the OWED_WEEKS weeks before `report_date`'s whose message or chart
    was handed back and is still to post, oldest first: the next run posts them too."""
    with db.Session() as session:
        return owed_reports(
            session,
            channel=channel,
            since=report_date - timedelta(weeks=OWED_WEEKS),
            before=report_date,
        )


def _upload_chart(
    db: Database, client: WebClient, run_id: int, token: str, channel: str, stats: DeskStats
) -> str | None:
    what = "the weekly report's chart"

    def before_sharing() -> None:
        with db.WriteSession.begin() as session:
            if not start_sharing(session, run_id, token):
                raise ReportError(
                    f"another run took over {what} while this one was uploading it: "
                    "this one does not share it"
                )

    try:
        file_id = share_file(
            client,
            channel=channel,
            data=chart.draw_png(stats),
            filename=f"desk-report-{stats.first_day}-{stats.last_day}.png",
            title=chart.title(stats),
            alt_txt=chart.alt_text(stats),
            before_sharing=before_sharing,
        )
    except UploadFailed as failed:
        if failed.outcome == MAYBE_SHARED:
            raise ReportError(
                f"{failed.said} during {failed.step}, after {what} was sent, so it may be "
                f"in {channel}: it is not posted again"
            ) from None
        with db.WriteSession.begin() as session:
            release_chart(session, run_id)
        if isinstance(failed.cause, SlackApiError) and failed.outcome == REFUSED:
            fix = channel_refusal(failed.cause.response, channel, setting=_SETTING)
            raise ReportError(f"{what} was not posted: {fix}") from None
        if failed.outcome == REFUSED:
            raise ReportError(f"{what} was not posted: {failed.said}") from None
        raise ReportUnreachable(
            f"{failed.said} at {failed.step}, so {what} was not posted to {channel}"
        ) from None
    with db.WriteSession.begin() as session:
        mark_chart(session, run_id, file_id=file_id)
    return file_id


def _error(exc: BaseException, client: WebClient, channel: str, what: str) -> ReportError:
    """The sentence for a call that changed nothing (see `not_acted`)."""
    if isinstance(exc, SlackApiError):
        if exc.response.get("error") == "ratelimited" or exc.response.status_code == 429:
            return ReportUnreachable(
                f"Slack kept answering 429 (rate limited), so {what} was not posted to {channel}"
            )
        if exc.response.status_code >= 500:
            return ReportUnreachable(
                f"Slack answered HTTP {exc.response.status_code}, "
                f"so {what} was not posted to {channel}"
            )
        fix = channel_refusal(exc.response, channel, setting=_SETTING)
        return ReportError(f"{what} was not posted: {fix}")
    return ReportUnreachable(
        f"Slack could not be reached at {api_host(client)} ({failure_reason(exc)}), "
        f"so {what} was not posted to {channel}"
    )


def _maybe(exc: BaseException, channel: str) -> str:
    """The sentence for a message call that may have posted."""
    said = (
        f"Slack answered HTTP {exc.response.status_code}"
        if isinstance(exc, SlackApiError)
        else f"the connection to Slack failed ({failure_reason(exc)})"
    )
    return (
        f"{said} after the weekly report was sent, so it may be in {channel}: it is not "
        "posted again, and its chart follows"
    )
