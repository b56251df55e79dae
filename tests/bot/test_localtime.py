"""Wall-clock times across daylight-saving changes (the digest's, reminders', reports')."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.localtime import wall_time

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("tz", "day", "utc"),
    [
        (BERLIN, date(2026, 3, 28), datetime(2026, 3, 28, 8, 0)),
        (BERLIN, date(2026, 3, 29), datetime(2026, 3, 29, 7, 0)),  # clocks went forward at 02:00
        (BERLIN, date(2026, 10, 24), datetime(2026, 10, 24, 7, 0)),
        (BERLIN, date(2026, 10, 25), datetime(2026, 10, 25, 8, 0)),  # and back at 03:00
        (NEW_YORK, date(2026, 3, 7), datetime(2026, 3, 7, 14, 0)),
        (NEW_YORK, date(2026, 3, 8), datetime(2026, 3, 8, 13, 0)),
        (NEW_YORK, date(2026, 10, 31), datetime(2026, 10, 31, 13, 0)),
        (NEW_YORK, date(2026, 11, 1), datetime(2026, 11, 1, 14, 0)),
    ],
)
def test_digest_time_follows_daylight_saving(tz, day, utc):
    due = wall_time(day, time(9, 0), tz)
    assert due.astimezone(UTC) == utc.replace(tzinfo=UTC)
    assert due.astimezone(tz).hour == 9


def test_a_wall_time_in_the_spring_gap_means_just_after_it():
    due = wall_time(date(2026, 3, 29), time(2, 30), BERLIN)
    assert due.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST
    fall = wall_time(date(2026, 10, 25), time(2, 30), BERLIN)
    assert fall.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # the first 02:30
