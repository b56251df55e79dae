"""Pulling and pushing a clone of the site's repository: a bare repository as the remote,
real clones, real git."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from storage.gitrun import GitError, run_git
from storage.gitsync import TRAILER, clone_lock, synchronize

ARTICLE = (
    "---\n"
    'title: "Harbor City Tests AI Traffic Cameras"\n'
    "heat: 80\n"
    "published: false\n"
    'secured: "c2VjcmV0LWJ5dGVz=="\n'
    "---\n"
    "Body line one.\n"
    "\n"
    "Body line three.\n"
    "\n"
    "Body line five.\n"
)


def git(repo: Path, *args: str, check: bool = True) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=check
    ).stdout


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def commit(repo: Path, path: str, text: str, message: str, *, decision: int | None = None) -> str:
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text(text)
    git(repo, "add", "--", path)
    if decision is not None:
        message += f"\n\nApproved-by: rita <U0REVIEW>\n{TRAILER}: {decision}"
    git(repo, "commit", "-q", "-m", message, "--", path)
    return head(repo)


def log(repo: Path, rev: str = "HEAD") -> list[str]:
    return git(repo, "log", "--format=%s", rev).splitlines()


class Site:
    """A bare repository standing for the site's remote, and clones of it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.bare = root / "site.git"
        git(root, "init", "-q", "--bare", "-b", "main", str(self.bare))
        seed = self.clone("seed")
        for name in ("a.md", "b.md"):
            (seed / name).write_text(ARTICLE.replace("Harbor", name[0].upper()))
        git(seed, "add", ".")
        git(seed, "commit", "-q", "-m", "Initial articles")
        git(seed, "push", "-q", "origin", "main")

    def clone(self, name: str) -> Path:
        target = self.root / name
        subprocess.run(
            ["git", "clone", "-q", str(self.bare), str(target)], capture_output=True, check=True
        )
        return target

    def upstream_edit(self, path: str, text: str, message: str = "Edit upstream") -> str:
        """Someone else commits and pushes."""
        other = self.root / "someone"
        if not other.exists():
            self.clone("someone")
        git(other, "pull", "-q", "--ff-only")
        sha = commit(other, path, text, message)
        git(other, "push", "-q", "origin", "main")
        return sha

    def tip(self) -> str:
        return git(self.bare, "rev-parse", "main").strip()

    def file(self, path: str) -> str:
        return git(self.bare, "show", f"main:{path}")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    # Keep the developer's own git configuration (signing, hooks, templates) out.
    config = tmp_path / "gitconfig"
    config.write_text("[user]\n\tname = Newsbot Test\n\temail = newsbot@example.com\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    return Site(tmp_path)


@pytest.fixture
def clone(site: Site) -> Path:
    return site.clone("replica")


# --- pull -------------------------------------------------------------------------------


def test_pull_fast_forwards_and_leaves_uncommitted_work_alone(site: Site, clone: Path) -> None:
    site.upstream_edit("a.md", ARTICLE.replace("heat: 80", "heat: 95"))
    site.upstream_edit("2026/new.md", ARTICLE.replace("Harbor", "New"), "Add new")
    # The pipeline's next file, an editor's change and a staged file, none of them committed.
    (clone / "incoming.md").write_text("pipeline\n")
    (clone / "b.md").write_text(ARTICLE + "editing\n")
    (clone / "staged.md").write_text("staged\n")
    git(clone, "add", "staged.md")

    result = synchronize(clone, pull=True, push=False)

    assert (result.problem, result.moved, result.pushed) == (None, True, True)
    assert head(clone) == site.tip()
    assert "heat: 95" in (clone / "a.md").read_text()
    assert (clone / "2026" / "new.md").exists()
    assert (clone / "incoming.md").read_text() == "pipeline\n"
    assert (clone / "b.md").read_text() == ARTICLE + "editing\n"
    assert git(clone, "status", "--porcelain").splitlines() == [
        " M b.md",
        "A  staged.md",
        "?? incoming.md",
    ]


def test_pull_with_nothing_new_changes_nothing(site: Site, clone: Path) -> None:
    before = head(clone)
    result = synchronize(clone, pull=True, push=False)
    assert (result.problem, result.moved, result.commits) == (None, False, ())
    assert head(clone) == before


def test_pull_puts_local_commits_not_yet_pushed_on_top(site: Site, clone: Path) -> None:
    mine = commit(clone, "b.md", ARTICLE.replace("false", "true"), "Publish: B", decision=3)
    theirs = site.upstream_edit("a.md", ARTICLE.replace("heat: 80", "heat: 95"))

    result = synchronize(clone, pull=True, push=False)

    assert result.problem is None and result.moved and not result.pushed
    (local,) = result.commits
    assert (local.sha, local.decision) == (mine, 3)
    assert local.now == head(clone) != mine
    assert git(clone, "rev-parse", "HEAD~1").strip() == theirs
    assert log(clone)[:2] == ["Publish: B", "Edit upstream"]
    assert "published: true" in (clone / "b.md").read_text()
    assert "heat: 95" in (clone / "a.md").read_text()
    # The replayed commit keeps its author, message and trailers; nothing was pushed.
    assert git(clone, "log", "-1", "--format=%an|%(trailers:key=Newsbot-Decision,valueonly)") == (
        "Newsbot Test|3\n\n"
    )
    assert site.tip() == theirs


def test_pull_merges_separate_edits_of_one_file(site: Site, clone: Path) -> None:
    commit(clone, "a.md", ARTICLE.replace("line one", "line ONE"), "Local edit")
    site.upstream_edit("a.md", ARTICLE.replace("line five", "line FIVE"))
    result = synchronize(clone, pull=True, push=False)
    assert result.problem is None
    text = (clone / "a.md").read_text()
    assert "line ONE" in text and "line FIVE" in text


def test_conflicting_history_is_left_exactly_as_it_was(site: Site, clone: Path) -> None:
    mine = commit(clone, "a.md", ARTICLE.replace("heat: 80", "heat: 10"), "Local edit")
    site.upstream_edit("a.md", ARTICLE.replace("heat: 80", "heat: 99"))
    (clone / "incoming.md").write_text("pipeline\n")

    result = synchronize(clone, pull=True, push=False)

    assert result.problem == (
        f"the local commit {mine[:10]} in {clone} conflicts with origin/main in a.md: nothing "
        "was changed; bring it on top of the upstream by hand"
    )
    assert not result.moved and result.commits[0].now == mine
    assert head(clone) == mine
    assert "heat: 10" in (clone / "a.md").read_text()
    assert git(clone, "status", "--porcelain").splitlines() == ["?? incoming.md"]


def test_a_local_change_in_the_way_changes_nothing(site: Site, clone: Path) -> None:
    before = head(clone)
    (clone / "a.md").write_text(ARTICLE + "unsaved edit\n")
    site.upstream_edit("a.md", ARTICLE.replace("heat: 80", "heat: 99"))

    result = synchronize(clone, pull=True, push=False)

    assert result.problem is not None and "\n" not in result.problem
    assert result.problem.startswith(f"{clone} was not brought up to date with origin/main")
    assert "a.md" in result.problem
    assert head(clone) == before and not result.moved
    assert (clone / "a.md").read_text() == ARTICLE + "unsaved edit\n"


def test_an_untracked_file_in_the_way_changes_nothing(site: Site, clone: Path) -> None:
    before = head(clone)
    (clone / "c.md").write_text("the pipeline's own c.md\n")
    site.upstream_edit("c.md", ARTICLE)
    result = synchronize(clone, pull=True, push=False)
    assert result.problem is not None and "c.md" in result.problem
    assert head(clone) == before
    assert (clone / "c.md").read_text() == "the pipeline's own c.md\n"


def test_an_unreachable_remote_is_one_sentence_and_keeps_everything(
    site: Site, clone: Path
) -> None:
    mine = commit(clone, "b.md", ARTICLE.replace("false", "true"), "Publish: B", decision=4)
    site.bare.rename(site.bare.with_name("moved.git"))

    for pull, push in ((True, False), (False, True), (True, True)):
        result = synchronize(clone, pull=pull, push=push, pending={4})
        assert result.problem is not None
        assert result.problem.startswith(f"could not fetch origin/main into {clone}: ")
        assert "does not appear to be a git repository" in result.problem
        assert "\n" not in result.problem
        assert (result.moved, result.pushed) == (False, False)
        assert head(clone) == mine

    site.bare.with_name("moved.git").rename(site.bare)
    result = synchronize(clone, pull=False, push=True, pending={4})
    assert (result.problem, result.pushed) == (None, True)
    assert site.tip() == mine


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "userinfo", ["newsbot:s3cret-t0ken@", "ghp_s3cret-t0ken@", "newsbot:s3cret@t0ken@"]
)
def test_credentials_in_the_remote_url_never_reach_a_message(
    site: Site, clone: Path, userinfo: str
) -> None:
    url = f"http://{userinfo}127.0.0.1:{closed_port()}/site.git"
    git(clone, "remote", "set-url", "origin", url)
    result = synchronize(clone, pull=True, push=True)
    assert result.problem is not None and "\n" not in result.problem
    assert result.problem.startswith(f"could not fetch origin/main into {clone}: ")
    assert "s3cret" not in result.problem and "t0ken" not in result.problem


