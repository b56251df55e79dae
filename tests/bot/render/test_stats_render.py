"""The desk's numbers as Block Kit and as a chart: sparklines, durations, limits, the PNG."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from matplotlib.image import imread
from PIL import Image

from bot.render import chart
from bot.render.stats import duration, quiet_message, report_message, sparkline, stats_message
from storage.types import (
    DayFigures,
    DeskStats,
    ReviewerFigures,
    SearchGap,
    TopicHeat,
)
from tests.blockkit import message_problems
from tests.slack_api import mentions_in


def desk(
    first: date = date(2026, 11, 16),
    days: int = 7,
    *,
    arrived: list[int] | None = None,
    published: list[int] | None = None,
    medians: list[float | None] | None = None,
    reviewers: tuple[ReviewerFigures, ...] = (),
    topics: tuple[TopicHeat, ...] = (),
    searches: int = 0,
) -> DeskStats:
    arrived = arrived or [0] * days
    published = published or [0] * days
    medians = medians or [None] * days
    start = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    return DeskStats(
        first_day=first,
        last_day=first + timedelta(days=days - 1),
        start=start,
        end=start + timedelta(days=days),
        articles_in=sum(arrived),
        published=sum(published),
        rejected=0,
        unpublished=0,
        waiting=4,
        decided=sum(1 for m in medians if m is not None),
        median_to_decision=5430.0,
        p90_to_decision=17280.0,
        reviewers=reviewers,
        topics=topics,
        days=tuple(
            DayFigures(first + timedelta(days=n), arrived[n], published[n], medians[n])
            for n in range(days)
        ),
        searches=searches,
    )


@pytest.mark.parametrize(
    ("values", "line"),
    [
        ([], ""),
        ([0, 0, 0], "▁▁▁"),
        ([1, 2, 3, 4, 5, 6, 7], "▂▃▄▅▆▇█"),
        ([0, 1, 700], "▁▂█"),  # any article shows above an empty day
        ([5, 5], "██"),
        ([0, 7, 14], "▁▅█"),
    ],
)
def test_sparklines(values, line):
    assert sparkline(values) == line


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, "–"),
        (20, "under a minute"),
        (60, "1 min"),
        (5430, "1 h 31 min"),
        (7200, "2 h"),
        (47 * 3600 + 59 * 60, "47 h 59 min"),
        (48 * 3600, "2 days"),
        (3 * 86400 + 5 * 3600, "3 days 5 h"),
    ],
)
def test_durations(seconds, shown):
    assert duration(seconds) == shown


def test_stats_message_has_the_figures_and_a_sparkline_per_day():
    stats = desk(arrived=[2, 0, 1, 0, 0, 1, 0], published=[2, 0, 0, 0, 1, 0, 0])
    message = stats_message(stats)
    text = json.dumps(message.blocks, ensure_ascii=False)
    assert message_problems({"blocks": message.blocks}, "message") == []
    assert "Desk stats: Nov 16 – Nov 22, 2026" in text
    assert "`█▁▅▁▁▅▁` articles in" in text and "`█▁▁▁▅▁▁` published" in text
    assert "*Median time to decision*\\n1 h 31 min" in text
    assert "*90th percentile*\\n4 h 48 min" in text
    assert "4 articles in" in message.text


def test_the_longest_period_stays_within_block_kit_limits():
    many = tuple(
        ReviewerFigures(f"U{n:04d}", "R" * 200 + "&<>" * 50, 9999, 9999, 9999) for n in range(40)
    )
    topics = tuple(TopicHeat("T" * 300, 10**9, 10**8) for _ in range(5))
    gaps = [SearchGap("q&<>" * 100, 10**6, 2, 10**6) for _ in range(30)]
    stats = desk(days=366, arrived=list(range(366)), reviewers=many, topics=topics, searches=9)
    for message in (stats_message(stats), report_message(stats, gaps)):
        assert message_problems({"blocks": message.blocks}, "message") == []


def test_names_topics_and_searches_are_escaped():
    stats = desk(
        arrived=[1] + [0] * 6,
        reviewers=(ReviewerFigures("U0EVIL", "<!channel> boss", 1, 0, 0),),
        topics=(TopicHeat("<@U111>", 5, 0),),
        searches=1,
    )
    message = report_message(stats, [SearchGap("<!here> & more", 1, 0, 0)])
    assert mentions_in(message.blocks) == [] and mentions_in(message.text) == []
    text = json.dumps(message.blocks)
    assert "&lt;!channel&gt; boss" in text and "&lt;!here&gt; &amp; more" in text


def test_topic_changes():
    stats = desk(
        arrived=[1] + [0] * 6,
        topics=(TopicHeat("AI", 150, 100), TopicHeat("Space", 50, 100), TopicHeat("New", 9, 0)),
    )
    text = json.dumps(stats_message(stats).blocks, ensure_ascii=False)
    assert "AI: 150 (▲ 50, 50%)" in text
    assert "Space: 50 (▼ 50, 50%)" in text
    assert "New: 9 (new)" in text


def test_a_change_from_negative_heat_has_no_percentage():
    stats = desk(
        arrived=[1] + [0] * 6,
        topics=(TopicHeat("Climate", 10, -50), TopicHeat("Tax", -80, -20)),
    )
    text = json.dumps(stats_message(stats).blocks, ensure_ascii=False)
    assert "Climate: 10 (▲ 60)" in text and "Tax: -80 (▼ 60)" in text
    assert "%" not in text.split("Top topics")[1].split("stats-notes")[0]


def test_a_quiet_week_is_one_line():
    message = quiet_message(desk(), late=True)
    (block,) = message.blocks
    assert block["text"]["text"] == message.text
    assert "\n" not in message.text and "no activity" in message.text
    assert message.text.endswith("(posted late)")
    assert report_message(desk(), []).text == quiet_message(desk()).text


def test_the_chart_is_a_png_of_the_expected_size():
    stats = desk(arrived=[3, 0, 5, 1, 0, 2, 4], medians=[3600.0, None, 7200.0] + [None] * 4)
    png = chart.draw_png(stats)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (chart.WIDTH, chart.HEIGHT)
    pixels = imread(io.BytesIO(png), format="png")
    assert pixels.shape[:2] == (chart.HEIGHT, chart.WIDTH)
    assert pixels.std() > 0  # something was drawn


def test_the_days_are_on_its_axis():
    stats = desk(date(2026, 10, 19), arrived=[1] * 7)
    figure = chart.figure(stats)
    counts, times = figure.axes
    labels = [label.get_text() for label in times.get_xticklabels()]
    assert labels == [
        "Mon\n19 Oct",
        "Tue\n20 Oct",
        "Wed\n21 Oct",
        "Thu\n22 Oct",
        "Fri\n23 Oct",
        "Sat\n24 Oct",
        "Sun\n25 Oct",
    ]
    assert counts.get_title(loc="left") == "Desk: Oct 19, 2026 – Oct 25, 2026"
    assert [t.get_text() for t in counts.get_legend().get_texts()] == ["Articles in", "Published"]
    assert "Hours to decision" in times.get_ylabel()


def test_the_legend_covers_no_bar():
    stats = desk(arrived=[9, 3, 5, 1, 0, 2, 4], published=[9, 1, 1, 0, 0, 0, 9])
    figure = chart.figure(stats)
    figure.canvas.draw()
    counts = figure.axes[0]
    legend = counts.get_legend().get_window_extent()
    bars = [patch.get_window_extent() for patch in counts.patches if patch.get_height()]
    assert len(bars) == 10
    assert not any(legend.overlaps(bar) for bar in bars)


def test_a_month_labels_every_day_and_a_year_every_twelfth():
    month = chart.figure(desk(date(2026, 11, 1), 30))
    labels = [label.get_text() for label in month.axes[1].get_xticklabels()]
    assert labels[0] == "1 Nov" and labels[-1] == "30 Nov" and all(labels)
    year = chart.day_labels(desk(date(2026, 1, 1), 366))
    assert sum(1 for label in year if label) == 31
    assert year[0] == "1 Jan" and year[12] == "13 Jan" and year[1] == ""
