"""`newsbot digest [--channel C] [--date YYYY-MM-DD] [--dry-run]`: post (or preview) a digest."""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from bot.cli import UserError, missing_sentence, open_db
from bot.cli.output import json_line
from bot.settings import Settings


def add_commands(commands: Any) -> None:
    digest = commands.add_parser("digest", help="post (or preview) the daily digest")
    digest.add_argument("--channel", help="channel ID (default $NEWSBOT_DIGEST_CHANNEL)")
    digest.add_argument("--date", help="local date YYYY-MM-DD (default today)")
    digest.add_argument("--dry-run", action="store_true", help="print the Block Kit JSON only")
    digest.set_defaults(handler=cmd_digest)


def cmd_digest(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import make_client
    from bot.flows.digest import DigestError, build, post_digest, today

    channel = args.channel or settings.digest_channel
    if not channel:
        raise UserError("no channel: pass --channel C0123456789 or set NEWSBOT_DIGEST_CHANNEL")
    local_date = _date(args.date) if args.date else today(settings)
    db = open_db(settings)
    try:
        if args.dry_run:
            _plan, messages = build(settings, db, channel=channel, local_date=local_date)
            for message in messages:
                print(json_line({"text": message.text, "blocks": message.blocks}, indent=2))
                print(f"Block Kit Builder: {builder_link(message.blocks)}")
            return 0
        if settings.bot_token is None:
            raise UserError(missing_sentence(["SLACK_BOT_TOKEN"]))
        client = make_client(settings, retry_connections=False)
        try:
            result = post_digest(settings, db, client, channel=channel, local_date=local_date)
        except DigestError as exc:
            raise UserError(str(exc)) from None
    finally:
        db.dispose()
    if result.status == "already-posted":
        print(
            f"the digest for {local_date} was already posted to {channel}: {_link(client, result)}"
        )
    elif result.status == "nothing-to-post":
        print(
            f"nothing to post for {local_date}: no article with heat >= {settings.digest_min_heat} "
            f"first published between {result.plan.window_start:%Y-%m-%d %H:%M} and "
            f"{result.plan.window_end:%Y-%m-%d %H:%M} UTC"
        )
    else:
        print(f"posted the digest for {local_date} to {channel}: {_link(client, result)}")
    return 0


def builder_link(blocks: list[dict[str, Any]]) -> str:
    """A Block Kit Builder URL that opens these blocks."""
    import json
    from urllib.parse import quote

    payload = json.dumps({"blocks": blocks}, ensure_ascii=False, separators=(",", ":"))
    return "https://app.slack.com/block-kit-builder/#" + quote(payload, safe="")


def _link(client: Any, result: Any) -> str:
    from slack_sdk.errors import SlackApiError, SlackClientError

    if not result.message_ts:
        return "(claimed, but no message was recorded: see README, 'Exactly once')"
    try:
        response = client.chat_getPermalink(channel=result.channel, message_ts=result.message_ts)
        return str(response["permalink"])
    except (SlackApiError, SlackClientError):
        return f"message ts {result.message_ts}"


# --date's range: a day's digest window (24 h before its time, in any zone) must be a
# moment Python can represent.
_FIRST_DATE, _LAST_DATE = date(1900, 1, 1), date(9998, 12, 31)


def _date(value: str) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise UserError(f"--date {value!r} is not a date: use YYYY-MM-DD") from None
    if not _FIRST_DATE <= day <= _LAST_DATE:
        raise UserError(
            f"--date {value!r} is out of range: use a date from {_FIRST_DATE} to {_LAST_DATE}"
        )
    return day
