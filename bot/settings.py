"""Configuration: one declarative list of settings drives parsing, validation,
`newsbot --help` and the README table (a test keeps them in step)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.localtime import QuietHours
from storage.errors import redacted
from storage.text import name_key


class ConfigError(ValueError):
    """A setting has a bad value; the message names the variable."""


def _token(prefix: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if not value.startswith(prefix):
            raise ValueError(f"expected a token starting with {prefix}")
        return value

    return parse


def _secret(value: str) -> str:
    if len(value) < 8:
        raise ValueError("is too short to be the app's signing secret")
    return value


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("expected an http(s) URL such as https://slack.com/api/")
    return value if value.endswith("/") else value + "/"


def _database_url(value: str) -> str:
    # The shape only: storage.db parses it for real when it connects, and its
    # errors name this variable too. SQLAlchemy is not imported here, so that
    # `newsbot index` finding nothing to write never loads it.
    if not re.match(r"[A-Za-z][\w+]*://", value):
        raise ValueError("expected a database URL such as sqlite:///newsbot.db")
    return value


def _channel(value: str) -> str:
    if not re.fullmatch(r"[CGD][A-Z0-9]{2,}", value):
        raise ValueError("expected a channel ID such as C0123456789 (not a #name)")
    return value


def _clock(value: str) -> time:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", value.strip())
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError("expected a time of day as HH:MM, such as 09:00")
    return time(int(match.group(1)), int(match.group(2)))


def _zone(value: str) -> ZoneInfo:
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("expected an IANA time zone such as Europe/Berlin") from None


def _whole(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise ValueError("expected a whole number") from None
        if not low <= number <= high:
            raise ValueError(f"expected a number from {low} to {high}")
        return number

    return parse


def _reviewers(value: str) -> tuple[str, ...]:
    ids = tuple(part.strip() for part in value.split(",") if part.strip())
    for item in ids:
        if not re.fullmatch(r"[UWS][A-Z0-9]{2,}", item):
            raise ValueError(f"{item!r} is not a user ID (U…/W…) or user-group ID (S…)")
    return ids


def _boolean(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true or false")


def _quiet_hours(value: str) -> QuietHours | None:
    if value.strip().lower() in ("off", "none"):
        return None
    start, sep, end = value.partition("-")
    if not sep:
        raise ValueError("expected a span of local time such as 20:00-08:00, or off")
    try:
        hours = QuietHours(_clock(start), _clock(end))
    except ValueError:
        raise ValueError("expected a span of local time such as 20:00-08:00, or off") from None
    if hours.start == hours.end:
        raise ValueError("the span starts and ends at the same time: give two times, or off")
    return hours


def _names(value: str) -> frozenset[str]:
    """Topics and categories, compared case-insensitively; `*` stands for every article."""
    names = frozenset(name_key(part) for part in value.split(","))
    names -= {""}
    if "*" in names:
        if len(names) > 1:
            raise ValueError("`*` already means every article: give it alone")
        return frozenset({"*"})
    return names


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _weekday(value: str) -> int:
    """Monday = 0 ... Sunday = 6; the day's English name or its first three letters."""
    lowered = value.strip().lower()
    for number, name in enumerate(WEEKDAYS):
        if lowered in (name, name[:3]):
            return number
    raise ValueError("expected a day of the week such as Monday")


