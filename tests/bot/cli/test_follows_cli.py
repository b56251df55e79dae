"""`newsbot follows` lists every channel's follows; `newsbot audit` lists who followed and
unfollowed what, beside the review decisions."""

from __future__ import annotations

import json

import pytest

from bot.cli import main
from storage.db import open_database
from storage.follows import add_follow, remove_follow, set_config_follow


@pytest.fixture
def env(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'newsbot.db'}"
    monkeypatch.setenv("NEWSBOT_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    db = open_database(url)
    with db.WriteSession.begin() as session:
        add_follow(session, channel="C1", typed="ai heat>=70", user_id="U111", user_name="jane")
        add_follow(session, channel="C1", typed="elections", user_id="U222", user_name="omar")
        add_follow(session, channel="C2", typed="\x1b[31mred\x1b[0m", user_id="U1", user_name="x")
        remove_follow(session, channel="C1", number=2, user_id="U333", user_name="lee")
        set_config_follow(session, channel="C3", query="unpublished heat>=60")
    db.dispose()
    return url


def test_follows_lists_every_channels_follows(env, capsys):
    assert main(["follows"]) == 0
    out = capsys.readouterr().out
    assert "C1" in out and "ai heat>=70" in out and "jane (U111)" in out
    assert "elections" not in out  # removed
    assert "C3" in out and "configuration" in out and "unpublished heat>=60" in out
    assert "\x1b" not in out  # terminal escapes in a query are not printed


def test_follows_as_json(env, capsys):
    assert main(["follows", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["channel"], r["number"], r["query"], r["source"]) for r in rows] == [
        ("C1", 1, "ai heat>=70", "user"),
        ("C2", 1, "[31mred [0m", "user"),  # control characters are separators, as in /news
        ("C3", 1, "unpublished heat>=60", "config"),
    ]


def test_no_follows_says_how_to_make_one(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NEWSBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    monkeypatch.chdir(tmp_path)
    assert main(["follows"]) == 0
    assert "/news follow QUERY" in capsys.readouterr().out


def test_audit_lists_follows_and_unfollows(env, capsys):
    assert main(["audit", "--since", "1d"]) == 0
    out = capsys.readouterr().out
    assert "no review decisions since" in out
    lines = [line for line in out.splitlines() if "follow" in line]
    assert any(
        "jane (U111)" in line and "ai heat>=70" in line and "C1 #1" in line for line in lines
    )
    assert any(
        "lee (U333)" in line and "unfollow" in line and "elections" in line for line in lines
    )
    assert any("configuration" in line and "C3 #1" in line for line in lines)