@pytest.mark.parametrize(
    ("said", "shown"),
    [
        (
            "unable to access 'https://bot:s3cret@example.com/site.git/'",
            "unable to access 'https://***@example.com/site.git/'",
        ),
        (
            "https://ghp_s3cret@example.com/x and ssh://git@example.com/y",
            "https://***@example.com/x and ssh://***@example.com/y",
        ),
        ("HTTPS://u:p@ss@example.com/", "HTTPS://***@example.com/"),
        ("git@example.com:site.git", "git@example.com:site.git"),
    ],
)
def test_every_git_message_hides_url_credentials(said: str, shown: str) -> None:
    assert str(GitError(f"git fetch failed: {said}")) == f"git fetch failed: {shown}"


def test_nothing_to_push_and_no_pull_asks_no_remote(site: Site, clone: Path) -> None:
    site.bare.rename(site.bare.with_name("moved.git"))
    result = synchronize(clone, pull=False, push=True, pending={9})
    assert (result.problem, result.pushed, result.commits) == (None, True, ())


# --- push -------------------------------------------------------------------------------


def test_push_sends_the_decision_commit(site: Site, clone: Path) -> None:
    mine = commit(clone, "a.md", ARTICLE.replace("false", "true"), "Publish: A", decision=1)
    result = synchronize(clone, pull=False, push=True, pending={1})
    assert (result.problem, result.pushed, result.moved) == (None, True, False)
    assert [(c.sha, c.decision, c.now) for c in result.commits] == [(mine, 1, mine)]
    assert site.tip() == mine
    assert git(clone, "rev-parse", "origin/main").strip() == mine


