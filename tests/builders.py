"""What the tests build, in one place: articles (as storage hands them over, and as files),
indexed databases, settings, clicks and Slack's retries through the real app, `/news`,
git repositories, and `newsbot` itself in a subprocess.

    reply = news(app, slack, "review")
    replies = click(app, slack, reply, actions.REVIEW_PUBLISH, article_id(db, VOTER_FILE))
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_bolt import App
from sqlalchemy import select

from bot.settings import Settings
from storage.db import Database, open_database
from storage.models import Article, ReviewDecision
from storage.sync import sync
from storage.types import ArticleView, Image
from tests.slack_api import BOT_TOKEN, Call, FakeSlack
from tests.slack_requests import SIGNING_SECRET, SlackRequest, block_action, sign, slash_command

REPO = Path(__file__).resolve().parents[1]
#: The reviewer of `make_settings`; the `slack` fixture (tests/conftest.py) calls them "rita".
REVIEWER = "U0REVIEW"
#: "Now" for articles built here: their ages are counted from it.
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
#: Paths of examples/articles inside a copy of it (the `articles_dir` fixture).
VOTER_FILE = "2026/11/voter-roll-privacy-audit.md"
ZURICH_FILE = "2026/11/zurich-heat-pump-subsidy.md"
HARBOR_FILE = "2026/11/harbor-city-tests-ai-traffic-cameras.md"


# --- articles as the renderers get them ------------------------------------------------


def article(n: int | None = None, **changes: Any) -> ArticleView:
    """An article as storage hands it over; any field can be changed.

    Without `n`, the voter-roll draft (id 7, with an image). With `n`, the n-th of a
    series: "Story number n", n hours before NOW, heat 90 - n, published when n is even.
    """
    if n is None:
        fields: dict[str, Any] = {
            "id": 7,
            "web_url": "https://www.lakeviewledger.com/politics/5530871/voter-roll-privacy-audit",
            "title": "State Auditor Finds Voter Roll Exports Shared Birth Dates With Vendors",
            "excerpt": "The audit covers four years of data requests.",
            "published_at": datetime(2026, 11, 26, 3, 40, tzinfo=UTC),  # Nov 25 in New York
            "provider_name": "Lakeview Ledger",
            "provider_domain": "lakeviewledger.com",
            "topics": ("Privacy", "Elections"),
            "heat": 57,
            "quality": 48,
            "images": (Image(url="https://cdn.lakeviewledger.com/a.jpg?w=1&h=2", title="Voters"),),
            "fingerprint": "c0ffee",
        }
    else:
        fields = {
            "id": n,
            "web_url": f"https://news.example.com/story/{n}",
            "title": f"Story number {n}",
            "excerpt": "An excerpt.",
            "published_at": NOW - timedelta(hours=n),
            "provider_name": "Example News",
            "topics": ("AI",),
            "heat": 90 - n,
            "quality": 50,
            "published": n % 2 == 0,
            "images": (Image(url=f"https://cdn.example.com/{n}.jpg"),),
            "fingerprint": f"fp{n}",
        }
    return ArticleView(**(fields | changes))


# --- articles as files, and databases with them indexed ---------------------------------


def article_text(body: str = "", **fields: Any) -> str:
    """An article file: `fields` as YAML frontmatter (datetimes as ISO 8601 in UTC), then `body`."""
    values = {
        key: value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if isinstance(value, datetime)
        else value
        for key, value in fields.items()
    }
    frontmatter = yaml.safe_dump(values, sort_keys=False, allow_unicode=True, width=10**9)
    return f"---\n{frontmatter}---\n{body}"


def write_article(folder: Path, name: str, body: str = "", **fields: Any) -> Path:
    """`folder/NAME.md`, titled "Story NAME" at https://news.example/NAME unless `fields` say."""
    fields = {"title": f"Story {name}", "webUrl": f"https://news.example/{name}", **fields}
    path = folder / f"{name}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(article_text(body, **fields), encoding="utf-8")
    return path


@contextlib.contextmanager
def indexed(database_url: str, folder: Path) -> Iterator[Database]:
    """The database at `database_url`, migrated, with `folder` indexed; disposed afterwards."""
    db = open_database(database_url)
    try:
        sync(db.WriteSession, folder)
        yield db
    finally:
        db.dispose()


def article_row(db: Database, source_path: str) -> Article:
    """The row of the article indexed from `source_path` (relative to the articles folder)."""
    with db.Session() as session:
        return session.scalars(select(Article).where(Article.source_path == source_path)).one()


def article_id(db: Database, source_path: str) -> int:
    return article_row(db, source_path).id


def decision_records(db: Database) -> list[tuple[str, str, str]]:
    """Every review decision recorded, oldest first: (action, reviewer id, status)."""
    with db.Session() as session:
        return [
            (d.action, d.reviewer_id, d.status)
            for d in session.scalars(select(ReviewDecision).order_by(ReviewDecision.id))
        ]


# --- the app's settings -----------------------------------------------------------------


