"""What every `newsbot` command shares (bot/cli/__init__.py): a mistake the user can fix is
one sentence on stderr and exit 2, never a traceback and never a password."""

import os
import subprocess
import sys

import pytest

from tests.builders import run_newsbot


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
    result = run_newsbot(*args, env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "s3cret" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    "args", [["stats", "--since", "366d"], ["stats", "--json"], ["search", "--topics"], ["--help"]]
)
def test_a_reader_that_went_away_ends_the_command_quietly(tmp_path, args):
    """`newsbot stats | head -1`: the pipe's reader is gone before the first write."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    env = {"PATH": "/usr/bin:/bin", "NEWSBOT_DATABASE_URL": f"sqlite:///{tmp_path}/n.db"}
    with os.fdopen(write_end, "wb") as stdout:
        result = subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=tmp_path,
            env=env,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert result.stderr == ""