def test_a_rejected_push_is_fetched_replayed_and_pushed_again(site: Site) -> None:
    first, second = site.clone("first"), site.clone("second")
    theirs = commit(first, "a.md", ARTICLE.replace("false", "true"), "Publish: A", decision=1)
    mine = commit(second, "b.md", ARTICLE.replace("false", "true"), "Publish: B", decision=2)
    assert synchronize(first, pull=False, push=True, pending={1}).pushed

    pauses: list[float] = []
    result = synchronize(second, pull=False, push=True, pending={2}, pause=pauses.append)

    assert (result.problem, result.pushed, result.moved) == (None, True, True)
    (replayed,) = result.commits
    assert replayed.sha == mine and replayed.now == site.tip() != mine
    assert pauses == []  # the first push already knew what it had to be on top of
    assert log(site.bare, "main") == ["Publish: B", "Publish: A", "Initial articles"]
    assert git(site.bare, "rev-list", "--merges", "main") == ""
    assert git(site.bare, "rev-parse", "main~1").strip() == theirs
    assert "published: true" in (second / "a.md").read_text()


def test_rejections_are_retried_with_backoff_then_left_for_later(site: Site) -> None:
    # Fetch from a mirror that lags, push to the real remote: every push is rejected
    # until the mirror catches up, as when others keep pushing first.
    mirror = site.root / "mirror.git"
    subprocess.run(["git", "clone", "-q", "--mirror", str(site.bare), str(mirror)], check=True)
    replica = site.clone("replica")
    git(replica, "remote", "set-url", "origin", str(mirror))
    git(replica, "remote", "set-url", "--push", "origin", str(site.bare))
    site.upstream_edit("c.md", ARTICLE, "Someone else's article")
    mine = commit(replica, "a.md", ARTICLE.replace("false", "true"), "Publish: A", decision=5)

    pauses: list[float] = []
    result = synchronize(replica, pull=False, push=True, pending={5}, pause=pauses.append)
    assert result.problem == (
        "the push to origin/main was rejected 4 times, as others kept pushing first: the "
        "commits stay and are pushed at the next run"
    )
    assert pauses == [0.2, 0.4, 0.8]
    assert not result.pushed and head(replica) == mine

    def catch_up(seconds: float) -> None:
        pauses.append(seconds)
        git(mirror, "fetch", "-q", "origin", "+refs/heads/*:refs/heads/*")

    pauses.clear()
    result = synchronize(replica, pull=False, push=True, pending={5}, pause=catch_up)
    assert (result.problem, result.pushed, pauses) == (None, True, [0.2])
    assert log(site.bare, "main")[:2] == ["Publish: A", "Someone else's article"]


