"""`newsbot stats`: a table, JSON or the chart as a PNG, run as the operator runs it."""

from __future__ import annotations

import io
import json
import os
import shlex
import stat
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


def newsbot(url: str, *args: str, cwd: Path, text: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "NEWSBOT_DATABASE_URL": url, "NEWSBOT_TIMEZONE": "UTC"}
    env.pop("SLACK_BOT_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", "stats", *args],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=text,
        timeout=120,
    )


def is_chart(data: bytes) -> bool:
    image = Image.open(io.BytesIO(data))
    return image.format == "PNG" and image.size == (WIDTH, HEIGHT)


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
        (["--png", ""], "newsbot: --png needs a file name, or - for stdout"),
        (["--png", "/"], "newsbot: --png /: is a folder, not a file name"),
        (["--png", "."], "newsbot: --png .: is a folder, not a file name"),
        (["--png", "charts/"], "newsbot: --png charts/: is a folder, not a file name"),
        (["--png", "-", "--json"], "newsbot: --png - writes the chart to stdout, where --json"),
        (
            ["--json", "--png", "/dev/stdout"],
            "newsbot: --png /dev/stdout is where --json writes its JSON: choose another file",
        ),
    ],
)
def test_mistakes_are_one_sentence(url, tmp_path, args, said):
    done = newsbot(url, *args, cwd=tmp_path)
    assert done.returncode == 2
    assert said in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_json_with_a_png_prints_only_the_json_on_stdout(url, tmp_path):
    target = tmp_path / "desk.png"
    done = newsbot(url, "--json", "--png", str(target), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["articles_in"] == 2  # one JSON object, nothing else
    assert "wrote the chart of" in done.stderr and str(target) in done.stderr
    assert is_chart(target.read_bytes())


def test_png_dash_writes_the_chart_to_stdout(url, tmp_path):
    done = newsbot(url, "--png", "-", cwd=tmp_path, text=False)
    assert done.returncode == 0, done.stderr
    assert is_chart(done.stdout)
    assert not (tmp_path / "-").exists()


@pytest.mark.skipif(not Path("/proc/self/fd/1").exists(), reason="needs /proc")
def test_a_path_to_a_pipe_is_written_to_not_replaced(url, tmp_path):
    link = tmp_path / "stdout"
    link.symlink_to("/proc/self/fd/1")  # what /dev/stdout is
    done = newsbot(url, "--png", str(link), cwd=tmp_path, text=False)
    assert done.returncode == 0, done.stderr
    assert is_chart(done.stdout.split(b"wrote the chart")[0])
    assert link.is_symlink()


def test_a_symlink_is_written_through_and_the_files_mode_kept(url, tmp_path):
    target = tmp_path / "shared" / "desk.png"
    target.parent.mkdir()
    target.write_bytes(b"old")
    target.chmod(0o640)
    link = tmp_path / "latest.png"
    link.symlink_to(target)
    done = newsbot(url, "--png", str(link), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert link.is_symlink() and link.resolve() == target
    assert is_chart(target.read_bytes())
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in target.parent.iterdir()) == ["desk.png"]


def test_a_period_longer_than_searches_are_kept_says_so(url, tmp_path):
    done = newsbot(url, "--since", "120d", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["searches"] == 0
    assert done.stderr.strip() == (
        "newsbot: searches cover only the last 90 days: older ones are deleted"
    )
    table = newsbot(url, "--since", "120d", cwd=tmp_path)
    assert "searches (the last 90 days only)" in table.stdout
    assert table.stderr == ""
    assert "90 days" not in newsbot(url, "--since", "90d", cwd=tmp_path).stdout


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["--png", "-"], ["--json"], []], ids=["png", "json", "table"])
def test_output_to_a_full_disk_is_one_sentence(url, tmp_path, args):
    env = {**os.environ, "NEWSBOT_DATABASE_URL": url, "PYTHONPATH": str(REPO)}
    with open("/dev/full", "wb") as full:
        done = subprocess.run(
            [sys.executable, "-m", "bot", "stats", *args],
            cwd=tmp_path,
            env=env,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert done.returncode == 2
    assert done.stderr == "newsbot: cannot write the output (No space left on device)\n"


def test_png_dash_with_stdout_closed_is_one_sentence(url, tmp_path):
    env = {**os.environ, "NEWSBOT_DATABASE_URL": url, "PYTHONPATH": str(REPO)}
    command = f"exec {shlex.quote(sys.executable)} -m bot stats --png - >&-"
    done = subprocess.run(
        ["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert done.stderr == "newsbot: --png - writes the chart to stdout, which is closed\n"


def test_a_file_name_of_255_bytes_is_written(url, tmp_path):
    target = tmp_path / ("d" * 251 + ".png")
    done = newsbot(url, "--png", str(target), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert is_chart(target.read_bytes())
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
