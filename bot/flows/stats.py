"""`/news stats`: the desk's numbers for a period, only to the caller."""

from __future__ import annotations

from datetime import datetime

from bot import render
from bot.deps import Deps
from bot.localtime import local_today
from bot.render.stats import stats_message
from bot.settings import Settings
from storage.db import Database
from storage.stats import Period, PeriodError, desk_stats, parse_period
from storage.types import DeskStats


def figures(settings: Settings, db: Database, period: Period) -> DeskStats:
    """The desk's figures for the period, in NEWSBOT_TIMEZONE's days."""
    with db.Session() as session:
        return desk_stats(session, period, settings.timezone)


def period_of(
    settings: Settings, text: str, *, now: datetime | None = None, spelled: str = ""
) -> Period:
    """The period typed (default the last seven days); PeriodError says what is wrong."""
    return parse_period(text, today=local_today(settings.timezone, now), spelled=spelled)


def stats_reply(deps: Deps, text: str) -> render.Message:
    """The figures for the period typed after `/news stats`, or one sentence on how to type it."""
    try:
        period = period_of(deps.settings, text, spelled="/news stats ")
    except PeriodError as exc:
        return render.ephemeral_text(f"{exc}.")
    return stats_message(figures(deps.settings, deps.db, period))
