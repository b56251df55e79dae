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
    """A nightly span of local wall-clock time, such as 20:00-08:00 (it may cross midnight).

    Its moments are `wall_time`'s, the rule the digest's time follows too: an end
    in a spring-forward gap (02:30) is reached an hour later by the clock (03:30),
    and one in the repeated hour of a fall-back night the first time round. Each
    night is one span of real time, so quiet hours never come back for the
    repeated hour, and reminder slots (which start where a span ends) agree with them.
    """

    start: time
    end: time

    def span(self, now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
        """The quiet span `now` falls in, as its (start, end) in UTC; None outside quiet hours."""
        today = now.astimezone(tz).date()
        crosses = self.end <= self.start
        for day in (today - timedelta(days=1), today):
            start = wall_time(day, self.start, tz).astimezone(UTC)
            end_day = day + timedelta(days=1) if crosses else day
            end = wall_time(end_day, self.end, tz).astimezone(UTC)
            if start <= now < end:
                return start, end
        return None

    def last_end(self, now: datetime, tz: ZoneInfo) -> datetime:
        """The latest end of quiet hours at or before `now`, in UTC."""
        today = now.astimezone(tz).date()
        for back in range(3):
            end = wall_time(today - timedelta(days=back), self.end, tz).astimezone(UTC)
            if end <= now:
                return end
        raise AssertionError("quiet hours end every day")  # pragma: no cover

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
