"""Several machines, on one: two `newsbot serve` replicas in HTTP mode, each with its own
clone of the site's repository, one PostgreSQL database, one git remote.

    python -m tests.bot.flows.several_machines postgresql://postgres@127.0.0.1/test

runs the scenario in a fresh schema of that database (dropped afterwards) and a
temporary folder, prints what it checked, and exits 1 if a check failed. The
test `test_several_machines.py` runs the same scenario.

The scenario: concurrent Publish clicks on one article, one to each replica
(one publishes, the other answers "already published"); concurrent clicks on
two articles (both published); an edit pushed by someone else between a card
and its click (refused, with the fresh card); the remote gone for a while
(decisions kept, "pushing…", pushed by the next `newsbot index` of each
replica). Then: exactly one commit per decision on the remote, a linear
history, every file's `published:` what the database says, and every
`secured` value byte for byte what it was.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import create_engine, select, text

from storage.db import Database, open_database
from storage.models import Article, DecisionCommit, ReviewDecision
from storage.parse import parse_bytes
from tests.bot.flows.git_site import NEWS, Site, git, git_environment
from tests.builders import free_port
from tests.corpus import make_articles
from tests.slack_api import BOT_TOKEN, FakeSlack
from tests.slack_requests import SIGNING_SECRET, block_action, slash_command

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples" / "articles"
REVIEWER = "U0REVIEW"
# A secured value runs from its key to the next top-level key or the closing fence.
SECURED = re.compile(rb"^secured:.*?(?=^[^\s]|^---)", re.MULTILINE | re.DOTALL)


@dataclass
class Replica:
    name: str
    clone: Path
    port: int
    env: dict[str, str]
    proc: subprocess.Popen[str] | None = None
    output: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    @property
    def articles(self) -> Path:
        return self.clone / NEWS


@dataclass
class Scenario:
    """The desk: the remote, the replicas, the Slack stand-in, the shared database."""

    workdir: Path
    database_url: str
    slack: FakeSlack
    site: Site
    replicas: list[Replica]
    db: Database
    checks: list[str] = field(default_factory=list)

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            raise AssertionError(what)
        self.checks.append(what)

    # -- the database -----------------------------------------------------------------

    def article_id(self, rel: str) -> int:
        with self.db.Session() as session:
            found = session.scalar(select(Article.id).where(Article.source_path == rel))
            assert found is not None, rel
            return found

    def article(self, rel: str) -> Article:
        with self.db.Session() as session:
            row = session.scalar(select(Article).where(Article.source_path == rel))
            assert row is not None, rel
            session.expunge(row)
            return row

    # -- Slack ------------------------------------------------------------------------

    def queue(self, replica: Replica) -> dict:
        """`/news review` on a replica: the ephemeral queue with its cards."""
        response_url = self.slack.response_url()
        status, _ = slash_command("review", response_url=response_url).post(replica.url)
        assert status == 200
        (reply,) = self.replies(response_url, lambda rs: bool(rs))
        return reply

    def click_request(self, payload: dict, rel: str) -> tuple[object, str]:
        article_id = self.article_id(rel)
        element = next(
            e
            for b in payload["blocks"]
            if b.get("block_id") == f"card-actions:{article_id}"
            for e in b["elements"]
            if e["action_id"] == "review_publish"
        )
        response_url = self.slack.response_url()
        request = block_action(
            "review_publish",
            element["value"],
            user_id=REVIEWER,
            user_name="rita",
            message_blocks=payload["blocks"],
            message_text=payload.get("text", ""),
            response_url=response_url,
        )
        return request, response_url

    def click_all(self, clicks: list[tuple[Replica, dict, str]]) -> list[list[dict]]:
        """Publish clicks sent together, each to its replica; the replies to each."""
        requests = [(r, *self.click_request(p, rel)) for r, p, rel in clicks]
        barrier = threading.Barrier(len(requests))
        statuses: list[int] = []

        def send(replica: Replica, request: object) -> None:
            barrier.wait()
            statuses.append(request.post(replica.url)[0])  # type: ignore[attr-defined]

        threads = [threading.Thread(target=send, args=(r, req)) for r, req, _ in requests]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert statuses == [200] * len(requests), statuses
        return [self.replies(url, _answered) for _r, _req, url in requests]

    def replies(self, response_url: str, done: object, timeout: float = 30) -> list[dict]:
        """What was sent to `response_url`, once `done(replies)` holds."""
        path = urlsplit(response_url).path
        deadline = time.monotonic() + timeout
        while True:
            got = [c.args for c in self.slack.calls_to("response_url") if c.args["_url"] == path]
            if done(got):  # type: ignore[operator]
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"no complete answer at {path} within {timeout} s: {got}")
            time.sleep(0.05)

    # -- processes ----------------------------------------------------------------------

    def start(self, replica: Replica) -> None:
        cwd = self.workdir / f"cwd-{replica.name}"
        cwd.mkdir(exist_ok=True)
        replica.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            cwd=cwd,
            env=replica.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=_drain, args=(replica,), daemon=True).start()

    def wait_healthy(self, replica: Replica, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert replica.proc is not None
            if replica.proc.poll() is not None:
                raise AssertionError(f"{replica.name} exited: {''.join(replica.output)}")
            try:
                url = f"http://127.0.0.1:{replica.port}/healthz"
                with urllib.request.urlopen(url, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"{replica.name} did not answer /healthz within {timeout} s")

    def stop(self, replica: Replica) -> int:
        assert replica.proc is not None
        replica.proc.send_signal(signal.SIGTERM)
        return replica.proc.wait(timeout=30)

    def index(self, replica: Replica) -> str:
        """`newsbot index` on the command line, in the replica's clone."""
        done = subprocess.run(
            [sys.executable, "-m", "bot", "index"],
            cwd=self.workdir / f"cwd-{replica.name}",
            env=replica.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise AssertionError(f"newsbot index on {replica.name}: {done.stderr}")
        return done.stdout + done.stderr


def _drain(replica: Replica) -> None:
    assert replica.proc is not None and replica.proc.stdout is not None
    for line in replica.proc.stdout:
        replica.output.append(line)


def _answered(replies: list[dict]) -> bool:
    """Whether a click's answer is complete: its card, after a notice when there is one."""
    said = json.dumps(replies, ensure_ascii=False)
    if "Already published" in said or "the article changed upstream" in said:
        return len(replies) >= 2
    return "Published by" in said


@contextmanager
def desk(workdir: Path, database_url: str) -> Iterator[Scenario]:
    """A remote seeded with articles, two clones, two `newsbot serve`, the Slack stand-in."""
    source = workdir / "source"
    shutil.copytree(EXAMPLES, source)
    make_articles.main([str(source / "corpus"), "--count", "20", "--seed", "13"])
    site = Site(workdir, source)
    with FakeSlack() as slack:
        slack.add_user(REVIEWER, "rita", "Rita Reviewer")
        replicas = []
        for name in ("a", "b"):
            clone = site.clone(f"replica-{name}")
            port = free_port()
            env = {
                # The caller's git environment (git_environment) included.
                **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "NEWSBOT_"))},
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": slack.api_url,
                "NEWSBOT_DATABASE_URL": database_url,
                "NEWSBOT_ARTICLES_DIR": str(clone / NEWS),
                "NEWSBOT_REVIEWERS": REVIEWER,
                "NEWSBOT_REINDEX_MINUTES": "0",
                "NEWSBOT_GIT_COMMIT": "true",
                "NEWSBOT_GIT_PULL": "true",
                "NEWSBOT_GIT_PUSH": "true",
                "NEWSBOT_GIT_AUTHOR": f"Newsbot {name.upper()} <newsbot-{name}@desk.example>",
                "PORT": str(port),
                "PYTHONPATH": str(REPO),
            }
            replicas.append(Replica(name, clone, port, env))
        db = open_database(database_url)
        scenario = Scenario(workdir, database_url, slack, site, replicas, db)
        try:
            for replica in replicas:
                scenario.start(replica)
            for replica in replicas:
                scenario.wait_healthy(replica)
            yield scenario
        finally:
            for replica in replicas:
                if replica.proc is not None and replica.proc.poll() is None:
                    replica.proc.kill()
                    replica.proc.wait()
            db.dispose()


