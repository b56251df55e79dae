"""Dates and durations as the renderers show them, independent of the process locale."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

# strftime's %a/%b follow the C locale of the process; a bot's output must not.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def aware(moment: datetime) -> datetime:
    """Treat a naive datetime as UTC, as storage promises."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    """The calendar date of moment in tz."""
    return aware(moment).astimezone(tz).date()


def short_date(day: date) -> str:
    """Like "Nov 25, 2026"."""
    return f"{_MONTHS[day.month - 1]} {day.day}, {day.year}"


def long_day(day: date) -> str:
    """Like "Thursday, Nov 26"."""
    return f"{_WEEKDAYS[day.weekday()]}, {_MONTHS[day.month - 1]} {day.day}"


def waiting(since: datetime, now: datetime) -> str:
    """How long a draft has waited: "waiting 12 min", "waiting 3 h", "waiting 2 days"."""
    delta = aware(now) - aware(since)
    if delta < timedelta(minutes=1):
        # Also covers a publishedDateTime in the future, which feeds do send.
        return "just in"
    if delta < timedelta(hours=1):
        return f"waiting {delta.seconds // 60} min"
    if delta < timedelta(hours=48):
        return f"waiting {int(delta.total_seconds() // 3600)} h"
    return f"waiting {delta.days} days"