def make_settings(slack: FakeSlack, database_url: str, articles: Path, **env: str) -> Settings:
    """Settings against the Slack stand-in, with REVIEWER as the reviewer unless `env` says."""
    return Settings.from_env(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "NEWSBOT_DATABASE_URL": database_url,
            "NEWSBOT_ARTICLES_DIR": str(articles),
            "NEWSBOT_REVIEWERS": REVIEWER,
            **env,
        }
    )


# --- the daily digest ------------------------------------------------------------------

DIGEST_CHANNEL = "C0DIGEST"
DIGEST_DAY = date(2026, 11, 26)
DIGEST_DUE = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)  # 09:00 in Berlin, on DIGEST_DAY


def digest_settings(slack: FakeSlack, database_url: str, folder: Path, **env: str) -> Settings:
    """`make_settings` that post the digest to DIGEST_CHANNEL at 09:00 in Berlin."""
    digest = {
        "NEWSBOT_DIGEST_CHANNEL": DIGEST_CHANNEL,
        "NEWSBOT_TIMEZONE": "Europe/Berlin",
        "NEWSBOT_DIGEST_TIME": "09:00",
    }
    return make_settings(slack, database_url, folder, **(digest | env))


def write_story(folder: Path, name: str, *, heat: int, hours_before: float = 2) -> Path:
    """A story of its own provider, with an image, published `hours_before` DIGEST_DUE."""
    return write_article(
        folder,
        name,
        heat=heat,
        publishedDateTime=DIGEST_DUE - timedelta(hours=hours_before),
        provider={"name": "P", "domain": f"{name}.example"},
        images=[{"url": "https://img.example/a.jpg?x=1&y=2", "title": "pic"}],
    )


# --- requests through the real app ------------------------------------------------------


def dispatch(app: App, slack: FakeSlack, request: SlackRequest, *, status: int = 200) -> list[dict]:
    """Hand `request` to the app as Slack would; what the app sent to response_urls meanwhile."""
    before = len(slack.calls_to("response_url"))
    assert app.dispatch(request.bolt_request()).status == status
    return [call.args for call in slack.calls_to("response_url")[before:]]


def news(app: App, slack: FakeSlack, text: str, *, status: int = 200, **fields: Any) -> dict:
    """`/news TEXT` (typed by U111 unless `user_id=`): the one reply sent to its response_url."""
    request = slash_command(text, response_url=slack.response_url(), **fields)
    (reply,) = dispatch(app, slack, request, status=status)
    return reply


def button(payload: dict, action_id: str, article_id: int | None = None) -> dict:
    """The one button `action_id` in a message or view (on article `article_id`'s card)."""
    return _button(payload, action_id, article_id)[1]


def _button(payload: dict, action_id: str, article_id: int | None) -> tuple[str, dict[str, Any]]:
    """(block_id, element) of the one button `action_id` (on article `article_id`'s card)."""
    card = f"card-actions:{article_id}"
    found = [
        (block.get("block_id", ""), element)
        for block in payload.get("blocks", [])
        if block.get("type") == "actions" and (article_id is None or block.get("block_id") == card)
        for element in block.get("elements", [])
        if element.get("action_id") == action_id
    ]
    on = f" on the card of article {article_id}" if article_id is not None else ""
    assert len(found) == 1, f"{len(found)} {action_id} buttons{on}, expected one"
    return found[0]


def click_request(
    slack: FakeSlack,
    payload: dict,
    action_id: str,
    article_id: int | None = None,
    *,
    user_id: str = REVIEWER,
    **fields: Any,
) -> SlackRequest:
    """What Slack sends when `user_id` clicks that button in `payload`.

    `payload` is a message (its blocks and text; its ts and channel when it has them, as a
    posted message does) or an App Home view. The user's name is the one the Slack stand-in
    knows. `fields` go to `block_action` (channel_id=, retry_num=...).
    """
    block_id, element = _button(payload, action_id, article_id)
    known = slack.users.get(user_id, {}).get("name", user_id)
    where: dict[str, Any]
    if payload.get("type") == "home":
        where = {"container_type": "view", "view": payload}
    else:
        where = {
            "message_blocks": payload["blocks"],
            "message_text": payload.get("text", ""),
            "response_url": slack.response_url(),
        }
        where |= {"message_ts": payload["ts"]} if "ts" in payload else {}
        where |= {"channel_id": payload["channel"]} if "channel" in payload else {}
    return block_action(
        action_id,
        element["value"],
        block_id=block_id,
        user_id=user_id,
        user_name=known,
        **(where | fields),
    )


def click(
    app: App,
    slack: FakeSlack,
    payload: dict,
    action_id: str,
    article_id: int | None = None,
    *,
    user_id: str = REVIEWER,
    **fields: Any,
) -> list[dict]:
    """Click that button through the app; what it sent to response_urls (see `click_request`)."""
    request = click_request(slack, payload, action_id, article_id, user_id=user_id, **fields)
    return dispatch(app, slack, request)