def test_a_push_that_loses_the_ref_lock_race_is_fetched_and_pushed_again(site: Site) -> None:
    # Another push holds the remote branch's lock at this very moment: receive-pack answers
    # "[remote rejected] main (failed to update ref)" (GitHub: "cannot lock ref").
    replica = site.clone("replica")
    mine = commit(replica, "a.md", ARTICLE.replace("false", "true"), "Publish: A", decision=3)
    held = site.bare / "refs" / "heads" / "main.lock"
    held.touch()

    def the_other_push_lands(seconds: float) -> None:
        held.unlink()
        site.upstream_edit("c.md", ARTICLE, "The other push")

    result = synchronize(replica, pull=False, push=True, pending={3}, pause=the_other_push_lands)

    assert (result.problem, result.pushed) == (None, True)
    assert not held.exists()  # the pause ran once: one retry
    assert log(site.bare, "main") == ["Publish: A", "The other push", "Initial articles"]
    assert result.commits[0].sha == mine and result.commits[0].now == site.tip()


def test_a_ref_lock_race_that_never_ends_is_left_for_the_next_run(site: Site) -> None:
    replica = site.clone("replica")
    mine = commit(replica, "a.md", ARTICLE.replace("false", "true"), "Publish: A", decision=3)
    (site.bare / "refs" / "heads" / "main.lock").touch()
    pauses: list[float] = []
    result = synchronize(replica, pull=False, push=True, pending={3}, pause=pauses.append)
    assert result.problem is not None and "rejected 4 times" in result.problem
    assert len(pauses) == 3 and not result.pushed and head(replica) == mine


# --- only decisions are pushed, and what the upstream removed stays removed ------------


def force_back(site: Site, rev: str) -> None:
    """The maintainer force-pushes the remote's main back to `rev`."""
    git(site.bare, "update-ref", "refs/heads/main", rev)


def published_then_rewound(site: Site, clone: Path) -> None:
    """A's publish is pushed, a secret is pushed upstream and pulled, then the maintainer
    force-pushes main back to before both."""
    initial = site.tip()
    commit(clone, "a.md", ARTICLE.replace("false", "true"), "Publish: A", decision=1)
    assert synchronize(clone, pull=False, push=True, pending={1}).pushed
    site.upstream_edit("SECRET.txt", "hunter2\n", "oops: secret")
    assert synchronize(clone, pull=True, push=True).moved
    force_back(site, initial)


def test_a_force_push_upstream_is_never_undone(site: Site, clone: Path) -> None:
    published_then_rewound(site, clone)
    commit(clone, "b.md", ARTICLE.replace("false", "true"), "Publish: B", decision=2)

    result = synchronize(clone, pull=True, push=True, pending={2})

    assert (result.problem, result.pushed, result.gone) == (None, True, 2)
    assert log(site.bare, "main") == ["Publish: B", "Initial articles"]
    assert "SECRET.txt" not in git(site.bare, "ls-tree", "--name-only", "main")
    # The clone follows the upstream, as `git pull --rebase` does.
    assert head(clone) == site.tip() and not (clone / "SECRET.txt").exists()
    assert "published: false" in (clone / "a.md").read_text()


