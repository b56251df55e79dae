"""Input the user typed, as an attacker or a slip of the keyboard would type it.

`/news` filters and the CLI's `search` / `audit --since`: one sentence, never a
traceback. CLI tables: article text printed literally, nothing reaching the
terminal as markup or escape sequences. Git commits: a title is one line, and
a planted `.git` runs nothing.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
import tty
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from bot.app import SORRY
from bot.settings import Settings
from storage.db import Database, open_database
from storage.gitcommit import GitCommitError, commit_file, is_git_work_tree
from storage.models import Article, ReviewDecision
from storage.search import QueryError, parse_query, search
from storage.sync import sync
from storage.writeback import set_published
from tests.builders import git, git_repo, make_settings, news
from tests.slack_api import FakeSlack

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TOKYO = ZoneInfo("Asia/Tokyo")
HELP = ". Type /news help for the filters."

OUT_OF_RANGE = "is out of range: heat filters go from heat>=-2147483648 to heat>=2147483647"
NOT_A_NUMBER = "needs a whole number, as in heat>=50"
TOO_EARLY = "reaches back before 1900-01-01: use a later date, as in since:2026-11-01"
NOT_A_DATE = "is not a date: use since:7d, since:12h or since:2026-11-01"

# What each refused filter answers, word for word, with NEWSBOT_TIMEZONE=Asia/Tokyo.
REFUSED = [
    ("heat>=--5", f"`heat>=--5` {NOT_A_NUMBER}"),
    ("heat>=²", f"`heat>=²` {NOT_A_NUMBER}"),
    ("heat>=٣", f"`heat>=٣` {NOT_A_NUMBER}"),
    ("heat>=５０", f"`heat>=５０` {NOT_A_NUMBER}"),
    ("heat>=", f"`heat>=` {NOT_A_NUMBER}"),
    ("HEAT>1e3", f"`HEAT>1e3` {NOT_A_NUMBER}"),
    ("heat>=18446744073709551616", f"`heat>=18446744073709551616` {OUT_OF_RANGE}"),
    ("heat>=-2147483649", f"`heat>=-2147483649` {OUT_OF_RANGE}"),
    ("heat>2147483647", f"`heat>2147483647` {OUT_OF_RANGE}"),
    ("heat>=" + "9" * 5000, f"`heat>={'9' * 33}…` {OUT_OF_RANGE}"),
    ("ai provider:", "`provider:` needs a domain, as in provider:reuters.com"),
    ("Provider:www.", "`Provider:www.` needs a domain, as in provider:reuters.com"),
    ("since:0001-01-01", f"`since:0001-01-01` {TOO_EARLY}"),
    ("since:1899-12-31", f"`since:1899-12-31` {TOO_EARLY}"),
    ("since:99999d", f"`since:99999d` {TOO_EARLY}"),
    ("since:99999w", f"`since:99999w` {TOO_EARLY}"),
    ("since:9999999999h", f"`since:9999999999h` {TOO_EARLY}"),
    ("since:" + "9" * 5000 + "h", f"`since:{'9' * 33}…` {TOO_EARLY}"),
    ("since:soon", f"`since:soon` {NOT_A_DATE}"),
    ("since:２０２６-１１-０１", f"`since:２０２６-１１-０１` {NOT_A_DATE}"),
    ("since:\u202eevil", f"`since:evil` {NOT_A_DATE}"),
]


# --- the parser -----------------------------------------------------------------


@pytest.mark.parametrize(("typed", "sentence"), REFUSED)
def test_each_bad_filter_is_one_sentence(typed: str, sentence: str) -> None:
    with pytest.raises(QueryError) as refused:
        parse_query(f"ai {typed} unpublished", now=NOW, tz=TOKYO)
    assert str(refused.value) == sentence


@pytest.mark.parametrize(
    ("typed", "min_heat", "since"),
    [
        ("heat>=2147483647", 2147483647, None),
        ("heat>=-2147483648", -2147483648, None),
        ("heat>2147483646", 2147483647, None),
        ("heat>=000000000000000000000000050", 50, None),
        ("since:1900-01-01", None, datetime(1899, 12, 31, 15, 0, tzinfo=UTC)),
        ("since:9999-12-31", None, datetime(9999, 12, 30, 15, 0, tzinfo=UTC)),
        ("since:36500d", None, datetime(1926, 12, 21, 12, 0, tzinfo=UTC)),
        ("since:0h", None, NOW),
    ],
)
def test_the_bounds_themselves_are_accepted(typed, min_heat, since) -> None:
    query = parse_query(typed, now=NOW, tz=TOKYO)
    assert (query.min_heat, query.since) == (min_heat, since)


FILTERISH = st.sampled_from(["heat>=", "heat>", "heat=", "since:", "provider:", "HEAT>=", ""])
TOKENS = st.builds(
    lambda prefix, rest: prefix + rest,
    FILTERISH,
    st.one_of(st.text(), st.from_regex(r"-{0,3}[0-9]{0,30}[dwh]?", fullmatch=True)),
)
TYPED = st.one_of(st.text(), st.lists(TOKENS, max_size=6).map(" ".join))
ZONES = st.sampled_from(["UTC", "Asia/Tokyo", "Pacific/Kiritimati", "Etc/GMT+12"]).map(ZoneInfo)


@given(typed=TYPED, tz=ZONES)
@example(typed="a" * 100_000, tz=ZoneInfo("UTC"))
@example(typed="\x00\x1b[31m\x07\x08\r\u2028 since:\x85 heat>=\x7f5", tz=ZoneInfo("UTC"))
@example(typed="since:0001-01-02", tz=ZoneInfo("Pacific/Kiritimati"))
def test_any_text_is_a_query_or_one_sentence(typed: str, tz: ZoneInfo) -> None:
    try:
        query = parse_query(typed, now=NOW, tz=tz)
    except QueryError as refused:
        sentence = str(refused)
        assert sentence and "\n" not in sentence and len(sentence) < 200
        return
    # Nothing the database would refuse (PostgreSQL takes no NUL) survives into a Query.
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in query.text)
    assert query.min_heat is None or -(2**31) <= query.min_heat < 2**31
    assert query.since is None or query.since.year >= 1899


@pytest.fixture
def indexed(db: Database, articles_dir: Path) -> Database:
    sync(db.WriteSession, articles_dir)
    return db


@hypothesis_settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(typed=TYPED)
@example(typed="ai\x00b provider:x\x00y")
@example(typed="heat>=2147483647 since:1900-01-01")
def test_every_query_the_parser_accepts_the_database_answers(indexed, typed: str) -> None:
    try:
        query = parse_query(typed, now=NOW, tz=TOKYO)
    except QueryError:
        return
    with indexed.Session() as session:
        page = search(session, query, limit=5)
    assert len(page.articles) <= 5


# --- /news through the real Bolt app ------------------------------------------------


@pytest.fixture
def settings(slack: FakeSlack, database_url: str, articles_dir: Path) -> Settings:
    """The `app` of every test, in Tokyo, on SQLite and on PostgreSQL when configured."""
    return make_settings(slack, database_url, articles_dir, NEWSBOT_TIMEZONE="Asia/Tokyo")


def ask(app, slack: FakeSlack, text: str) -> dict:
    reply = news(app, slack, text)
    assert slack.block_kit_violations == []
    assert reply["response_type"] == "ephemeral"
    return reply


@pytest.mark.parametrize(("typed", "sentence"), [r for r in REFUSED if len(r[0]) < 100])
def test_news_answers_a_bad_filter_in_one_sentence(app, slack, typed, sentence) -> None:
    reply = ask(app, slack, f"ai {typed}")
    # As Slack shows it: the reply is mrkdwn, with &, < and > escaped.
    shown = reply["text"].replace("&gt;", ">").replace("&lt;", "<").replace("&amp;", "&")
    assert shown == sentence + HELP


@hypothesis_settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(typed=TYPED)
@example(typed="\x00ai\x1b]8;;https://evil.example\x07 heat>=\x00")
@example(typed="topics\x00")
def test_news_answers_any_text(app, slack, typed: str) -> None:
    reply = ask(app, slack, typed)
    assert SORRY not in reply["text"]


# --- CLI: refused filters ------------------------------------------------------------


def newsbot(*args: str, database_url: str, cwd: Path, tty_out: bool = False, **env: str):
    """Run `python -m bot ARGS`; (exit code, stdout bytes, stderr text)."""
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "NEWSBOT_DATABASE_URL": database_url,
        "NEWSBOT_TIMEZONE": "Asia/Tokyo",
        "TERM": "xterm-256color",
        **env,
    }
    command = [sys.executable, "-m", "bot", *args]
    if not tty_out:
        result = subprocess.run(command, cwd=cwd, env=environ, capture_output=True, timeout=60)
        return result.returncode, result.stdout, result.stderr.decode()
    # A pseudo-terminal, raw so that the bytes read are exactly the bytes printed,
    # and wide enough that no title wraps: rich takes its terminal path.
    leader, follower = pty.openpty()
    tty.setraw(follower)
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 400, 0, 0))
    with subprocess.Popen(
        command,
        cwd=cwd,
        env=environ,
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=subprocess.PIPE,
    ) as proc:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        err = proc.stderr.read().decode()
        proc.wait(timeout=60)
    os.close(leader)
    return proc.returncode, b"".join(chunks), err


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (["search", "ai", "heat>=--5"], f"`heat>=--5` {NOT_A_NUMBER}"),
        (["search", "ai", "heat>=²"], f"`heat>=²` {NOT_A_NUMBER}"),
        (["search", "heat>=99999999999999999999"], f"`heat>=99999999999999999999` {OUT_OF_RANGE}"),
        (["search", "ai", "since:0001-01-01"], f"`since:0001-01-01` {TOO_EARLY}"),
        (["search", "since:99999d"], f"`since:99999d` {TOO_EARLY}"),
        (
            ["audit", "--since", "0001-01-01"],
            "`--since 0001-01-01` reaches back before 1900-01-01: use a later date, "
            "as in --since 2026-11-01",
        ),
        (
            ["audit", "--since", "99999999999999999999h"],
            "`--since 99999999999999999999h` reaches back before 1900-01-01: use a later date, "
            "as in --since 2026-11-01",
        ),
        (
            ["audit", "--since", "soon\x1b[31m"],
            "`--since soon [31m` is not a date: use --since 7d, --since 12h or --since 2026-11-01",
        ),
        (
            ["digest", "--channel", "C1", "--date", "0001-01-01", "--dry-run"],
            "--date '0001-01-01' is out of range: use a date from 1900-01-01 to 9998-12-31",
        ),
        (
            ["digest", "--channel", "C1", "--date", "9999-12-31", "--dry-run"],
            "--date '9999-12-31' is out of range: use a date from 1900-01-01 to 9998-12-31",
        ),
        (
            ["search", "ai", "--limit", "99999999999999999999"],
            "argument --limit: expected a whole number from 1 to 1000000000, "
            "got '99999999999999999999'",
        ),
    ],
)
def test_cli_answers_a_bad_filter_in_one_sentence(tmp_path, articles_dir, args, sentence) -> None:
    url = f"sqlite:///{tmp_path / 'n.db'}"
    db = open_database(url)
    sync(db.WriteSession, articles_dir)
    db.dispose()
    code, out, err = newsbot(*args, database_url=url, cwd=tmp_path)
    assert (code, out) == (2, b"")
    if sentence.startswith("argument "):  # argparse's own format: usage, then the error
        assert err.splitlines()[-1] == f"newsbot {args[0]}: error: {sentence}"
    else:
        assert err == f"newsbot: {sentence}\n"


# --- CLI: tables print article text literally ----------------------------------------

# YAML double-quoted escapes, so the file itself is plain text.
HOSTILE_TITLE = (
    r"\e[31mRED\e[0m \e]8;;https://evil.example/osc\aOSC\e]8;;\a"
    r" [/b] [link=https://evil.example/markup]click[/link] :smile:"
    r" back\bspace carriage\rreturn bell\a \u202eevil\u202c \x9b31m del\x7f end"
)
HOSTILE_TOPIC = r"\e[32mTopic [b]x[/b] \e]0;retitled\a"
HOSTILE_REVIEWER = "Mallory \x1b[2J\x1b]8;;https://evil.example/name\x07[i]x[/i]\u2067"
# What the table shows instead: the same text, its controls gone, every bracket kept.
SHOWN = [
    "[31mRED[0m ]8;;https://evil.example/oscOSC]8;; [/b] [link=https://evil.example/markup]"
    "click[/link] :smile: backspace carriage return bell evil 31m del end"
]


@pytest.fixture
def hostile_db(tmp_path: Path) -> str:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "hostile.md").write_text(
        "---\n"
        f'title: "{HOSTILE_TITLE}"\n'
        'webUrl: "https://news.example/hostile"\n'
        "heat: 90\n"
        f'topics: ["{HOSTILE_TOPIC}", "AI"]\n'
        "publishedDateTime: 2026-11-25T10:00:00Z\n"
        "---\n"
    )
    url = f"sqlite:///{tmp_path / 'n.db'}"
    db = open_database(url)
    report = sync(db.WriteSession, folder)
    assert report.failed == 0
    with db.WriteSession() as session, session.begin():
        article = session.query(Article).one()
        assert "\x1b[31m" in article.title  # the parser keeps the text as written
        session.add(
            ReviewDecision(
                article_id=article.id,
                action="reject",
                reviewer_id="U0MALLORY",
                reviewer_name=HOSTILE_REVIEWER,
                old_value="false",
                new_value="true",
                channel_id="C123",
                message_ts="1764150000.000100",
                decided_at=datetime.now(UTC),
            )
        )
    db.dispose()
    return url


def assert_only_text(out: bytes) -> None:
    # ESC (colours, OSC 8 links, window titles), BEL, backspace, CR, DEL, C1 and
    # bidi overrides as UTF-8: none of them, from the data or from rich.
    forbidden = [b"\x1b", b"\x07", b"\x08", b"\r", b"\x7f", "\x9b".encode(), "\u202e".encode()]
    assert [f for f in forbidden if f in out] == []


@pytest.mark.parametrize("on_a_terminal", [False, True], ids=["piped", "pty"])
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["search", "ai"], SHOWN),
        (["search", "--topics"], ["[32mTopic [b]x[/b] ]0;retitled"]),
        (["audit", "--since", "7d"], [*SHOWN, "Mallory [2J]8;;https://evil.example/name[i]x[/i]"]),
    ],
    ids=["search", "topics", "audit"],
)
def test_tables_print_article_text_literally(tmp_path, hostile_db, args, expected, on_a_terminal):
    code, out, err = newsbot(*args, database_url=hostile_db, cwd=tmp_path, tty_out=on_a_terminal)
    assert (code, err) == (0, "")
    assert_only_text(out)
    text = out.decode()
    for fragment in expected:
        assert fragment in text


def test_json_lines_are_exact_and_print_no_control_character(tmp_path, hostile_db) -> None:
    code, out, err = newsbot("search", "ai", "--json", database_url=hostile_db, cwd=tmp_path)
    assert (code, err) == (0, "")
    assert_only_text(out)
    (line,) = out.decode().splitlines()
    title = json.loads(line)["title"]
    assert title.startswith("\x1b[31mRED\x1b[0m \x1b]8;;https://evil.example/osc\x07OSC")
    assert "\u202eevil\u202c \x9b31m del\x7f end" in title
    code, out, err = newsbot("search", "--topics", "--json", database_url=hostile_db, cwd=tmp_path)
    assert_only_text(out)
    topics = {json.loads(line)["topic"] for line in out.decode().splitlines()}
    assert "\x1b[32mTopic [b]x[/b] \x1b]0;retitled\x07" in topics


# --- git: one-line subjects and a .git that runs nothing --------------------------------

ARTICLE = b'---\ntitle: "Harbor"\npublished: false\n---\n'
APPROVED = {"Approved-by": "Jane Doe <U123>"}


def trailers_of(repo: Path) -> str:
    """The trailers git itself finds in HEAD's message (parsed outside the repository)."""
    message = git(repo, "log", "-1", "--format=%B")
    return subprocess.run(
        ["git", "interpret-trailers", "--parse"],
        input=message,
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
    ).stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    (root / "a.md").write_bytes(ARTICLE)
    git_repo(root, monkeypatch)
    set_published(root / "a.md", True)
    return root


