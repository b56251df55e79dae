"""Golden Block Kit fixtures for the main views, pasteable into Block Kit Builder.

Run with NEWSBOT_UPDATE_GOLDEN=1 to rewrite them after an intended change, then
review the diff (and paste the file into https://app.slack.com/block-kit-builder).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.render import (
    app_home,
    article_card,
    digest_messages,
    results_message,
    review_queue_message,
)
from storage.types import ArticleView, Decision, Image, RelatedItem, SearchPage, TopicCount
from tests.builders import article

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("NEWSBOT_UPDATE_GOLDEN") == "1"
TZ = ZoneInfo("Europe/Zurich")

# The articles of shared/examples/articles, as storage hands them over.
HEAT_PUMP = ArticleView(
    id=5,
    web_url="https://www.northgateobserver.com/business/2026/11/26/zurich-heat-pump-subsidy-7712480.html",
    title="Zürich Doubles Its Heat-Pump Subsidy as Winter Prices Bite 🌡️",
    excerpt=(
        "Households replacing oil boilers can now claim up to CHF 12,000; installers warn of a"
        " waiting list that already runs into March."
    ),
    published_at=datetime(2026, 11, 26, 6, 30, tzinfo=UTC),
    provider_name="Northgate Observer",
    provider_domain="northgateobserver.com",
    topics=("Climate Change", "Renewable Energy", "Housing"),
    heat=71,
    quality=55,
    published=False,
    images=(
        Image(
            url="https://cdn.northgateobserver.com/images/2026/11/heat-pump-install-1920x1080.jpg",
            width=1920,
            height=1080,
            title="An installer fits an outdoor heat-pump unit in Oerlikon",
        ),
    ),
    fingerprint="9f2c1e",
)
HARBOR = ArticleView(
    id=3,
    web_url="https://www.harborcityherald.com/story/ai-traffic-cameras-pilot-results-4821907",
    title="Harbor City Lets AI Cameras Time Its Traffic Lights, and Commutes Got Shorter",
    excerpt=(
        "A six-month pilot on two downtown corridors cut average evening delays by a fifth, but"
        " council members want an audit of what the cameras record."
    ),
    published_at=datetime(2026, 11, 26, 8, 15, tzinfo=UTC),
    provider_name="Harbor City Herald",
    provider_domain="harborcityherald.com",
    topics=("Computer Vision", "AI", "Transportation"),
    heat=82,
    quality=71,
    published=True,
    related=(
        RelatedItem(
            "Three Cities, Three Rulebooks for Cameras at Intersections",
            "https://www.northgateobserver.com/tech/2026/11/24/intersection-camera-rules-7710354.html",
        ),
    ),
    fingerprint="4be07a",
    decision=Decision("publish", "U024BE7LH", "ana", datetime(2026, 11, 26, 9, 2, tzinfo=UTC)),
)
CLOUD = ArticleView(
    id=2,
    web_url="https://byteline.news/explainers/cloud-bills-q-and-a-3391544",
    title="Q&A: Why Cloud Bills Climb <Even> When Traffic Falls",
    excerpt=(
        "A finance lead and a platform engineer walk through idle clusters, egress fees &"
        " forgotten snapshots, and which of them a team can cut this quarter."
    ),
    published_at=datetime(2026, 11, 24, 14, 5, tzinfo=UTC),
    provider_name="Byteline",
    provider_domain="byteline.news",
    topics=("Cloud Computing", "Startups"),
    heat=35,
    quality=62,
    published=False,
    images=(
        Image(
            url="https://static.byteline.news/uploads/2b7e91c04d5fa3e8b16c0d97.png?w=1200&h=630&fit=crop",
            title="Q&A: Why Cloud Bills Climb <Even> When Traffic Falls",
        ),
    ),
    fingerprint="77d1aa",
)
VOTER = article(
    id=4,
    excerpt=(
        "The audit covers four years of data requests; the elections office says the extra"
        " fields were removed in September."
    ),
    published_at=datetime(2026, 11, 25, 19, 40, tzinfo=UTC),
    images=(),
    fingerprint="0c3d52",
)
TOPICS = [
    TopicCount("AI", 370),
    TopicCount("Privacy", 121),
    TopicCount("Climate Change", 96),
    TopicCount("Cloud Computing", 58),
    TopicCount("Elections", 41),
]


def _cases() -> dict[str, Any]:
    return {
        "card_draft_with_image": {
            "blocks": article_card(HEAT_PUMP, tz=TZ, share=True, review=True, reviewer=True)
        },
        "card_published_without_image": {
            "blocks": article_card(HARBOR, tz=TZ, share=True, review=True, reviewer=True)
        },
        "results_page": {
            "blocks": results_message(
                SearchPage(
                    query="ai heat>=30",
                    mode="topic",
                    articles=(HARBOR, HEAT_PUMP, CLOUD),
                    offset=10,
                    limit=10,
                    has_more=True,
                ),
                tz=TZ,
                reviewer=True,
            ).blocks
        },
        "app_home": app_home(
            hottest=[HARBOR, HEAT_PUMP, VOTER], topics=TOPICS, pending_reviews=12, tz=TZ
        ),
        "digest": {
            "blocks": digest_messages(
                local_date=date(2026, 11, 26),
                articles=[HARBOR, HEAT_PUMP, VOTER, CLOUD],
                related_counts={HARBOR.id: 1},
                late=True,
                tz=TZ,
            )[0].blocks
        },
        "review_queue": {
            "blocks": review_queue_message(
                [HEAT_PUMP, VOTER, CLOUD],
                now=datetime(2026, 11, 26, 12, 0, tzinfo=UTC),
                offset=0,
                has_more=False,
                tz=TZ,
            ).blocks
        },
    }


@pytest.mark.parametrize("name", sorted(_cases()))
def test_golden(name: str) -> None:
    rendered = _cases()[name]
    path = GOLDEN / f"{name}.json"
    text = json.dumps(rendered, indent=2, ensure_ascii=False) + "\n"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} missing: run with NEWSBOT_UPDATE_GOLDEN=1"
    assert json.loads(path.read_text(encoding="utf-8")) == rendered, (
        f"{path.name} differs; if the change is intended, rerun with NEWSBOT_UPDATE_GOLDEN=1"
    )
