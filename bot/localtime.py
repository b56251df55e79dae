"""Wall-clock times in NEWSBOT_TIMEZONE, daylight saving included: when something is due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
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


@dataclass(frozen=True)
class QuietHours:
    """A daily span of local wall-clock time, such as 20:00-08:00 (it may cross midnight)."""

    start: time
    end: time

    def __contains__(self, moment: time) -> bool:
        at = moment.replace(tzinfo=None, fold=0)
        if self.start < self.end:
            return self.start <= at < self.end
        return at >= self.start or at < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def next_full_hour(now: datetime, tz: ZoneInfo) -> datetime:
    """The next moment after `now` at which the clock in `tz` shows a full hour (hh:00).

    Counted in elapsed time from the last full hour, so the night clocks spring
    forward it skips the missing hour and the night they fall back it takes the
    repeated one; zones half an hour off UTC get their own full hours.
    """
    local = now.astimezone(tz)
    floor = local.replace(minute=0, second=0, microsecond=0)
    return (floor.astimezone(UTC) + timedelta(hours=1)).astimezone(tz)