@pytest.mark.parametrize(
    "brk", ["\n", "\r\n", "\r", "\v", "\f", "\x1c", "\x85", "\u2028", "\u2029", "\x00"]
)
def test_a_title_cannot_forge_a_trailer(repo: Path, brk: str) -> None:
    title = f"Harbor{brk}{brk}Approved-by: Mallory <U666>{brk}Signed-off-by: Mallory <m@x>"
    commit_file(repo, repo / "a.md", message=f"Publish: {title}", trailers=APPROVED)
    assert trailers_of(repo) == "Approved-by: Jane Doe <U123>\n"
    assert git(repo, "log", "-1", "--format=%s").strip() == (
        "Publish: Harbor Approved-by: Mallory <U666> Signed-off-by: Mallory <m@x>"
    )


def test_a_title_that_looks_like_a_trailer_stays_the_subject(repo: Path) -> None:
    commit_file(repo, repo / "a.md", message="Approved-by: Mallory <U666>", trailers=APPROVED)
    assert trailers_of(repo) == "Approved-by: Jane Doe <U123>\n"


def plant(repo: Path, markers: Path) -> dict[str, Path]:
    """Hooks, an fsmonitor, a signing program and trailer commands that leave a marker."""
    markers.mkdir()
    scripts = repo / ".git" / "planted"
    scripts.mkdir()

    def script(name: str, status: int = 0) -> Path:
        path = scripts / name
        path.write_text(f"#!/bin/sh\necho ran >> '{markers / name}'\nexit {status}\n")
        path.chmod(0o755)
        return path

    hooks = repo / ".git" / "hooks"
    for hook in (
        "pre-commit",
        "prepare-commit-msg",
        "commit-msg",
        "post-commit",
        "reference-transaction",
        "post-index-change",
    ):
        target = hooks / hook
        target.write_text(script(hook).read_text())
        target.chmod(0o755)
    git(repo, "config", "core.fsmonitor", str(script("fsmonitor", 1)))
    git(repo, "config", "commit.gpgSign", "true")
    git(repo, "config", "gpg.program", str(script("gpg", 1)))
    git(repo, "config", "trailer.approved.key", "Approved-by")
    git(repo, "config", "trailer.approved.command", str(script("trailer-command")))
    git(repo, "config", "trailer.approved.cmd", str(script("trailer-cmd")))
    git(repo, "config", "core.editor", str(script("editor")))
    git(repo, "config", "core.pager", str(script("pager")))
    git(repo, "config", "core.sshCommand", str(script("ssh")))
    return {p.name: markers / p.name for p in scripts.iterdir()}


