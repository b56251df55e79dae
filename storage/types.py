"""Plain data that leaves the storage layer: what the indexer, the Slack surface and the CLI
read, render and report. Standard library only, like storage.scan."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

from storage.text import printable


@dataclass(frozen=True, slots=True)
class Image:
    url: str
    width: int | None = None
    height: int | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class RelatedItem:
    title: str
    web_url: str
    provider_name: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """The latest review decision on an article, as shown on its card."""

    action: str  # "publish", "reject" or "unpublish"
    reviewer_id: str
    reviewer_name: str
    decided_at: datetime  # aware, UTC


@dataclass(frozen=True, slots=True)
class ArticleView:
    """One indexed article, everything a card or a search result line needs.

    `fingerprint` is the content hash of the source file the view was read from;
    review buttons carry it so a stale card can be refused.
    """

    id: int
    web_url: str
    title: str
    excerpt: str = ""
    amp_web_url: str | None = None
    published_at: datetime | None = None  # aware, UTC
    provider_name: str | None = None
    provider_domain: str | None = None
    topics: tuple[str, ...] = ()
    heat: int = 0
    quality: int = 0
    published: bool = False
    images: tuple[Image, ...] = ()
    related: tuple[RelatedItem, ...] = ()
    type: str | None = None
    category: str | None = None
    fingerprint: str = ""
    decision: Decision | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of `/news` results.

    `mode` says how TERMS matched: "topic" when a topic is named exactly
    (case-insensitively), "text" for the full-text fallback.
    """

    query: str  # the user's text, filters included, to fetch further pages
    mode: str  # "topic" or "text"
    articles: tuple[ArticleView, ...]
    offset: int
    limit: int
    has_more: bool


@dataclass(frozen=True, slots=True)
class TopicCount:
    name: str
    count: int


# --- what runs, decisions and digests report ----------------------------------------


@dataclass(frozen=True, slots=True)
class Failure:
    path: str
    reason: str

    def __str__(self) -> str:
        # A file name or a webUrl in the reason may hold a newline: one failure, one line.
        return printable(f"{self.path}: {self.reason}")


@dataclass(slots=True)
class SyncReport:
    """What one indexing run did, with every failure and its reason."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    missing: int = 0
    failures: list[Failure] = field(default_factory=list)
    # Changed files whose article a review decision changed while the run read
    # them: left as the decision wrote them; the next run reads any that still differ.
    deferred: int = 0

    @property
    def failed(self) -> int:
        return len(self.failures)

    def summary(self) -> str:
        counts = (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.missing} missing, {self.failed} failed"
        )
        if self.deferred:
            counts += (
                f"; {self.deferred} changed by a review decision during the run,"
                " left for the next run"
            )
        return counts


class FileStat(NamedTuple):
    """Size, mtime and content hash of a file as it was read."""

    size: int
    mtime_ns: int
    content_hash: str


@dataclass(slots=True)
class ArticleRecord:
    """One valid article file, normalised: what the indexer stores."""

    web_url: str
    title: str
    excerpt: str = ""
    amp_web_url: str | None = None
    cdn_amp_web_url: str | None = None
    category: str | None = None
    type: str | None = None
    quality: int = 0
    heat: int = 0
    published: bool = False
    published_at: datetime | None = None
    provider_name: str | None = None
    provider_domain: str | None = None
    topics: list[str] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)
    related: list[dict[str, Any]] = field(default_factory=list)
    secured: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    source_path: str = ""
    size: int = 0
    mtime_ns: int = 0
    content_hash: str = ""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    decided_at: datetime
    reviewer_id: str
    reviewer_name: str
    action: str
    title: str
    web_url: str
    old_value: str | None
    new_value: str | None
    channel_id: str | None
    message_ts: str | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a review click did.

    status: "done" (this click decided), "already" (the article is not in the
    state the action needs: `previous` is the decision that put it there, a
    pending one included, and `state` what it is now), "stale" (the file
    changed since the card was shown), "missing" (no such article, or its
    file is gone), "failed" (the file could not be written: `problem` says
    why, naming the file relative to the articles folder). Only "done"
    changed anything.
    """

    status: str
    article: ArticleView | None
    previous: Decision | None = None
    state: str | None = None
    problem: str | None = None
    path: Path | None = None  # the article file, when this decision rewrote it


@dataclass(frozen=True, slots=True)
class DigestPlan:
    local_date: date
    window_start: datetime
    window_end: datetime
    articles: tuple[ArticleView, ...]
    related_counts: dict[int, int] = field(default_factory=dict)
    # {article id: row version} as read with the articles, for the posted cards.
    versions: dict[int, int] = field(default_factory=dict)


# --- desk insights ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DayFigures:
    """One local day of a period: articles in, articles published, median time to decision."""

    day: date
    articles_in: int
    published: int
    median_to_decision: float | None  # seconds; None when no article was first decided that day


@dataclass(frozen=True, slots=True)
class ReviewerFigures:
    """The decisions one reviewer made in a period (every one that took effect)."""

    reviewer_id: str
    reviewer_name: str  # as on their latest decision of the period
    published: int
    rejected: int
    unpublished: int

    @property
    def decisions(self) -> int:
        return self.published + self.rejected + self.unpublished


@dataclass(frozen=True, slots=True)
class TopicHeat:
    """A topic's summed heat over the articles that came in in a period, and in the one before."""

    name: str
    heat: int
    previous_heat: int

    @property
    def change(self) -> int:
        return self.heat - self.previous_heat


@dataclass(frozen=True, slots=True)
class DeskStats:
    """How the desk did in a period of local days, `first_day` to `last_day` inclusive.

    `published`, `rejected` and `unpublished` count articles by their last
    decision of the period, so a publish that was undone and done again
    counts once. `decided` articles had their first publish or reject in the
    period: the times to decision are theirs, from first indexed to that decision.
    `waiting` is the drafts waiting now, whatever the period.
    """

    first_day: date
    last_day: date
    start: datetime  # aware, UTC: the first day's local midnight
    end: datetime  # aware, UTC: the local midnight after the last day
    articles_in: int
    published: int
    rejected: int
    unpublished: int
    waiting: int
    decided: int
    median_to_decision: float | None  # seconds
    p90_to_decision: float | None  # seconds
    reviewers: tuple[ReviewerFigures, ...]
    topics: tuple[TopicHeat, ...]
    days: tuple[DayFigures, ...]
    searches: int = 0

    @property
    def quiet(self) -> bool:
        """Nothing came in, nobody decided anything and nobody searched."""
        return not (self.articles_in or self.searches or any(r.decisions for r in self.reviewers))


@dataclass(frozen=True, slots=True)
class SearchGap:
    """A search that found little: how often, how many results last time, drafts matching now."""

    query: str
    searches: int
    results: int
    drafts: int