def test_without_a_reflog_removed_commits_are_still_never_pushed(site: Site, clone: Path) -> None:
    published_then_rewound(site, clone)
    git(clone, "config", "core.logAllRefUpdates", "false")
    shutil.rmtree(clone / ".git" / "logs")
    commit(clone, "b.md", ARTICLE.replace("false", "true"), "Publish: B", decision=2)

    # Decision 1 is known pushed (not pending): neither it nor the secret goes back.
    result = synchronize(clone, pull=True, push=True, pending={2})

    assert (result.problem, result.pushed, result.own) == (None, True, 1)
    assert log(site.bare, "main") == ["Publish: B", "Initial articles"]
    assert log(clone)[:3] == ["oops: secret", "Publish: A", "Publish: B"]


def test_a_commit_made_by_hand_in_the_clone_is_kept_and_never_pushed(
    site: Site, clone: Path
) -> None:
    commit(clone, "drafts-wip.txt", "half a thought\n", "WIP do not push")
    commit(clone, "a.md", ARTICLE.replace("false", "true"), "Publish: A", decision=4)

    result = synchronize(clone, pull=False, push=True, pending={4})

    assert (result.problem, result.pushed, result.own) == (None, True, 1)
    assert log(site.bare, "main") == ["Publish: A", "Initial articles"]
    assert "drafts-wip.txt" not in git(site.bare, "ls-tree", "--name-only", "main")
    # In the clone, the hand-made commit now sits on top of what was pushed.
    assert log(clone)[:2] == ["WIP do not push", "Publish: A"]
    assert git(clone, "rev-parse", "HEAD~1").strip() == site.tip()
    assert (clone / "drafts-wip.txt").read_text() == "half a thought\n"

    commit(clone, "b.md", ARTICLE.replace("false", "true"), "Publish: B", decision=5)
    assert synchronize(clone, pull=True, push=True, pending={5}).pushed
    assert log(site.bare, "main") == ["Publish: B", "Publish: A", "Initial articles"]
    assert log(clone)[0] == "WIP do not push"


def test_a_decision_whose_file_changed_upstream_is_dropped_not_pushed(
    site: Site, clone: Path
) -> None:
    stale = commit(clone, "a.md", ARTICLE.replace("false", "true"), "Publish: A", decision=7)
    kept = commit(clone, "b.md", ARTICLE.replace("false", "true"), "Publish: B", decision=8)
    edited = ARTICLE.replace("Harbor City", "Harbor Town")
    site.upstream_edit("a.md", edited, "Retitle A")

    result = synchronize(clone, pull=False, push=True, pending={7, 8})

    assert (result.problem, result.pushed, result.moved) == (None, True, True)
    assert result.dropped == [7]
    assert [(c.sha, c.now is None) for c in result.commits] == [(stale, True), (kept, False)]
    assert (clone / "a.md").read_text() == edited == site.file("a.md")
    assert "published: true" in site.file("b.md")
    assert log(site.bare, "main") == ["Publish: B", "Retitle A", "Initial articles"]


def test_a_hand_commit_next_to_the_flag_neither_blocks_the_decision_nor_the_pull(
    site: Site, clone: Path
) -> None:
    # The line right above `published:` changed by hand, committed, never to be pushed.
    article_a = ARTICLE.replace("Harbor", "A")
    by_hand = article_a.replace("heat: 80", "heat: 99")
    commit(clone, "a.md", by_hand, "Hand: heat")
    commit(clone, "a.md", by_hand.replace("false", "true"), "Publish: A", decision=3)
    site.upstream_edit("b.md", ARTICLE.replace("line five", "line 5"), "Edit B")

    result = synchronize(clone, pull=True, push=True, pending={3})

    assert (result.problem, result.pushed, result.own, result.dropped) == (None, True, 1, [])
    # The decision is made again on the upstream's file: its flag, and nothing of the hand's.
    assert site.file("a.md") == article_a.replace("false", "true")
    assert log(site.bare, "main") == ["Publish: A", "Edit B", "Initial articles"]
    assert log(clone)[:3] == ["Hand: heat", "Publish: A", "Edit B"]
    assert (clone / "a.md").read_text() == by_hand.replace("false", "true")
    assert "line 5" in (clone / "b.md").read_text()
    assert synchronize(clone, pull=True, push=True).problem is None


