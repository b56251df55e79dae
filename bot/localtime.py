"""Wall-clock times in NEWSBOT_TIMEZONE, daylight saving included: when something is due."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo


def wall_time(local_date: date, at: time, tz: ZoneInfo) -> datetime:
    """The moment `at` o'clock on `local_date` in `tz`, as an aware datetime in tz.

    On the day clocks spring forward a wall time in the gap (02:30) means the
    first moment after it; on the day they fall back, the first of the two.
    """
    # With fold=0, zoneinfo reads a time in the gap with the offset before the
    # change, which lands just after the gap; the round trip makes it a real time.
    return datetime.combine(local_date, at, tzinfo=tz).astimezone(UTC).astimezone(tz)


def local_today(tz: ZoneInfo, now: datetime | None = None) -> date:
    """The calendar date in `tz` at `now` (default: now)."""
    return (now or datetime.now(UTC)).astimezone(tz).date()