def test_a_planted_git_folder_runs_nothing(repo: Path, tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    planted = plant(repo, markers)

    assert is_git_work_tree(repo)
    sha = commit_file(repo, repo / "a.md", message="Publish: Harbor", trailers=APPROVED)

    assert sorted(markers.iterdir()) == []
    assert git(repo, "rev-parse", "HEAD").strip() == sha
    assert trailers_of(repo) == "Approved-by: Jane Doe <U123>\n"
    assert git(repo, "log", "-1", "--format=%G?").strip() == "N"  # not signed

    # The same repository, committed to by plain git: every planted command is real.
    (repo / "b.md").write_bytes(ARTICLE)
    subprocess.run(["git", "-C", str(repo), "add", "b.md"], capture_output=True, check=False)
    subprocess.run(
        ["git", "-C", str(repo), "commit", "-q", "-m", "x"], capture_output=True, check=False
    )
    subprocess.run(
        ["git", "-C", str(repo), "interpret-trailers", "--trailer", "Approved-by: x"],
        input="x\n",
        capture_output=True,
        text=True,
        check=False,
    )
    for name in ("pre-commit", "fsmonitor", "gpg", "trailer-cmd", "post-index-change"):
        assert planted[name].exists(), name


@pytest.mark.parametrize(
    ("where", "driver"),
    [
        (".gitattributes", "evil"),
        (".git/info/attributes", "evil"),
        # What `git check-attr` prints for an attribute in those states, as driver names.
        (".gitattributes", "unspecified"),
        (".gitattributes", "unset"),
        (".gitattributes", "set"),
    ],
)
def test_a_filter_attribute_is_refused_and_never_run(repo: Path, tmp_path: Path, where, driver):
    marker = tmp_path / "filtered"
    git(repo, "config", f"filter.{driver}.clean", f"sh -c 'echo ran > {marker}; cat'")
    attributes = repo / where
    attributes.parent.mkdir(exist_ok=True)
    attributes.write_text(f"*.md filter={driver}\n")
    head = git(repo, "rev-parse", "HEAD")

    with pytest.raises(GitCommitError) as refused:
        commit_file(repo, repo / "a.md", message="Publish: Harbor", trailers=APPROVED)

    assert str(refused.value) == (
        f"a.md has the git attribute filter={driver}, whose command newsbot will not run: "
        "commit it by hand"
    )
    assert not marker.exists()
    assert git(repo, "rev-parse", "HEAD") == head
    subprocess.run(["git", "-C", str(repo), "add", "a.md"], capture_output=True, check=False)
    assert marker.exists()  # plain git would have run it
