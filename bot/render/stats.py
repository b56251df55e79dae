"""The desk's numbers as Block Kit: `/news stats` (only to the caller) and the weekly report.

Pure: storage records in, a Message out. Reviewer names and search texts are
data and are escaped; nothing here mentions anyone.
"""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock

from bot.render import limits
from bot.render.card import md, plain
from bot.render.dates import short_date
from bot.render.message import Message, to_dicts
from bot.render.mrkdwn import escape_truncate, one_line, truncate
from storage.types import DeskStats, ReviewerFigures, SearchGap, TopicHeat

SPARKS = "▁▂▃▄▅▆▇█"
REVIEWERS_LISTED = 10
GAPS_LISTED = 10
_NAME_LIMIT = 80
_QUERY_LIMIT = 100
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def sparkline(values: Sequence[int]) -> str:
    """One bar per value, ▁ for nothing and █ for the most; any value above 0 shows above ▁."""
    top = max(values, default=0)
    if top <= 0:
        return SPARKS[0] * len(values)
    steps = len(SPARKS) - 1
    return "".join(SPARKS[0 if v <= 0 else max(1, -(-v * steps // top))] for v in values)


def duration(seconds: float | None) -> str:
    """ "45 min", "3 h 12 min", "2 days 4 h"; "–" when there is nothing to measure."""
    if seconds is None:
        return "–"
    minutes = max(0, int(seconds / 60 + 0.5))  # half a minute up, not to the even one
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} days {hours} h" if hours else f"{days} days"


def span(stats: DeskStats) -> str:
    """ "Nov 16 – Nov 22, 2026", or one day's "Nov 16, 2026"."""
    first, last = stats.first_day, stats.last_day
    if first == last:
        return short_date(first)
    head = f"{_MONTHS[first.month - 1]} {first.day}"
    if first.year != last.year:
        head += f", {first.year}"
    return f"{head} – {short_date(last)}"


def _n(value: int) -> str:
    return f"{value:,}"


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{_n(n)} {word if n == 1 else (many or word + 's')}"


def summary_line(stats: DeskStats) -> str:
    """The figures in one plain line (notification text, logs)."""
    return (
        f"{_plural(stats.articles_in, 'article')} in, {_n(stats.published)} published, "
        f"{_n(stats.rejected)} rejected, {_n(stats.waiting)} still waiting"
    )


def _figures(stats: DeskStats) -> SectionBlock:
    fields = [
        md(f"*Articles in*\n{_n(stats.articles_in)}"),
        md(f"*Published*\n{_n(stats.published)}"),
        md(f"*Rejected*\n{_n(stats.rejected)}"),
        md(f"*Still waiting*\n{_n(stats.waiting)}"),
        md(f"*Median time to decision*\n{duration(stats.median_to_decision)}"),
        md(f"*90th percentile*\n{duration(stats.p90_to_decision)}"),
    ]
    if stats.unpublished:
        fields.append(md(f"*Unpublished*\n{_n(stats.unpublished)}"))
    return SectionBlock(block_id="stats-figures", fields=fields)


def _days(stats: DeskStats) -> SectionBlock:
    arrived = [d.articles_in for d in stats.days]
    published = [d.published for d in stats.days]
    first, last = stats.days[0].day, stats.days[-1].day
    text = "\n".join(
        [
            f"*Per day*, {short_date(first)} to {short_date(last)}",
            f"`{sparkline(arrived)}` articles in (most {_n(max(arrived, default=0))} a day)",
            f"`{sparkline(published)}` published (most {_n(max(published, default=0))} a day)",
        ]
    )
    return SectionBlock(block_id="stats-days", text=md(text))


def _reviewer_line(r: ReviewerFigures) -> str:
    parts = [
        f"{_n(n)} {what}"
        for n, what in (
            (r.published, "published"),
            (r.rejected, "rejected"),
            (r.unpublished, "unpublished"),
        )
        if n
    ]
    name = escape_truncate(one_line(r.reviewer_name) or r.reviewer_id, _NAME_LIMIT)
    return f"• {name}: {_plural(r.decisions, 'decision')} ({', '.join(parts)})"


def _reviewers(reviewers: Sequence[ReviewerFigures]) -> SectionBlock:
    lines = ["*Decisions by reviewer*"]
    lines += [_reviewer_line(r) for r in reviewers[:REVIEWERS_LISTED]]
    if len(reviewers) > REVIEWERS_LISTED:
        lines.append(f"…and {_plural(len(reviewers) - REVIEWERS_LISTED, 'more reviewer')}")
    if not reviewers:
        lines.append("No decisions were made.")
    return SectionBlock(block_id="stats-reviewers", text=md(_fit(lines)))


def _change(topic: TopicHeat) -> str:
    if topic.previous_heat == 0:
        return "new"
    if topic.change == 0:
        return "no change"
    arrow = "▲" if topic.change > 0 else "▼"
    if topic.previous_heat < 0:  # heat can be negative: a share of it would read backwards
        return f"{arrow} {_n(abs(topic.change))}"
    percent = round(abs(topic.change) * 100 / topic.previous_heat)
    return f"{arrow} {_n(abs(topic.change))}, {percent}%"


def _topics(stats: DeskStats) -> SectionBlock:
    lines = [f"*Top topics by heat*, against the {_plural(len(stats.days), 'day')} before"]
    for topic in stats.topics:
        name = escape_truncate(one_line(topic.name), _NAME_LIMIT)
        lines.append(f"• {name}: {_n(topic.heat)} ({_change(topic)})")
    if not stats.topics:
        lines.append("No article with a topic came in.")
    return SectionBlock(block_id="stats-topics", text=md(_fit(lines)))


def _gap_line(gap: SearchGap) -> str:
    query = escape_truncate(one_line(gap.query), _QUERY_LIMIT)
    drafts = (
        "no draft matches"
        if not gap.drafts
        else f"{_plural(gap.drafts, 'draft')} {'matches' if gap.drafts == 1 else 'match'}, "
        "waiting for review"
    )
    return (
        f"• “{query}”: searched {_plural(gap.searches, 'time')}, "
        f"{_plural(gap.results, 'result')} · {drafts}"
    )


def _gaps(stats: DeskStats, gaps: Sequence[SearchGap]) -> SectionBlock:
    lines = ["*Searches that found little* (two results or fewer)"]
    lines += [_gap_line(g) for g in gaps[:GAPS_LISTED]]
    if not gaps:
        lines.append(
            "Every search found three articles or more."
            if stats.searches
            else "Nobody searched with /news."
        )
    return SectionBlock(block_id="stats-gaps", text=md(_fit(lines)))


def _fit(lines: Sequence[str]) -> str:
    """Lines joined, cut at a line's end to fit one section (each line is short already)."""
    kept: list[str] = []
    used = 0
    for line in lines:
        cost = len(line) + 1
        if used + cost > limits.SECTION_TEXT - 2:
            kept.append("…")
            break
        kept.append(line)
        used += cost
    return "\n".join(kept)


def _notes(stats: DeskStats, *, late: bool = False) -> ContextBlock:
    notes = [
        f"Time to decision: from first indexed to the first publish or reject, "
        f"{_plural(stats.decided, 'article')} decided in this period.",
        "Still waiting: drafts without a decision now.",
    ]
    if late:
        notes.append("(posted late)")
    return ContextBlock(block_id="stats-notes", elements=[md(" ".join(notes))])


def stats_message(stats: DeskStats) -> Message:
    """`/news stats`: the figures, a sparkline per day, reviewers and topics."""
    blocks: list[Block] = [
        HeaderBlock(
            block_id="stats-header", text=plain(truncate(f"Desk stats: {span(stats)}", 150))
        ),
        _figures(stats),
        _days(stats),
        _reviewers(stats.reviewers),
        _topics(stats),
        _notes(stats),
    ]
    text = f"Desk stats, {span(stats)}: {summary_line(stats)}"
    return Message(text=text, blocks=to_dicts(blocks))


def report_message(stats: DeskStats, gaps: Sequence[SearchGap], *, late: bool = False) -> Message:
    """The weekly report: the stats, then the searches that found little. The chart follows."""
    if stats.quiet:
        return quiet_message(stats, late=late)
    blocks: list[Block] = [
        HeaderBlock(
            block_id="stats-header",
            text=plain(truncate(f"Weekly desk report: {span(stats)}", 150)),
        ),
        _figures(stats),
        _days(stats),
        _reviewers(stats.reviewers),
        _topics(stats),
        _gaps(stats, gaps),
        _notes(stats, late=late),
    ]
    text = f"Weekly desk report, {span(stats)}: {summary_line(stats)}"
    return Message(text=text, blocks=to_dicts(blocks))


def quiet_message(stats: DeskStats, *, late: bool = False) -> Message:
    """A week without activity: one line saying so."""
    line = (
        f"Weekly desk report, {span(stats)}: no activity. No article came in, no decision "
        f"was made and nobody searched; {_plural(stats.waiting, 'draft')} still waiting."
    )
    if late:
        line += " (posted late)"
    return Message(
        text=line, blocks=to_dicts([SectionBlock(block_id="stats-quiet", text=md(line))])
    )