def test_an_upstream_rewound_under_a_waiting_decision_drops_it(site: Site, clone: Path) -> None:
    before, article_a = site.tip(), ARTICLE.replace("Harbor", "A")
    reviewed = article_a.replace("Body line one.", "REVIEWED VERSION 2")
    site.upstream_edit("a.md", reviewed, "Version 2 of A")
    assert synchronize(clone, pull=True, push=False).moved
    commit(clone, "a.md", reviewed.replace("false", "true"), "Publish: A", decision=5)
    force_back(site, before)  # the maintainer takes version 2 back

    result = synchronize(clone, pull=True, push=True, pending={5})

    # Version 1 was never reviewed: the decision is not published on top of it.
    assert (result.problem, result.dropped) == (None, [5])
    assert site.tip() == before and site.file("a.md") == article_a
    assert (clone / "a.md").read_text() == article_a and head(clone) == before


def test_a_commit_that_is_not_a_pending_decision_is_never_dropped(site: Site, clone: Path) -> None:
    mine = commit(clone, "a.md", ARTICLE.replace("heat: 80", "heat: 1"), "Publish: A", decision=7)
    theirs = site.upstream_edit("a.md", ARTICLE.replace("heat: 80", "heat: 2"))
    result = synchronize(clone, pull=True, push=True, pending={99})
    assert result.problem is not None and "conflicts with origin/main in a.md" in result.problem
    assert head(clone) == mine and site.tip() == theirs


def test_a_pending_decision_already_upstream_is_found(site: Site, clone: Path) -> None:
    # Pushed by this replica before it could record so, or by another one.
    other = site.clone("other")
    sha = commit(other, "a.md", ARTICLE.replace("false", "true"), "Publish: A", decision=11)
    git(other, "push", "-q", "origin", "main")
    result = synchronize(clone, pull=True, push=True, pending={11, 12})
    assert result.landed == {11: sha}
    assert result.problem is None


def test_a_remote_that_refuses_the_push_is_one_sentence(site: Site, clone: Path) -> None:
    hook = site.bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'no pushes on Sunday' >&2\nexit 1\n")
    hook.chmod(0o755)
    mine = commit(clone, "a.md", ARTICLE.replace("false", "true"), "Publish: A", decision=1)
    result = synchronize(clone, pull=False, push=True, pending={1})
    assert result.problem == "origin/main refused the push: pre-receive hook declined"
    assert head(clone) == mine and site.tip() != mine


def test_a_clone_without_an_upstream_or_branch_says_so(site: Site, clone: Path) -> None:
    git(clone, "branch", "--unset-upstream")
    result = synchronize(clone, pull=True, push=True)
    assert result.problem == (
        f"branch main in {clone} has no upstream to pull from or push to: set one with "
        "git branch --set-upstream-to=origin/main"
    )
    git(clone, "checkout", "-q", "--detach")
    assert synchronize(clone, pull=True, push=True).problem == (
        f"the clone at {clone} is not on a branch (detached HEAD): check out the branch "
        "newsbot should follow"
    )


# --- a .git that others can write runs nothing -----------------------------------------------


def plant(clone: Path, markers: Path) -> Callable[[], list[str]]:
    """Hooks and config commands that leave a marker if git ever runs them."""
    markers.mkdir()
    scripts = clone / ".git" / "planted"
    scripts.mkdir()

    def script(name: str, status: int = 1) -> str:
        path = scripts / name
        path.write_text(f"#!/bin/sh\necho ran >> '{markers / name}'\nexit {status}\n")
        path.chmod(0o755)
        return str(path)

    for hook in (
        "pre-push",
        "post-checkout",
        "post-merge",
        "post-rewrite",
        "reference-transaction",
        "post-index-change",
    ):
        target = clone / ".git" / "hooks" / hook
        target.write_text(Path(script(hook, 0)).read_text())
        target.chmod(0o755)
    git(clone, "config", "core.fsmonitor", script("fsmonitor"))
    git(clone, "config", "core.sshCommand", script("ssh"))
    git(clone, "config", "core.askPass", script("askpass"))
    git(clone, "config", "core.pager", script("pager"))
    git(clone, "config", "remote.origin.uploadpack", script("uploadpack"))
    git(clone, "config", "remote.origin.receivepack", script("receivepack"))
    git(clone, "config", "commit.gpgSign", "true")
    git(clone, "config", "gpg.program", script("gpg"))
    return lambda: sorted(p.name for p in markers.iterdir())


