"""The desk chart: articles in and published per day, and the median time to decision.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no display, no
global state), imported only when a chart is drawn: nothing else pays for it.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING

from bot.render.dates import short_date
from storage.types import DeskStats

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: The PNG's size in pixels.
WIDTH, HEIGHT = 1200, 700
_DPI = 100
# At most this many day labels on the axis; longer periods label every n-th day.
_MOST_LABELS = 31
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_IN, _PUBLISHED, _TIME = "#457b9d", "#e76f51", "#2a9d8f"


def title(stats: DeskStats) -> str:
    """ "Desk: Nov 16, 2026 – Nov 22, 2026"."""
    return f"Desk: {short_date(stats.first_day)} – {short_date(stats.last_day)}"


def day_labels(stats: DeskStats) -> list[str]:
    """The label under each day, "Mon 16 Nov" (a week) or "16 Nov" (longer), "" when skipped."""
    step = math.ceil(len(stats.days) / _MOST_LABELS)
    week = len(stats.days) <= 14
    labels = []
    for n, figures in enumerate(stats.days):
        day = figures.day
        text = f"{day.day} {_MONTHS[day.month - 1]}"
        labels.append(
            (f"{_WEEKDAYS[day.weekday()]}\n{text}" if week else text) if n % step == 0 else ""
        )
    return labels


def median_hours(stats: DeskStats) -> list[float | None]:
    """Each day's median time to decision in hours (the lower panel's line), None for a
    day on which no draft was first decided."""
    return [
        d.median_to_decision / 3600 if d.median_to_decision is not None else None
        for d in stats.days
    ]


def figure(stats: DeskStats) -> Figure:
    """The chart as a matplotlib Figure (WIDTH x HEIGHT pixels), not yet drawn."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH / _DPI, HEIGHT / _DPI), dpi=_DPI)
    FigureCanvasAgg(fig)
    counts, times = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    positions = list(range(len(stats.days)))
    width = 0.4
    counts.bar(
        [p - width / 2 for p in positions],
        [d.articles_in for d in stats.days],
        width,
        label="Articles in",
        color=_IN,
    )
    counts.bar(
        [p + width / 2 for p in positions],
        [d.published for d in stats.days],
        width,
        label="Published",
        color=_PUBLISHED,
    )
    counts.set_ylabel("Articles")
    # Above the plot, opposite the title: inside, it covered the first day's bars.
    counts.legend(loc="lower right", bbox_to_anchor=(1, 1), ncols=2, frameon=False)
    counts.set_title(title(stats), loc="left")
    counts.yaxis.get_major_locator().set_params(integer=True)
    counts.spines[["top", "right"]].set_visible(False)

    hours = [math.nan if h is None else h for h in median_hours(stats)]
    times.plot(positions, hours, marker="o", color=_TIME, label="Median time to decision")
    if all(math.isnan(h) for h in hours):
        times.text(
            0.5,
            0.5,
            "No draft was first decided in this period",
            transform=times.transAxes,
            ha="center",
            va="center",
            color="#6c757d",
        )
    times.set_ylabel("Hours to decision\n(median)")
    times.set_ylim(bottom=0, top=max([h for h in hours if not math.isnan(h)] or [1]) * 1.2)
    times.spines[["top", "right"]].set_visible(False)
    times.set_xticks(positions, day_labels(stats), fontsize=8 if len(positions) > 14 else 10)
    if len(positions) > 14:
        for label in times.get_xticklabels():
            label.set_rotation(90)
    times.set_xlim(-0.6, len(positions) - 0.4)
    fig.subplots_adjust(left=0.08, right=0.98, top=0.93, bottom=0.14, hspace=0.12)
    return fig


def draw_png(stats: DeskStats) -> bytes:
    """The chart as PNG bytes."""
    buffer = io.BytesIO()
    figure(stats).savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()


def alt_text(stats: DeskStats) -> str:
    """What the chart shows, for screen readers."""
    return (
        f"Chart of articles in and published per day, and the median hours from first indexed "
        f"to decision per day, {short_date(stats.first_day)} to {short_date(stats.last_day)}"
    )