@dataclass(frozen=True)
class Setting:
    env: str
    attr: str
    default: str | None
    help: str
    parse: Callable[[str], Any] = str
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting("SLACK_BOT_TOKEN", "bot_token", None, "`xoxb-` bot token", _token("xoxb-"), True),
    Setting(
        "SLACK_SIGNING_SECRET",
        "signing_secret",
        None,
        "verifies every HTTP request from Slack",
        _secret,
        True,
    ),
    Setting(
        "SLACK_APP_TOKEN",
        "app_token",
        None,
        "`xapp-` token; when set, Socket Mode",
        _token("xapp-"),
        True,
    ),
    Setting(
        "SLACK_API_URL",
        "api_url",
        "https://slack.com/api/",
        "Web API base URL (GovSlack, proxies, local test servers)",
        _http_url,
    ),
    Setting(
        "NEWSBOT_DATABASE_URL",
        "database_url",
        "sqlite:///newsbot.db",
        "any SQLAlchemy URL; PostgreSQL for several replicas",
        _database_url,
    ),
    Setting(
        "NEWSBOT_ARTICLES_DIR", "articles_dir", "./articles", "the folder of article files", Path
    ),
    Setting(
        "NEWSBOT_DIGEST_CHANNEL",
        "digest_channel",
        None,
        "channel ID for the daily digest; unset = no digest",
        _channel,
    ),
    Setting("NEWSBOT_DIGEST_TIME", "digest_time", "09:00", "local time of the digest", _clock),
    Setting(
        "NEWSBOT_TIMEZONE",
        "timezone",
        "UTC",
        'IANA zone for the digest time, quiet hours, Publish at… and "today"',
        _zone,
    ),
    Setting("NEWSBOT_DIGEST_SIZE", "digest_size", "8", "most items in one digest", _whole(1, 20)),
    Setting(
        "NEWSBOT_DIGEST_MIN_HEAT",
        "digest_min_heat",
        "50",
        "least heat for a digest item",
        _whole(0, 1_000_000),
    ),
    Setting(
        "NEWSBOT_REVIEWERS",
        "reviewers",
        None,
        "comma-separated Slack user IDs (`U…`/`W…`) and user-group IDs (`S…`) allowed to publish",
        _reviewers,
    ),
    Setting(
        "NEWSBOT_REINDEX_MINUTES",
        "reindex_minutes",
        "10",
        "periodic re-index while serving; 0 = off",
        _whole(0, 7 * 24 * 60),
    ),
    Setting(
        "NEWSBOT_GIT_COMMIT",
        "git_commit",
        "false",
        "commit each review decision when the articles folder is a git work tree",
        _boolean,
    ),
    Setting(
        "NEWSBOT_GIT_AUTHOR",
        "git_author",
        None,
        "author of those commits, as `Name <email>`; unset = git's own configuration",
    ),
    # --- several machines (issue 13)
    Setting(
        "NEWSBOT_GIT_PULL",
        "git_pull",
        "false",
        "at start and before every re-index, bring the articles folder (a git clone) up to date"
        " with its upstream",
        _boolean,
    ),
    Setting(
        "NEWSBOT_GIT_PUSH",
        "git_push",
        "false",
        "push each decision's commit to the upstream of the clone's branch; needs"
        " `NEWSBOT_GIT_COMMIT=true`",
        _boolean,
    ),
    # --- follows (issue 11)
    Setting(
        "NEWSBOT_FOLLOW_BURST",
        "follow_burst",
        "5",
        "most follow cards per channel in any 10 minutes; more go into one summary",
        _whole(1, 50),
    ),
    Setting(
        "NEWSBOT_WATCH",
        "watch",
        "false",
        "serve watches the articles folder and indexes a new file within seconds",
        _boolean,
    ),
    # --- editorial workflow (issue 12)
    Setting(
        "NEWSBOT_REVIEW_CHANNEL",
        "review_channel",
        None,
        "channel ID for reviewers: new drafts, reminders, scheduled publications that failed",
        _channel,
    ),
    Setting(
        "NEWSBOT_REVIEW_MIN_HEAT",
        "review_min_heat",
        "0",
        "least heat for a draft to go to the review channel and its reminders",
        _whole(0, 1_000_000),
    ),
    Setting(
        "NEWSBOT_REMIND_HOURS",
        "remind_hours",
        "4",
        "remind the review channel of drafts waiting longer than this; 0 = off",
        _whole(0, 7 * 24),
    ),
    Setting(
        "NEWSBOT_QUIET_HOURS",
        "quiet_hours",
        "20:00-08:00",
        "no reminders in this span of local time; `off` = none",
        _quiet_hours,
    ),
    Setting(
        "NEWSBOT_TWO_REVIEWERS",
        "two_reviewers",
        None,
        "topics and categories (any case, comma-separated) or `*` whose articles need Publish "
        "from two reviewers",
        _names,
    ),
    # --- insights (issue 14)
    Setting(
        "NEWSBOT_REPORT_CHANNEL",
        "report_channel",
        None,
        "channel ID for the weekly desk report; unset = no report",
        _channel,
    ),
    Setting(
        "NEWSBOT_REPORT_DAY",
        "report_day",
        "Monday",
        "day of the weekly report, which covers the seven days before it",
        _weekday,
    ),
    Setting(
        "NEWSBOT_REPORT_TIME", "report_time", "09:30", "local time of the weekly report", _clock
    ),
    Setting("PORT", "port", "3000", "HTTP port", _whole(1, 65535)),
)


