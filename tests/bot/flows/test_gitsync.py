"""Decisions pushed to the site's git remote, pulls before every index run: the real app
driven by signed clicks, a bare repository as the remote, real clones, real databases."""

from __future__ import annotations

import json
import logging
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

import storage.decisions
from bot.app import create_app
from bot.cli import main
from bot.flows.gitsync import before_index, owing_clone
from bot.render import actions
from bot.scheduler import reindex_and_post_job, start_up
from bot.settings import ConfigError, Settings
from storage.db import Database, open_database
from storage.decision_state import LEASE
from storage.decisions import abandon_clone, decide, finish_interrupted
from storage.gitcommit import commit_file
from storage.models import Article, DecisionCommit, ReviewDecision, utcnow
from storage.sync import sync
from tests.bot.flows.git_site import NEWS, Site, git, git_environment
from tests.builders import REVIEWER, make_settings
from tests.conftest import EXAMPLES
from tests.slack_api import FakeSlack
from tests.slack_requests import block_action, slash_command

VOTER = "2026/11/voter-roll-privacy-audit.md"
CLINIC = "2026/11/clinic-scheduling-ransomware.md"
ZURICH = "2026/11/zurich-heat-pump-subsidy.md"
CLOUD = "2026/11/cloud-bills-q-and-a.md"
CHANNEL = "C0DESK"


class Desk:
    """One replica: its clone of the site, its settings, the real app on a shared database."""

    def __init__(
        self,
        site: Site,
        slack: FakeSlack,
        database_url: str,
        *,
        clone: Path | None = None,
        **env: str,
    ) -> None:
        self.site = site
        self.slack = slack
        self.clone = clone or site.clone("replica")
        self.articles = self.clone / NEWS
        env = {
            "NEWSBOT_GIT_COMMIT": "true",
            "NEWSBOT_GIT_PUSH": "true",
            "NEWSBOT_GIT_PULL": "true",
            "NEWSBOT_GIT_AUTHOR": "Newsbot <newsbot@desk.example>",
            **env,
        }
        self.settings: Settings = make_settings(slack, database_url, self.articles, **env)
        self.db: Database = open_database(database_url)
        sync(self.db.WriteSession, self.articles)
        self.app = create_app(self.settings, self.db, process_before_response=True)

    def article(self, rel: str) -> Article:
        with self.db.Session() as session:
            found = session.scalar(select(Article).where(Article.source_path == rel))
            assert found is not None
            session.expunge(found)
            return found

    def queue(self) -> dict:
        self.slack.reset()
        request = slash_command("review", response_url=self.slack.response_url())
        self.app.dispatch(request.bolt_request())
        (reply,) = self.slack.calls_to("response_url")
        self.slack.reset()
        return reply.args

    def click(
        self, payload: dict, rel: str, action: str = actions.REVIEW_PUBLISH, **where: str
    ) -> list[dict]:
        """Click a button of the article's card in `payload`; the replies to the click."""
        article_id = self.article(rel).id
        element = next(
            e
            for b in payload["blocks"]
            if b.get("block_id") == f"card-actions:{article_id}"
            for e in b["elements"]
            if e["action_id"] == action
        )
        response_url = self.slack.response_url()
        request = block_action(
            action,
            element["value"],
            user_id=REVIEWER,
            user_name="rita",
            message_blocks=payload["blocks"],
            message_text=payload.get("text", ""),
            response_url=response_url,
            **where,
        )
        assert self.app.dispatch(request.bolt_request()).status == 200
        path = urlsplit(response_url).path
        return [c.args for c in self.slack.calls_to("response_url") if c.args["_url"] == path]

    def share(self, rel: str) -> dict:
        """Share the article's card into CHANNEL: the posted message (blocks, ts)."""
        request = block_action(
            actions.NEWS_SHARE,
            actions.share_value(self.article(rel).id),
            user_id=REVIEWER,
            channel_id=CHANNEL,
            response_url=self.slack.response_url(),
        )
        self.app.dispatch(request.bolt_request())
        posted = self.slack.calls_to("chat.postMessage")[-1]
        assert posted.response is not None
        return {
            "blocks": posted.args["blocks"],
            "text": posted.args["text"],
            "ts": posted.response["ts"],
        }

    def decision_rows(self) -> list[tuple[str, str, str | None, str | None]]:
        with self.db.Session() as session:
            rows = session.execute(
                select(
                    ReviewDecision.action,
                    ReviewDecision.status,
                    DecisionCommit.commit_sha,
                    DecisionCommit.push_state,
                )
                .outerjoin(DecisionCommit, DecisionCommit.decision_id == ReviewDecision.id)
                .order_by(ReviewDecision.id)
            )
            # While a commit is owed, its sha column holds the version seen, not a commit.
            return [
                (action, status, "" if state == "uncommitted" else sha, state)
                for action, status, sha, state in rows
            ]


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    for name, value in git_environment(tmp_path).items():
        monkeypatch.setenv(name, value)
    return Site(tmp_path, EXAMPLES)