def secured_values(site: Site, rev: str) -> dict[str, bytes]:
    return {
        rel: found.group(0)
        for rel in site.files(rev)
        if (found := SECURED.search(site.read(rel, rev)))
    }


def run(workdir: Path, database_url: str) -> list[str]:
    """The whole scenario; the checks that held (raises AssertionError on the first that fails).

    Git runs with the environment of `git_site.git_environment(workdir)`, which the
    caller sets: this process plays the site's other people with git too.
    """
    with desk(workdir, database_url) as s:
        a, b = s.replicas
        secured_before = secured_values(s.site, s.site.first)
        s.check(len(secured_before) >= 20, f"{len(secured_before)} articles carry `secured`")

        payload = s.queue(a)
        drafts = [rel for rel in (s.article(r).source_path for r in _queue_paths(s, payload))]
        s.check(len(drafts) >= 7, f"the review queue offers {len(drafts)} drafts")
        same, left, right, edited, offline_a, offline_b, *_ = drafts

        # 1. One article, a click on each replica at once: one publishes.
        first, second = s.click_all([(a, payload, same), (b, payload, same)])
        said = [json.dumps(r, ensure_ascii=False) for r in (first, second)]
        s.check(
            sorted("Already published" in x for x in said) == [False, True]
            and any("Published by" in x and "Already" not in x for x in said),
            "concurrent clicks on one article: one published, one 'Already published by'",
        )

        # 2. Two articles, one click on each replica at once: both publish.
        one, two = s.click_all([(a, payload, left), (b, payload, right)])
        s.check(
            all("Published by" in json.dumps(r) for r in (one, two)),
            "concurrent clicks on two articles, one per replica: both published",
        )

        # 3. Someone edits an article upstream between the card and the click.
        s.site.someone_pushes(
            edited,
            lambda data: re.sub(rb'\ntitle: "', b'\ntitle: "Updated: ', data, count=1),
            "Editor: retitle",
        )
        (refused,) = s.click_all([(a, payload, edited)])
        said_refused = json.dumps(refused, ensure_ascii=False)
        s.check(
            "the article changed upstream" in said_refused and "Updated: " in said_refused,
            "an upstream edit between card and click: refused, with the fresh card",
        )
        s.check(not s.article(edited).published, "the edited article stays a draft")

        # 4. The remote is gone for a while: decisions stand, and are pushed later.
        tip = s.site.tip()
        s.site.unreachable()
        kept = s.click_all([(a, payload, offline_a), (b, payload, offline_b)])
        s.check(
            all("pushing…" in json.dumps(r, ensure_ascii=False) for r in kept),
            "remote unreachable: both decisions stand, their cards say 'pushing…'",
        )
        s.site.reachable()
        s.check(s.site.tip() == tip, "nothing reached the remote while it was away")
        for replica in (a, b, a):  # the next re-index of each; a once more to pull b's
            s.index(replica)
        with s.db.Session() as session:
            states = list(session.scalars(select(DecisionCommit.push_state)))
        s.check(
            sorted(set(states)) == ["dropped", "pushed"],
            "after the next re-index every kept decision is pushed",
        )

        for replica in s.replicas:
            s.check(s.stop(replica) == 0, f"replica {replica.name} stopped cleanly")

        _final_checks(s, secured_before)
        return s.checks