def test_a_planted_git_folder_runs_nothing_while_pulling_and_pushing(
    site: Site, clone: Path, tmp_path: Path
) -> None:
    commit(clone, "b.md", ARTICLE.replace("false", "true"), "Publish: B", decision=1)
    ran = plant(clone, tmp_path / "markers")
    site.upstream_edit("a.md", ARTICLE.replace("heat: 80", "heat: 95"))
    result = synchronize(clone, pull=True, push=True, pending={1})
    assert (result.problem, result.pushed, result.moved) == (None, True, True)
    assert ran() == []
    assert log(site.bare, "main")[0] == "Publish: B"


@pytest.mark.parametrize(
    "key",
    [
        "credential.helper",
        "credential.https://example.com.helper",
        "filter.evil.smudge",
        "merge.evil.driver",
        "core.alternateRefsCommand",
        "protocol.ext.allow",
    ],
)
def test_a_command_in_the_repository_config_is_refused(
    site: Site, clone: Path, tmp_path: Path, key: str
) -> None:
    marker = tmp_path / "ran"
    git(clone, "config", key, f"!sh -c 'touch {marker}'")
    before = head(clone)
    site.upstream_edit("a.md", ARTICLE.replace("heat: 80", "heat: 95"))
    result = synchronize(clone, pull=True, push=True)
    assert result.problem is not None
    assert result.problem.startswith(f"the repository's own git config in {clone} sets ")
    assert key.lower() in result.problem.lower() and "newsbot will not run" in result.problem
    assert head(clone) == before and not marker.exists()


@pytest.fixture
def asks_for_a_password() -> Iterator[str]:
    """An HTTP remote that answers every request with 401, as a private repository does."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="site"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/site.git"
    server.shutdown()
    server.server_close()


def test_credentials_come_from_the_operators_helper_and_nobody_is_asked(
    site: Site, clone: Path, tmp_path: Path, asks_for_a_password: str
) -> None:
    asked = tmp_path / "asked"
    helper = tmp_path / "helper.sh"
    helper.write_text(f"#!/bin/sh\necho \"$1\" >> '{asked}'\n")
    helper.chmod(0o755)
    global_config = Path(os.environ["GIT_CONFIG_GLOBAL"])
    global_config.write_text(global_config.read_text() + f"[credential]\n\thelper = {helper}\n")
    git(clone, "remote", "set-url", "origin", asks_for_a_password)

    result = synchronize(clone, pull=True, push=False)

    # The helper had nothing to give, and with no prompt allowed git gave up at once.
    assert asked.read_text().split() == ["get"]
    assert result.problem is not None and result.problem.startswith("could not fetch")
    assert "terminal prompts disabled" in result.problem


# --- time limits and taking turns -------------------------------------------------------------


@pytest.fixture
def silent_server() -> Iterator[int]:
    """An HTTP "remote" that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


def test_a_git_command_that_hangs_is_stopped_with_what_it_started(
    site: Site, clone: Path, silent_server: int
) -> None:
    url = f"http://127.0.0.1:{silent_server}/silent-{os.getpid()}.git"
    with pytest.raises(GitError) as raised:
        run_git(clone, "ls-remote", url, network=True, timeout=1)
    assert str(raised.value) == "git ls-remote did not finish within 1 s and was stopped"
    # git's http helper was in its process group, and went with it.
    leftovers = []
    for proc in Path("/proc").iterdir():
        try:
            if url.encode() in (proc / "cmdline").read_bytes():
                leftovers.append(proc.name)
        except OSError:
            continue
    assert leftovers == []


def test_threads_and_processes_take_turns_in_one_clone(site: Site, clone: Path) -> None:
    with clone_lock(clone), clone_lock(clone):  # reentrant in one thread
        failures: list[str] = []

        def other_thread() -> None:
            try:
                with clone_lock(clone, wait=0.2):
                    pass
            except GitError as exc:
                failures.append(str(exc))

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
    assert len(failures) == 1 and "another newsbot process has been working" in failures[0]

    lock_file = clone / ".git" / "newsbot-sync.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys\n"
            f"fd = os.open({str(lock_file)!r}, os.O_RDONLY | os.O_CREAT)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "print('held', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(GitError, match="another newsbot process"), clone_lock(clone, wait=0.2):
            pass
    finally:
        holder.communicate("", timeout=10)
    with clone_lock(clone, wait=5):
        pass