@pytest.fixture
def desk(site: Site, slack: FakeSlack, database_url: str) -> Iterator[Desk]:
    replica = Desk(site, slack, database_url)
    yield replica
    replica.db.dispose()


def text_of(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def card_text(reply: dict) -> str:
    return text_of(reply.get("blocks", []))


def published_in(data: bytes) -> bool:
    return b"\npublished: true\n" in data


# --- a decision is committed and pushed ---------------------------------------------------


def test_a_publish_is_committed_alone_and_pushed(desk: Desk, site: Site) -> None:
    (reply,) = desk.click(desk.queue(), VOTER)

    assert "Published by" in card_text(reply) and "pushing" not in card_text(reply)
    (pushed,) = site.commits_since_import()
    assert pushed["subject"].startswith("Publish: State Auditor Finds Voter Roll")
    assert pushed["files"] == f"{NEWS}/{VOTER}"
    assert published_in(site.read(VOTER))
    assert git(site.bare, "log", "-1", "--format=%an <%ae>%n%(trailers:key=Approved-by)", "main")
    ((action, status, sha, state),) = desk.decision_rows()
    assert (action, status, sha, state) == ("publish", "done", pushed["sha"], "pushed")
    assert git(desk.clone, "status", "--porcelain") == ""


def test_someone_pushing_first_is_fetched_and_the_decision_replayed(desk: Desk, site: Site) -> None:
    payload = desk.queue()
    theirs = site.someone_pushes("2026/11/new-from-the-pipeline.md", lambda _: b"draft\n")

    desk.click(payload, VOTER)

    commits = site.commits_since_import()
    assert commits[0]["sha"] == theirs
    assert commits[1]["subject"].startswith("Publish: State Auditor")
    assert commits[1]["parents"] == theirs  # linear: on top of theirs, not merged
    assert desk.decision_rows()[0][2:] == (commits[1]["sha"], "pushed")
    assert git(desk.clone, "rev-parse", "HEAD").strip() == site.tip()


def test_an_upstream_edit_of_the_article_undoes_the_decision(
    desk: Desk, site: Site, slack: FakeSlack
) -> None:
    payload = desk.queue()
    retitled = site.someone_pushes(
        VOTER, lambda data: data.replace(b"State Auditor Finds", b"Auditor Says"), "Retitle"
    )

    replies = desk.click(payload, VOTER)

    notice, fresh = replies
    assert (
        "Not published: the article changed upstream since this card was shown" in (notice["text"])
    )
    assert "Auditor Says Voter Roll" in card_text(fresh)
    assert "Published by" not in card_text(fresh)
    assert actions.REVIEW_PUBLISH in card_text(fresh)
    # Nothing was published on top of the edit: the remote, the clone and the row agree.
    assert site.tip() == retitled and not published_in(site.read(VOTER))
    assert git(desk.clone, "rev-parse", "HEAD").strip() == retitled
    assert (desk.articles / VOTER).read_bytes() == site.read(VOTER)
    row = desk.article(VOTER)
    assert (row.published, row.title) == (
        False,
        "Auditor Says Voter Roll Exports Shared Birth Dates With Vendors",
    )
    assert desk.decision_rows()[0][1::2] == ("reverted", "dropped")

    # The fresh card publishes.
    desk.click({"blocks": fresh["blocks"]}, VOTER)
    assert published_in(site.read(VOTER))
    assert [c["subject"][:21] for c in site.commits_since_import()] == [
        "Retitle",
        "Publish: Auditor Says",
    ]


def test_an_unreachable_remote_keeps_the_decision_and_pushes_at_the_next_reindex(
    desk: Desk, site: Site, slack: FakeSlack
) -> None:
    shared = desk.share(VOTER)
    site.unreachable()

    desk.click(shared, VOTER, channel_id=CHANNEL, message_ts=shared["ts"])

    # The decision stands, the card says so, and the commit waits in the clone.
    assert desk.article(VOTER).published and published_in((desk.articles / VOTER).read_bytes())
    (edited,) = slack.calls_to("chat.update")
    assert "Published by" in text_of(edited.args["blocks"])
    assert "pushing…" in text_of(edited.args["blocks"])
    ((_, status, sha, state),) = desk.decision_rows()
    assert (status, state) == ("done", "pending")
    assert git(desk.clone, "rev-parse", "HEAD").strip() == sha

    site.reachable()
    slack.reset()
    client = WebClient(token=desk.settings.bot_token, base_url=slack.api_url)
    reindex_and_post_job(desk.settings, desk.db, client)

    assert site.tip() == sha and published_in(site.read(VOTER))
    assert desk.decision_rows()[0][3] == "pushed"
    (updated,) = slack.calls_to("chat.update")
    assert updated.args["ts"] == shared["ts"]
    assert "Published by" in text_of(updated.args["blocks"])
    assert "pushing" not in text_of(updated.args["blocks"])


def test_a_decision_kept_offline_is_undone_when_the_article_changed_meanwhile(
    desk: Desk, site: Site, slack: FakeSlack
) -> None:
    shared = desk.share(CLINIC)
    site.unreachable()
    desk.click(shared, CLINIC, channel_id=CHANNEL, message_ts=shared["ts"])
    site.reachable()
    site.someone_pushes(CLINIC, lambda d: d.replace(b"heat: ", b"heat: 1"), "Hotter")

    slack.reset()
    reindex_and_post_job(
        desk.settings, desk.db, WebClient(token="xoxb-test-token", base_url=slack.api_url)
    )

    (told,) = slack.calls_to("chat.postEphemeral")
    assert (told.args["channel"], told.args["user"]) == (CHANNEL, REVIEWER)
    assert "was undone: the article changed upstream" in told.args["text"]
    assert actions.REVIEW_PUBLISH in text_of(told.args["blocks"])
    (updated,) = slack.calls_to("chat.update")  # the shared card is a draft again
    assert "Published by" not in text_of(updated.args["blocks"])
    assert actions.REVIEW_PUBLISH in text_of(updated.args["blocks"])
    assert not desk.article(CLINIC).published and not published_in(site.read(CLINIC))
    assert [c["subject"] for c in site.commits_since_import()] == ["Hotter"]
    assert desk.decision_rows()[0][1::2] == ("reverted", "dropped")


def test_concurrent_clicks_in_one_replica_commit_one_at_a_time(desk: Desk, site: Site) -> None:
    payload = desk.queue()
    clicks = [
        threading.Thread(target=desk.click, args=(payload, rel)) for rel in (VOTER, CLINIC, ZURICH)
    ]
    for thread in clicks:
        thread.start()
    for thread in clicks:
        thread.join()
    commits = site.commits_since_import()
    assert sorted(c["files"] for c in commits) == sorted(
        f"{NEWS}/{rel}" for rel in (VOTER, CLINIC, ZURICH)
    )
    assert all(state == "pushed" for *_, state in desk.decision_rows())


def test_a_clone_behind_the_card_pulls_before_refusing_it(
    desk: Desk, site: Site, database_url: str, slack: FakeSlack
) -> None:
    # Another replica pulled an edit and indexed it into the shared database: the
    # cards show it, this replica's clone does not have it yet.
    site.someone_pushes(ZURICH, lambda d: d.replace(b"heat: ", b"heat: 9"), "Hotter")
    other = site.clone("other")
    sync(desk.db.WriteSession, other / NEWS)
    payload = desk.queue()

    (reply,) = desk.click(payload, ZURICH)

    assert "Published by" in card_text(reply)
    assert published_in(site.read(ZURICH)) and b"heat: 9" in site.read(ZURICH)


# --- pulls before the index ----------------------------------------------------------------


def test_newsbot_index_pulls_and_indexes_what_changed_in_the_same_run(
    desk: Desk, site: Site, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    new = (EXAMPLES / VOTER).read_bytes().replace(b"5530871/voter", b"5530872/voter")
    site.someone_pushes("2026/11/second-audit.md", lambda _: new, "Add an article")
    for name in ("NEWSBOT_GIT_COMMIT", "NEWSBOT_GIT_PULL"):
        monkeypatch.setenv(name, "true")
    monkeypatch.setenv("NEWSBOT_DATABASE_URL", desk.settings.database_url)
    monkeypatch.setenv("NEWSBOT_ARTICLES_DIR", str(desk.articles))

    assert main(["index"]) == 0

    assert "1 added" in capsys.readouterr().out
    assert desk.article("2026/11/second-audit.md").web_url.endswith(
        "5530872/voter-roll-privacy-audit"
    )


def test_a_pull_that_cannot_be_done_is_one_line_and_the_index_runs(
    desk: Desk, site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    path = desk.articles / CLOUD
    path.write_bytes(path.read_bytes().replace(b"heat: ", b"heat: 7"))  # an editor, mid-work
    site.someone_pushes(CLOUD, lambda d: d.replace(b"quality: ", b"quality: 1"), "Upstream edit")
    before = git(desk.clone, "rev-parse", "HEAD")

    with caplog.at_level(logging.INFO, logger="bot.flows.gitsync"):
        exchanged = before_index(desk.settings, desk.db)
    report = sync(desk.db.WriteSession, desk.articles)

    (line,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert "\n" not in line and line.startswith("git: ")
    assert "was not brought up to date with origin/main" in line and CLOUD in line
    assert line.endswith(f"the index runs on {desk.articles} as it is")
    assert exchanged is not None and not exchanged.moved
    assert git(desk.clone, "rev-parse", "HEAD") == before
    assert b"heat: 7" in path.read_bytes()  # the editor's work is untouched
    assert report.updated == 1 and desk.article(CLOUD).heat == int(
        path.read_bytes().split(b"heat: ")[1].split(b"\n")[0]
    )


def test_audit_shows_each_commit_and_whether_it_is_pushed(
    desk: Desk, site: Site, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    payload = desk.queue()
    desk.click(payload, VOTER)
    site.unreachable()
    desk.click(payload, CLINIC)
    site.reachable()
    site.someone_pushes(CLINIC, lambda d: d.replace(b"heat: ", b"heat: 1"), "Hotter")
    before_index(desk.settings, desk.db)
    desk.click(payload, ZURICH, action=actions.REVIEW_REJECT)
    rows = desk.decision_rows()
    monkeypatch.setenv("NEWSBOT_DATABASE_URL", desk.settings.database_url)

    assert main(["audit", "--since", "1d"]) == 0

    out = capsys.readouterr().out.splitlines()
    header, *_ = [cells(line) for line in out if "when" in line and "pushed" in line]
    table = [dict(zip(header, cells(line), strict=True)) for line in out if "rita" in line]
    assert [(r["what"], r["commit"], r["pushed"]) for r in table] == [
        ("publish", rows[0][2][:10], "yes"),
        ("publish, undone", rows[1][2][:10], "no: the article changed upstream"),
        ("reject", "-", "-"),
    ]


def cells(line: str) -> list[str]:
    """The cells of one row of rich's table (the header's borders are heavier)."""
    return [cell.strip() for cell in re.split("[│┃]", line)[1:-1]]


def test_push_without_commit_is_refused_in_one_sentence() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"NEWSBOT_GIT_PUSH": "true"})
    assert str(raised.value) == (
        "NEWSBOT_GIT_PUSH=true needs NEWSBOT_GIT_COMMIT=true: each decision is pushed as its "
        "own commit"
    )
    assert Settings.from_env({"NEWSBOT_GIT_PULL": "yes"}).git_pull


# --- a commit that did not happen is owed, and made before the next pull -------------------


def uncommitted(clone: Path) -> str:
    return git(clone, "status", "--porcelain", "--untracked-files=no")


def test_a_commit_that_failed_is_made_and_pushed_before_the_next_pull(
    desk: Desk, site: Site, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    stale = desk.clone / ".git" / "index.lock"  # left by a git that was killed
    stale.touch()
    shared = desk.share(VOTER)

    desk.click(shared, VOTER, channel_id=CHANNEL, message_ts=shared["ts"])

    # The decision stands, its commit is owed, and the card says it is on its way.
    assert desk.article(VOTER).published and published_in((desk.articles / VOTER).read_bytes())
    assert desk.decision_rows() == [("publish", "done", "", "uncommitted")]
    assert "pushing…" in text_of(slack.calls_to("chat.update")[-1].args["blocks"])
    assert uncommitted(desk.clone) == f" M {NEWS}/{VOTER}\n"
    client = WebClient(token=desk.settings.bot_token, base_url=slack.api_url)

    # Not while git cannot commit: the re-index says so, and nothing is lost.
    with caplog.at_level(logging.WARNING, logger="bot.flows.gitsync"):
        reindex_and_post_job(desk.settings, desk.db, client)
    assert any("wait to be committed" in r.getMessage() for r in caplog.records)
    assert desk.decision_rows() == [("publish", "done", "", "uncommitted")]

    stale.unlink()
    site.someone_pushes(CLOUD, lambda d: d.replace(b"heat: ", b"heat: 3"), "Hotter")
    slack.reset()
    reindex_and_post_job(desk.settings, desk.db, client)

    assert published_in(site.read(VOTER))
    assert [c["subject"][:8] for c in site.commits_since_import()] == ["Hotter", "Publish:"]
    ((_, status, sha, state),) = desk.decision_rows()
    assert (status, sha, state) == ("done", site.tip(), "pushed")
    assert git(desk.clone, "rev-parse", "HEAD").strip() == site.tip()
    assert uncommitted(desk.clone) == ""
    (updated,) = slack.calls_to("chat.update")
    assert "Published by" in text_of(updated.args["blocks"])
    assert "pushing" not in text_of(updated.args["blocks"])


def test_an_owed_commit_of_an_article_edited_upstream_never_blocks_the_pull(
    desk: Desk, site: Site, slack: FakeSlack
) -> None:
    stale = desk.clone / ".git" / "index.lock"
    stale.touch()
    desk.click(desk.queue(), CLINIC)
    stale.unlink()
    edited = site.someone_pushes(CLINIC, lambda d: d.replace(b"heat: ", b"heat: 1"), "Hotter")

    reindex_and_post_job(
        desk.settings, desk.db, WebClient(token="xoxb-test-token", base_url=slack.api_url)
    )

    # Committed, then dropped as the article changed upstream: the clone follows the remote.
    assert git(desk.clone, "rev-parse", "HEAD").strip() == edited
    assert uncommitted(desk.clone) == ""
    assert (desk.articles / CLINIC).read_bytes() == site.read(CLINIC)
    assert not desk.article(CLINIC).published
    assert desk.decision_rows()[0][1::2] == ("reverted", "dropped")
    # And it keeps receiving upstream changes, of that file and any other.
    later = site.someone_pushes(CLINIC, lambda d: d.replace(b"heat: 1", b"heat: 2"), "Hotter")
    before_index(desk.settings, desk.db)
    assert git(desk.clone, "rev-parse", "HEAD").strip() == later


def decide_then_die(desk: Desk, rel: str) -> int:
    """A Publish whose process died after the decision, before or during its commit."""
    outcome = decide(
        desk.db.WriteSession,
        article_id=desk.article(rel).id,
        action="publish",
        fingerprint=None,
        reviewer_id=REVIEWER,
        reviewer_name="rita",
        root=desk.articles,
        owe_commit_in=owing_clone(desk.settings),
    )
    assert outcome.status == "done" and outcome.decision_id is not None
    return outcome.decision_id


def test_newsbot_index_commits_and_pushes_a_decision_whose_process_died(
    desk: Desk, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    decide_then_die(desk, VOTER)
    assert uncommitted(desk.clone) == f" M {NEWS}/{VOTER}\n"
    for name in ("NEWSBOT_GIT_COMMIT", "NEWSBOT_GIT_PULL", "NEWSBOT_GIT_PUSH"):
        monkeypatch.setenv(name, "true")
    monkeypatch.setenv("NEWSBOT_DATABASE_URL", desk.settings.database_url)
    monkeypatch.setenv("NEWSBOT_ARTICLES_DIR", str(desk.articles))
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)

    assert main(["index"]) == 0

    (pushed,) = site.commits_since_import()
    assert pushed["subject"].startswith("Publish: State Auditor")
    assert pushed["files"] == f"{NEWS}/{VOTER}"
    trailers = git(site.bare, "log", "-1", "--format=%(trailers)", "main")
    assert "Approved-by: rita <U0REVIEW>" in trailers
    assert desk.decision_rows() == [("publish", "done", pushed["sha"], "pushed")]
    assert uncommitted(desk.clone) == ""


def test_a_commit_made_before_the_process_died_is_found_not_made_twice(
    desk: Desk, site: Site
) -> None:
    decision = decide_then_die(desk, VOTER)
    # It died after `git commit`, before the database heard of the commit.
    made = commit_file(
        desk.clone,
        desk.articles / VOTER,
        message="Publish: voter roll",
        trailers=[("Approved-by", "rita <U0REVIEW>"), ("Newsbot-Decision", str(decision))],
    )

    before_index(desk.settings, desk.db)

    assert [c["sha"] for c in site.commits_since_import()] == [made]
    assert desk.decision_rows() == [("publish", "done", made, "pushed")]


def test_a_decision_settled_from_its_file_at_start_is_committed(
    desk: Desk, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    killed_after_the_write(desk, monkeypatch, ZURICH)
    assert desk.decision_rows() == [("publish", "pending", None, None)]

    start_up(desk.settings, desk.db)  # what serve does first: settled from the file
    before_index(desk.settings, desk.db)  # then, before its first index

    assert desk.decision_rows()[0][1::2] == ("done", "pushed")
    assert published_in(site.read(ZURICH))
    assert uncommitted(desk.clone) == ""


class Killed(BaseException):
    """The process died here."""


def test_a_detached_head_gets_no_commit_until_a_branch_is_checked_out(
    desk: Desk, site: Site, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    git(desk.clone, "checkout", "-q", "--detach")
    payload = desk.queue()

    with caplog.at_level(logging.WARNING, logger="bot.flows.gitsync"):
        desk.click(payload, VOTER)
        desk.click(payload, CLINIC)

    told = [r.getMessage() for r in caplog.records if "detached HEAD" in r.getMessage()]
    assert len(told) == 1 and "committed once a branch is checked out" in told[0]
    assert git(desk.clone, "rev-parse", "HEAD").strip() == site.first  # nothing committed
    # The files have the decisions, as the database does.
    assert published_in((desk.articles / VOTER).read_bytes()) and desk.article(VOTER).published
    assert [row[3] for row in desk.decision_rows()] == ["uncommitted", "uncommitted"]

    git(desk.clone, "checkout", "-q", "main")  # the operator puts the branch back
    before_index(desk.settings, desk.db)

    assert [c["files"] for c in site.commits_since_import()] == [
        f"{NEWS}/{VOTER}",
        f"{NEWS}/{CLINIC}",
    ]
    assert [row[3] for row in desk.decision_rows()] == ["pushed", "pushed"]


# --- an undone decision leaves the row as the file is -----------------------------------


def test_a_decision_undone_by_the_same_edit_upstream_leaves_the_row_as_the_file_says(
    desk: Desk, site: Site, slack: FakeSlack
) -> None:
    hook = site.bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    desk.click(desk.queue(), VOTER)
    assert desk.decision_rows()[0][3] == "pending"
    # An editor makes the very same change by hand, byte for byte, and pushes it.
    written = (desk.articles / VOTER).read_bytes()
    hook.unlink()
    site.someone_pushes(VOTER, lambda _: written, "Publish by hand")

    reindex_and_post_job(
        desk.settings, desk.db, WebClient(token="xoxb-test-token", base_url=slack.api_url)
    )

    assert desk.decision_rows()[0][1::2] == ("reverted", "dropped")
    assert published_in(site.read(VOTER)) and published_in((desk.articles / VOTER).read_bytes())
    assert desk.article(VOTER).published  # what the file says


# --- several clones: each settles and commits only what its own work tree holds -------------


def killed_after_the_write(desk: Desk, monkeypatch: pytest.MonkeyPatch, rel: str) -> None:
    """A click whose process died after writing the file, before the database said "done"."""
    real = storage.decisions.set_published

    def written_then_killed(*args: object, **kwargs: object) -> None:
        real(*args, **kwargs)  # type: ignore[arg-type]
        raise Killed

    monkeypatch.setattr(storage.decisions, "set_published", written_then_killed)
    with pytest.raises(Killed):
        desk.click(desk.queue(), rel)
    monkeypatch.undo()


def test_another_clone_never_settles_a_decision_written_in_this_one(
    desk: Desk, site: Site, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = Desk(site, slack, desk.settings.database_url, clone=site.clone("other"))
    killed_after_the_write(desk, monkeypatch, ZURICH)

    # The other replica restarts (this host, so the writer's pid counts as gone), and much
    # later its periodic job runs: its own clone has no write, so it leaves the decision.
    start_up(other.settings, other.db)
    later = utcnow() + 10 * LEASE
    clone = owing_clone(other.settings)
    assert (
        finish_interrupted(other.db.WriteSession, other.articles, now=later, owe_commit_in=clone)
        == []
    )
    before_index(other.settings, other.db)
    assert desk.decision_rows() == [("publish", "pending", None, None)]

    # The writer's clone settles it from its file at its restart, commits and pushes it.
    start_up(desk.settings, desk.db)
    before_index(desk.settings, desk.db)

    assert desk.decision_rows()[0][1::2] == ("done", "pushed")
    assert published_in(site.read(ZURICH)) and uncommitted(desk.clone) == ""
    before_index(other.settings, other.db)
    assert published_in((other.articles / ZURICH).read_bytes())
    other.db.dispose()


def test_a_decision_of_a_clone_lost_for_good_is_abandoned_by_the_operator(
    desk: Desk, site: Site, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    killed_after_the_write(desk, monkeypatch, ZURICH)
    lost = owing_clone(desk.settings)
    assert lost is not None

    (settled,) = abandon_clone(desk.db.WriteSession, lost)

    assert (settled.action, settled.status) == ("publish", "abandoned")
    assert desk.decision_rows() == [("publish", "abandoned", None, None)]
    assert not desk.article(ZURICH).published


def test_an_owed_commit_takes_only_the_decision_not_later_edits(
    desk: Desk, site: Site, slack: FakeSlack
) -> None:
    stale = desk.clone / ".git" / "index.lock"
    stale.touch()
    desk.click(desk.queue(), VOTER)
    # The pipeline rewrites the file before the commit could be made.
    path = desk.articles / VOTER
    path.write_bytes(path.read_bytes() + b"\nUNREVIEWED PIPELINE REWRITE\n")
    stale.unlink()

    before_index(desk.settings, desk.db)

    (pushed,) = site.commits_since_import()
    assert pushed["subject"].startswith("Publish: State Auditor")
    assert published_in(site.read(VOTER)) and b"UNREVIEWED" not in site.read(VOTER)
    assert desk.decision_rows() == [("publish", "done", pushed["sha"], "pushed")]
    # The edit stays in the work tree, uncommitted, for the indexer and whoever made it.
    assert uncommitted(desk.clone) == f" M {NEWS}/{VOTER}\n"
    assert b"UNREVIEWED" in path.read_bytes() and published_in(path.read_bytes())


def test_an_owed_commit_of_a_file_git_checks_out_with_crlf_is_made_not_undone(
    desk: Desk, site: Site, slack: FakeSlack
) -> None:
    # The clone converts line endings (eol=crlf): HEAD stores LF, the reviewer saw CRLF.
    (desk.clone / ".git" / "info").mkdir(exist_ok=True)
    (desk.clone / ".git" / "info" / "attributes").write_text("*.md text eol=crlf\n")
    path = desk.articles / VOTER
    path.unlink()
    git(desk.clone, "checkout", "--", f"{NEWS}/{VOTER}")
    assert b"\r\n" in path.read_bytes()
    sync(desk.db.WriteSession, desk.articles)
    stale = desk.clone / ".git" / "index.lock"
    stale.touch()
    desk.click(desk.queue(), VOTER)
    path.write_bytes(path.read_bytes() + b"UNREVIEWED PIPELINE REWRITE\r\n")
    stale.unlink()

    before_index(desk.settings, desk.db)

    (pushed,) = site.commits_since_import()
    assert pushed["subject"].startswith("Publish: State Auditor")
    assert published_in(site.read(VOTER)) and b"UNREVIEWED" not in site.read(VOTER)
    assert b"\r\n" not in site.read(VOTER)  # stored as git stores it
    assert desk.decision_rows() == [("publish", "done", pushed["sha"], "pushed")]


def test_an_owed_commit_whose_file_is_no_longer_what_was_reviewed_is_undone(
    desk: Desk, site: Site, slack: FakeSlack
) -> None:
    path = desk.articles / VOTER
    # The reviewer sees a version not committed yet; it is changed again after the click.
    path.write_bytes(path.read_bytes() + b"\nSEEN, NOT COMMITTED\n")
    sync(desk.db.WriteSession, desk.articles)
    stale = desk.clone / ".git" / "index.lock"
    stale.touch()
    shared = desk.share(VOTER)
    desk.click(shared, VOTER, channel_id=CHANNEL, message_ts=shared["ts"])
    path.write_bytes(path.read_bytes() + b"\nNOT SEEN\n")
    stale.unlink()
    slack.reset()

    reindex_and_post_job(
        desk.settings, desk.db, WebClient(token=desk.settings.bot_token, base_url=slack.api_url)
    )

    assert site.commits_since_import() == [] and not published_in(site.read(VOTER))
    assert not published_in(path.read_bytes()) and b"NOT SEEN" in path.read_bytes()
    assert not desk.article(VOTER).published
    assert desk.decision_rows()[0][1::2] == ("reverted", "dropped")
    (told,) = slack.calls_to("chat.postEphemeral")
    assert told.args["user"] == REVIEWER


def test_a_copied_clone_never_drops_the_commit_the_original_owes(
    desk: Desk, site: Site, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    original = owing_clone(desk.settings)
    copy = site.root / "copy"
    shutil.copytree(desk.clone, copy, symlinks=True)  # as cp -a, a snapshot or an image does
    other = Desk(site, slack, desk.settings.database_url, clone=copy)
    stale = desk.clone / ".git" / "index.lock"
    stale.touch()
    desk.click(desk.queue(), VOTER)

    with caplog.at_level(logging.INFO, logger="bot.flows.gitsync"):
        before_index(other.settings, other.db)

    assert owing_clone(other.settings) not in (None, original)
    assert owing_clone(desk.settings) == original
    assert desk.decision_rows() == [("publish", "done", "", "uncommitted")]
    assert not any("committed the publish" in r.getMessage() for r in caplog.records)
    stale.unlink()
    before_index(desk.settings, desk.db)
    assert desk.decision_rows()[0][3] == "pushed" and published_in(site.read(VOTER))
    other.db.dispose()


def test_a_commit_owed_under_an_id_from_before_is_made_by_the_clone_that_has_it(
    desk: Desk, site: Site, slack: FakeSlack
) -> None:
    # Both clones hold the one-line id of older versions, as a copy made then does.
    shared = "0123456789abcdef" * 2
    copy = site.root / "copy"
    shutil.copytree(desk.clone, copy, symlinks=True)
    for clone in (desk.clone, copy):
        (clone / ".git" / "newsbot-clone-id").write_text(shared + "\n")
    other = Desk(site, slack, desk.settings.database_url, clone=copy)
    outcome = decide(
        desk.db.WriteSession,
        article_id=desk.article(VOTER).id,
        action="publish",
        fingerprint=None,
        reviewer_id=REVIEWER,
        reviewer_name="rita",
        root=desk.articles,
        owe_commit_in=shared,  # owed before the upgrade, and not committed yet
    )
    assert outcome.status == "done"

    before_index(other.settings, other.db)  # its file does not have the change: left alone
    assert desk.decision_rows() == [("publish", "done", "", "uncommitted")]
    before_index(desk.settings, desk.db)

    assert desk.decision_rows()[0][3] == "pushed" and published_in(site.read(VOTER))
    assert uncommitted(desk.clone) == ""
    other.db.dispose()