@dataclass(frozen=True)
class Settings:
    """Every setting, parsed. Secrets are left out of repr so they never reach a log.

    Build it with `from_env` (tests pass a dict): the defaults live in SETTINGS only.
    """

    bot_token: str | None = field(repr=False)
    signing_secret: str | None = field(repr=False)
    app_token: str | None = field(repr=False)
    api_url: str
    database_url: str
    articles_dir: Path
    digest_channel: str | None
    digest_time: time
    timezone: ZoneInfo
    digest_size: int
    digest_min_heat: int
    reviewers: tuple[str, ...]
    reindex_minutes: int
    git_commit: bool
    git_author: str | None
    port: int
    # --- follows (issue 11)
    follow_burst: int
    watch: bool
    # --- editorial workflow (issue 12)
    review_channel: str | None
    review_min_heat: int
    remind_hours: int
    quiet_hours: QuietHours | None
    two_reviewers: frozenset[str] | None
    # --- several machines (issue 13)
    git_pull: bool
    git_push: bool

    # --- insights (issue 14)
    report_channel: str | None
    report_day: int  # Monday = 0
    report_time: time

    def __post_init__(self) -> None:
        # Without its commit, a decision has nothing to push.
        if self.git_push and not self.git_commit:
            raise ConfigError(
                "NEWSBOT_GIT_PUSH=true needs NEWSBOT_GIT_COMMIT=true: each decision is pushed "
                "as its own commit"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Parse the environment; a bad value raises ConfigError naming the variable."""
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            raw = environ.get(setting.env, "").strip()
            if not raw:
                if setting.default is None:
                    values[setting.attr] = () if setting.attr == "reviewers" else None
                    continue
                raw = setting.default
            try:
                values[setting.attr] = setting.parse(raw)
            except ValueError as exc:
                shown = "(hidden)" if setting.secret else repr(redacted(raw))
                raise ConfigError(f"{setting.env}={shown}: {exc}") from None
        return cls(**values)

    @property
    def review_query(self) -> str:
        """What NEWSBOT_REVIEW_CHANNEL follows: drafts of heat NEWSBOT_REVIEW_MIN_HEAT or more."""
        return f"unpublished heat>={self.review_min_heat}"

    @property
    def socket_mode(self) -> bool:
        return self.app_token is not None

    def missing_for_slack(self) -> list[str]:
        """The variables `serve` still needs, empty when the app can start."""
        needed = ["SLACK_BOT_TOKEN"]
        needed.append("SLACK_APP_TOKEN" if self.socket_mode else "SLACK_SIGNING_SECRET")
        attrs = {s.env: s.attr for s in SETTINGS}
        return [env for env in needed if getattr(self, attrs[env]) is None]


assert {s.attr for s in SETTINGS} == {f.name for f in fields(Settings)}
