"""Plain data that leaves the storage layer: what the Slack surface and the CLI render."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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
