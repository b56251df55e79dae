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
    pushing: bool = False  # its git commit waits to be pushed (NEWSBOT_GIT_PUSH)


@dataclass(frozen=True, slots=True)
class Approval:
    """A reviewer's approval of an article that needs two reviewers."""

    reviewer_id: str
    reviewer_name: str
    approved_at: datetime  # aware, UTC


@dataclass(frozen=True, slots=True)
class Schedule:
    """A scheduled publication, as a card shows it.

    status: "pending", "waiting" (for a second reviewer), "running", "published"
    (`late` when it went out well after its time), "failed" (`reason` says why).
    """

    id: int
    due_at: datetime  # aware, UTC
    by_id: str
    by_name: str
    status: str
    late: bool = False
    reason: str | None = None


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
    # Since when a draft has waited for a decision (first indexed, or unpublished).
    waiting_since: datetime | None = None
    # Open approvals of the file as it is now, oldest first (two-reviewer articles).
    approvals: tuple[Approval, ...] = ()
    schedule: Schedule | None = None


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
    # Claims for follow cards this run left pending (new finds, and refused ones again).
    follow_finds: int = 0

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
    # The decision's git commit and where it is (storage.models.DecisionCommit), and
    # "done" or "reverted" (undone after it took effect).
    commit_sha: str | None = None
    push_state: str | None = None
    status: str = "done"
    # Who else the decision names: the approvers of a two-reviewer Publish, who
    # scheduled a scheduled one.
    note: str = ""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a review click did.

    status: "done" (this click decided), "approved" (an approval was
    recorded: the article needs a second reviewer, or its scheduled time),
    "approved-already" (this reviewer approved it before; another must, or its
    scheduled time must come), "approved-enough" (two others approved it and it
    is scheduled for later: nothing recorded), "waiting" (a scheduled
    publication lacks its second approval), "cancelled" (the scheduled
    publication was ended meanwhile), "already" (the article is not in the
    state the action needs: `previous` is the decision that put it there, a
    pending one included, and `state` what it is now), "stale" (the file
    changed since the card was shown), "missing" (no such article, or its
    file is gone), "failed" (the file could not be written: `problem` says
    why, naming the file relative to the articles folder), "changed_upstream"
    (done, then undone: the article's file changed on the git remote before
    the decision's commit could be pushed). Only "done" changed anything.
    """

    status: str
    article: ArticleView | None
    previous: Decision | None = None
    state: str | None = None
    problem: str | None = None
    path: Path | None = None  # the article file, when this decision rewrote it
    decision_id: int | None = None  # the audit record, when this click decided
    # Who approved a Publish, as (user id, name), in order: one reviewer, or two or
    # more for an article that needs two.
    approvers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class DigestPlan:
    local_date: date
    window_start: datetime
    window_end: datetime
    articles: tuple[ArticleView, ...]
    related_counts: dict[int, int] = field(default_factory=dict)
    # {article id: row version} as read with the articles, for the posted cards.
    versions: dict[int, int] = field(default_factory=dict)


# --- follows (issue 11) -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FollowRecord:
    """One channel's follow of a query, as listed (source "user" or "config")."""

    id: int
    channel: str
    number: int
    query: str
    source: str
    created_by: str
    created_by_name: str
    created_at: datetime
    cards: int  # cards it has posted
    removed_by: str | None = None
    removed_by_name: str | None = None
    removed_at: datetime | None = None

    @property
    def configured(self) -> bool:
        return self.source == "config"


@dataclass(frozen=True, slots=True)
class FollowEvent:
    """A follow made or removed, for `newsbot audit`."""

    at: datetime
    who_id: str
    who_name: str
    action: str  # "follow" or "unfollow"
    channel: str
    number: int
    query: str
    source: str


# --- the editorial workflow (issue 12) ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scheduling:
    """What "Publish at…" (or its Cancel) did, or why it did nothing.

    status: "scheduled", "cancelled"; or a refusal: "missing" (no such article,
    or its file is gone), "not-draft", "stale" (the file changed since the card
    was shown), "already-scheduled", "past", "too-far"; for a cancel, "running"
    (it is being published right now) and "over" (it ended before: published,
    cancelled or failed, as `article.schedule` and `closed_by` say).
    """

    status: str
    article: ArticleView | None
    schedule_id: int | None = None
    due_at: datetime | None = None
    by: tuple[str, str] | None = None
    closed_by: tuple[str, str] | None = None
    ended: str | None = None  # the status a schedule that is over ended in


@dataclass(frozen=True, slots=True)
class Notice:
    """A failed scheduled publication whose scheduler is to be told."""

    id: int
    article_id: int
    due_at: datetime
    by: tuple[str, str]
    channel_id: str | None
    reason: str


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
