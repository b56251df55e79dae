"""`newsbot stats`: a table, JSON or the chart as a PNG, run as the operator runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from bot.render.chart import HEIGHT, WIDTH
from storage.db import open_database
from tests.insights_builders import add_article, decide

REPO = Path(__file__).resolve().parents[3]


def newsbot(url: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NEWSBOT_DATABASE_URL": url, "NEWSBOT_TIMEZONE": "UTC"}
    env.pop("SLACK_BOT_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", "stats", *args],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def url(database_url):
    db = open_database(database_url)
    yesterday = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d")
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    first = add_article(db, f"{yesterday} 08:00", heat=40, topics=("AI",))
    add_article(db, f"{today} 00:00", heat=10, topics=("Space",))
    decide(db, first, "publish", f"{yesterday} 10:00")
    db.dispose()
    return database_url


def test_json(url, tmp_path):
    done = newsbot(url, "--since", "7d", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["articles_in"] == 2 and figures["published"] == 1
    assert figures["median_seconds_to_decision"] == 7200
    assert figures["reviewers"] == [
        {"id": "U0RITA", "name": "Rita", "published": 1, "rejected": 0, "unpublished": 0}
    ]
    assert [t["topic"] for t in figures["topics"]] == ["AI", "Space"]
    days = figures["days"]
    assert len(days) == 7 and days[-1]["day"] == datetime.now(UTC).date().isoformat()
    assert [d["articles_in"] for d in days[-2:]] == [1, 1]
    assert days[-2]["median_seconds_to_decision"] == 7200


def test_table(url, tmp_path):
    done = newsbot(url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "articles in" in done.stdout and "Rita (U0RITA)" in done.stdout
    assert "▁▁▁▁▁██" in done.stdout  # one a day, on the last two days


def test_png(url, tmp_path):
    target = tmp_path / "charts" / "desk.png"
    target.parent.mkdir()
    done = newsbot(url, "--since", "30d", "--png", str(target), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"({WIDTH}x{HEIGHT})" in done.stdout
    image = Image.open(target)
    assert image.format == "PNG" and image.size == (WIDTH, HEIGHT)
    assert sorted(p.name for p in target.parent.iterdir()) == ["desk.png"]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--since", "7x"], "newsbot: `--since 7x` is not a period"),
        (["--since", "2026-11-07..2026-11-01"], "ends before it starts"),
        (
            ["--png", "/nonexistent-folder/x.png"],
            "newsbot: --png /nonexistent-folder/x.png: cannot",
        ),
    ],
)
def test_mistakes_are_one_sentence(url, tmp_path, args, said):
    done = newsbot(url, *args, cwd=tmp_path)
    assert done.returncode == 2
    assert said in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