def _queue_paths(s: Scenario, payload: dict) -> list[str]:
    ids = [
        int(b["block_id"].split(":")[1])
        for b in payload["blocks"]
        if b.get("block_id", "").startswith("card-actions:")
    ]
    with s.db.Session() as session:
        paths = dict(session.execute(select(Article.id, Article.source_path)).all())
    return [paths[i] for i in ids]


def _final_checks(s: Scenario, secured_before: dict[str, bytes]) -> None:
    site = s.site
    commits = site.commits_since_import()
    decisions = [c for c in commits if c["decision"]]
    with s.db.Session() as session:
        done = session.execute(
            select(ReviewDecision.id, ReviewDecision.article_id, Article.source_path)
            .join(Article, Article.id == ReviewDecision.article_id)
            .where(ReviewDecision.status == "done", ReviewDecision.action != "reject")
        ).all()
        published = dict(session.execute(select(Article.source_path, Article.published)).all())
    s.check(
        sorted(int(c["decision"]) for c in decisions) == sorted(d.id for d in done),
        f"the remote has exactly one commit per decision ({len(done)})",
    )
    s.check(
        all(c["files"] == f"{NEWS}/{path}" for c in decisions for d in done
            if int(c["decision"]) == d.id for path in [d.source_path]),
        "each decision commit holds its article's file and nothing else",
    )  # fmt: skip
    s.check(
        git(site.bare, "rev-list", "--merges", "main") == ""
        and all(len(c["parents"].split()) == 1 for c in commits),
        f"the remote's history is linear ({len(commits)} commits after the import)",
    )
    mismatched = [
        rel for rel in site.files() if parse_bytes(site.read(rel)).published != published.get(rel)
    ]
    s.check(mismatched == [], "every file's `published:` on the remote equals the database")
    s.check(
        secured_values(site, "main") == secured_before,
        "every `secured` value is byte for byte what it was",
    )
    for replica in s.replicas:
        same = git(replica.clone, "rev-parse", "HEAD").strip() == site.tip()
        clean = git(replica.clone, "status", "--porcelain") == ""
        s.check(same and clean, f"replica {replica.name}'s clone is the remote's tip, clean")
    leaked = [r.name for r in s.replicas if BOT_TOKEN in "".join(r.output)]
    s.check(leaked == [], "no token in any replica's log")


@contextmanager
def fresh_schema(base_url: str) -> Iterator[str]:
    """A schema of its own in the database at `base_url`, dropped afterwards."""
    schema = f"newsbot_machines_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        separator = "&" if "?" in base_url else "?"
        yield f"{base_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@contextmanager
def git_environment_set(workdir: Path) -> Iterator[None]:
    """The git environment the tests use (an identity, no global or system config), for this
    process and the replicas it starts, put back afterwards."""
    saved = dict(os.environ)
    os.environ.update(git_environment(workdir))
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database_url", help="a PostgreSQL URL; a fresh schema is used and dropped")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="newsbot-machines-") as tmp,
        fresh_schema(args.database_url) as url,
        git_environment_set(Path(tmp)),
    ):
        try:
            checks = run(Path(tmp), url)
        except AssertionError as exc:
            print(f"FAILED: {exc}")
            return 1
    for line in checks:
        print(f"ok  {line}")
    print(f"{len(checks)} checks held in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