def replay(request: SlackRequest, retry_num: int = 1) -> SlackRequest:
    """The same delivery again, as Slack retries it: same body, fresh signature."""
    headers = sign(request.body, SIGNING_SECRET, content_type=request.content_type)
    headers |= {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
    return SlackRequest(body=request.body, headers=headers, payload=request.payload)


def posted(call: Call) -> dict:
    """A message the app posted, as a click in it later carries it: blocks, text, ts, channel."""
    return {
        "blocks": call.args["blocks"],
        "text": call.args["text"],
        "ts": call.response["ts"],
        "channel": call.response["channel"],
    }


def texts(payload: dict) -> str:
    """Every block of a payload as JSON, for looking for text in it."""
    return json.dumps(payload.get("blocks", []), ensure_ascii=False)


# --- git --------------------------------------------------------------------------------

# The test's own git calls stay clear of whatever a planted repository would run.
SAFE_GIT = ["-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "--no-pager"]


def git(repo: Path, *args: str, input: str | None = None, check: bool = True) -> str:
    """`git -C REPO ARGS`, its output."""
    return subprocess.run(
        ["git", *SAFE_GIT, "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=check,
        input=input,
    ).stdout


def git_repo(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`root` and what it holds as a git repository with one commit, under a git
    configuration of its own (the developer's signing, hooks and templates kept out)."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(root.parent / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(root.parent))
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Newsbot Test")
    git(root, "config", "user.email", "newsbot@example.com")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "Initial articles")
    return root


# --- newsbot in a subprocess ------------------------------------------------------------


def run_newsbot(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` with exactly `env`, run to its end."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_until_killed(script: Path, *args: str) -> None:
    """Run a helper script that SIGKILLs itself at the step its arguments name."""
    path = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, str(script), *args],
        env=os.environ | {"PYTHONPATH": path},
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def newsbot_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a `newsbot` process with these settings and the test credentials
    (no SLACK_APP_TOKEN: HTTP mode)."""
    env = {k: v for k, v in os.environ.items() if k != "SLACK_APP_TOKEN"}
    digest = {"NEWSBOT_DIGEST_CHANNEL": settings.digest_channel} if settings.digest_channel else {}
    return env | {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": settings.api_url,
        "NEWSBOT_DATABASE_URL": settings.database_url,
        "NEWSBOT_ARTICLES_DIR": str(settings.articles_dir),
        "NEWSBOT_TIMEZONE": str(settings.timezone),
        "NEWSBOT_DIGEST_TIME": settings.digest_time.strftime("%H:%M"),
        **digest,
        **extra,
    }


def serve_env(slack: FakeSlack, settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of `newsbot serve` against the Slack stand-in, in HTTP mode."""
    serve = {"SLACK_API_URL": slack.api_url, "NEWSBOT_REINDEX_MINUTES": "0"}
    return newsbot_env(settings, **(serve | {"PORT": str(free_port())} | extra))


def get(url: str) -> tuple[int, dict]:
    """GET `url`: the status and the JSON body (empty for an error status)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, {}


def wait_until_healthy(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    """Until `newsbot serve` on `port` answers /healthz with 200; fails if it exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = proc.stdout.read() if proc.stdout else ""
            pytest.fail(f"newsbot serve exited with {proc.returncode}: {output}")
        try:
            if get(f"http://127.0.0.1:{port}/healthz")[0] == 200:
                return
        except OSError:
            pass  # not listening yet
        time.sleep(0.1)
    pytest.fail(f"newsbot serve did not answer /healthz within {timeout:.0f} s")


# What Python itself does at start when SIGINT is not ignored. A background job's children
# (`make test &`) inherit SIGINT ignored, and Python leaves it so: Ctrl-C would do nothing.
_WITH_CTRL_C = (
    "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "runpy.run_module('bot', run_name='__main__', alter_sys=True)"
)


def start_newsbot(
    *args: str, env: dict[str, str], cwd: Path, ctrl_c: bool = False
) -> subprocess.Popen[str]:
    """`python -m bot ARGS` with exactly `env`, started; its output (stderr too) in a pipe.

    `ctrl_c`: SIGINT raises KeyboardInterrupt in it, however this suite was started."""
    launch = ["-c", _WITH_CTRL_C] if ctrl_c else ["-m", "bot"]
    return subprocess.Popen(
        [sys.executable, *launch, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@contextlib.contextmanager
def serving(
    slack: FakeSlack, settings: Settings, cwd: Path, **env: str
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`newsbot serve` over HTTP, answering: (its process, its /slack/events URL); killed after."""
    environ = serve_env(slack, settings, **env)
    port = int(environ["PORT"])
    proc = start_newsbot("serve", env=environ, cwd=cwd)
    try:
        wait_until_healthy(port, proc)
        yield proc, f"http://127.0.0.1:{port}/slack/events"
    finally:
        proc.kill()
        proc.wait(timeout=30)


def closed_port_url(credentials: str = "") -> str:
    """An API URL on a local port that refuses connections (bound, then closed): nothing
    is ever sent there. `credentials` ("user:password@") as a proxy's URL may carry them."""
    return f"http://{credentials}127.0.0.1:{free_port()}/api/"
