"""The `newsbot` command line, through its real entry point."""

import json
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot.cli import main

REPO = Path(__file__).resolve().parents[3]
CAMERAS_TITLE = "Harbor City Lets AI Cameras Time Its Traffic Lights, and Commutes Got Shorter"


@pytest.fixture
def env(monkeypatch, database_url, articles_dir):
    monkeypatch.setenv("NEWSBOT_DATABASE_URL", database_url)
    monkeypatch.setenv("NEWSBOT_ARTICLES_DIR", str(articles_dir))
    monkeypatch.chdir(articles_dir.parent)
    return articles_dir


def test_index_prints_counts_and_search_finds(env, capsys):
    assert main(["index"]) == 0
    out = capsys.readouterr().out
    assert "5 added, 0 updated, 0 unchanged, 0 missing, 0 failed" in out
    assert main(["index"]) == 0
    assert "0 added, 0 updated, 5 unchanged" in capsys.readouterr().out

    assert main(["search", "computer", "vision", "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line) for line in lines] == [
        {
            "url": "https://www.harborcityherald.com/story/ai-traffic-cameras-pilot-results-4821907",
            "title": CAMERAS_TITLE,
            "topics": ["Computer Vision", "AI", "Transportation"],
            "heat": 82,
            "quality": 71,
            "published": True,
            "publishedDateTime": "2026-11-26T08:15:00Z",
            "provider": {"name": "Harbor City Herald", "domain": "harborcityherald.com"},
        }
    ]


def test_search_table_and_topics(env, capsys):
    main(["index"])
    capsys.readouterr()
    assert main(["search", "privacy"]) == 0
    assert "Voter Roll" in capsys.readouterr().out
    assert main(["search", "--topics", "--json"]) == 0
    topics = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {"topic": "AI", "count": 1} in topics and len(topics) == 13


def test_strict_fails_on_a_bad_file_and_names_it(env, capsys):
    (env / "broken.md").write_text("---\ntitle: x\nwebUrl: https://x.example/1\nheat: hot\n---\n")
    assert main(["index"]) == 0
    assert "failed: broken.md: field heat: expected integer, got 'hot'" in capsys.readouterr().out
    assert main(["index", "--strict"]) == 1


def test_bad_filter_is_one_sentence(env, capsys):
    main(["index"])
    assert main(["search", "ai", "since:soon"]) == 2
    assert capsys.readouterr().err.strip() == (
        "newsbot: `since:soon` is not a date: use since:7d, since:12h or since:2026-11-01"
    )


@pytest.mark.parametrize(
    ("args", "env_vars", "message"),
    [
        (["index", "/does/not/exist"], {}, "the articles folder /does/not/exist does not exist"),
        (["search", "ai"], {"NEWSBOT_DATABASE_URL": "sqlite:////no/such/dir/x.db"}, "cannot open"),
        (["search", "ai"], {"NEWSBOT_DATABASE_URL": "not a url"}, "NEWSBOT_DATABASE_URL"),
        (
            ["index", "."],
            {"NEWSBOT_DATABASE_URL": "postgresql://newsbot:s3cret@db:port/news"},
            "NEWSBOT_DATABASE_URL: 'postgresql://newsbot:***@db:port/news' is not a database URL",
        ),
        (
            ["index", "."],
            {"NEWSBOT_DATABASE_URL": "postgresql://newsbot:s3cret@127.0.0.1:9/news"},
            "cannot open the database postgresql://newsbot:***@127.0.0.1:9/news",
        ),
        (
            ["search", "ai"],
            {"NEWSBOT_DATABASE_URL": "mysql://newsbot:s3cret@db/news"},
            "NEWSBOT_DATABASE_URL: cannot use 'mysql://newsbot:***@db/news'",
        ),
        (["search", "ai"], {"NEWSBOT_TIMEZONE": "Mars/Olympus"}, "NEWSBOT_TIMEZONE"),
        (["search"], {}, "give search terms"),
    ],
)
def test_user_mistakes_exit_non_zero_without_a_traceback(tmp_path, args, env_vars, message):
    env = {"PATH": "/usr/bin:/bin", "NEWSBOT_DATABASE_URL": f"sqlite:///{tmp_path}/n.db"}
    env.update(env_vars)
    result = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "s3cret" not in result.stderr + result.stdout


def test_watch_reindexes_when_a_file_changes(tmp_path, articles_dir):
    env = {"PATH": "/usr/bin:/bin", "NEWSBOT_DATABASE_URL": f"sqlite:///{tmp_path}/n.db"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "index", str(articles_dir), "--watch"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()

    def next_line() -> str:
        return lines.get(timeout=30)

    try:
        assert "5 added" in next_line()
        assert next_line().startswith("watching")
        path = next(articles_dir.rglob("zurich-heat-pump-subsidy.md"))
        path.write_text(path.read_text().replace("heat: 71", "heat: 72"))
        assert "0 added, 1 updated, 4 unchanged" in next_line()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert proc.returncode == 0
