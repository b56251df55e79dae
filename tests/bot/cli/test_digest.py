"""`newsbot digest`: a dry run prints what would be posted; two at once post it once."""

from bot.cli import main
from tests.builders import DIGEST_CHANNEL, newsbot_env, start_newsbot


def test_dry_run_prints_blocks_and_posts_nothing(digest, slack, monkeypatch, capsys):
    settings, _db = digest
    monkeypatch.setenv("NEWSBOT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("NEWSBOT_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("SLACK_API_URL", slack.api_url)
    assert main(["digest", "--channel", DIGEST_CHANNEL, "--date", "2026-11-26", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Story s0" in out and "https://app.slack.com/block-kit-builder/#" in out
    assert slack.calls_to("chat.postMessage") == []


def test_two_processes_at_once_post_one_digest(digest, slack, tmp_path):
    settings, _db = digest
    env = newsbot_env(settings)
    procs = [start_newsbot("digest", "--date", "2026-11-26", env=env, cwd=tmp_path) for _ in "ab"]
    outputs = [p.communicate(timeout=60)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert sum("already posted" in o for o in outputs) == 1, outputs
