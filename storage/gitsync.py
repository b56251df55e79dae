"""Keeping a clone of the site's repository in step with its remote: pull before an index
run, push each decision's commit.

The branch checked out follows an upstream (`origin/main`). `synchronize`
fetches it; then the local commits not on it yet are put on top of it, and
with `push=True` the commits of newsbot's own decisions (those listed in
`pending`) are pushed, and nothing else: a commit made by hand in the clone
stays there, on top of them, and is never pushed. Commits the upstream had and
no longer has (a force-push removed them; git's fork point, from the reflog
of the tracking branch, tells) leave the branch as `git pull --rebase` drops
them, so they never go back. A push the remote rejects because someone pushed
first, or because another push held the branch's ref lock at that moment, is
fetched and put on top again, a few times with a pause in between.

What is never done: a forced push; rewriting a commit the upstream has (only
commits in `upstream..HEAD` are ever replayed); touching uncommitted work.
The local commits are replayed in memory (`git merge-tree`, `git commit-tree`:
no rebase in the work tree, so no half-done state to abort), and the work
tree then moves to the result as `git checkout` moves between branches: files
the move does not change keep whatever is in them, staged or not, and if one
it would change has local changes, or an untracked file is in the way,
nothing moves at all. A replay that conflicts changes nothing either. Every
refusal is one sentence in `SyncResult.problem`.

A decision commit carries its decision's id in a `Newsbot-Decision:` trailer.
With `push=True`, a decision commit listed in `pending` whose file changed on
the upstream since the clone last had it (judged per commit, so a force-push
back to before the reviewed version counts), or which the upstream had and
removed, is dropped rather than put on top of someone else's edit; the caller
then undoes the decision in the database. One that stands is not
cherry-picked but made again on the upstream's file, its `published` flag set
by the write-back's rule, so a commit made by hand next to that line cannot
make it conflict.

Two locks take turns in a clone: `clone_lock` for what moves the branch or
the index (a decision's commit, the replay and the checkout), held for local
git commands only; and `exchange_lock` around a whole fetch-replay-push, so a
click's commit never waits behind the network.

A repository's own config may name commands that these git commands would run
(credential helpers, filter and merge drivers, ...): such a config is refused
(`_COMMAND_KEYS`), while the operator's system and global config, and the
environment, are used as they are. Every git command runs through
`storage.gitrun`: no hooks, no prompts, a timeout.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from storage.gitrun import GitError, one_line, reason, run, run_git, run_git_bytes
from storage.writeback import WriteBackError, published_in, with_published

__all__ = [
    "PUSH_ATTEMPTS",
    "TRAILER",
    "GitError",
    "LocalCommit",
    "SyncResult",
    "clone_lock",
    "decision_commits",
    "exchange_lock",
    "synchronize",
]

#: The trailer that ties a commit to its review decision.
TRAILER = "Newsbot-Decision"
#: Pushes tried, each after a fetch and replay, before a rejection is left for later.
PUSH_ATTEMPTS = 4
#: The pause after the first rejected push; it doubles after each one.
BACKOFF_SECONDS = 0.2
#: How long to wait for another newsbot process working in the same clone.
LOCK_WAIT_SECONDS = 120.0
#: Upstream commits searched for decisions pushed before their push was recorded.
SCANNED_COMMITS = 1000
LOCK_FILE = "newsbot-sync.lock"
EXCHANGE_LOCK_FILE = "newsbot-exchange.lock"

# Config keys naming a command fetch, push, merge-tree or checkout could run
# (lower-cased as `git config --list` prints them). From the repository's own
# config they are refused: whoever can write `.git` must not run code through
# newsbot. core.sshCommand is overridden by GIT_SSH_COMMAND (storage.gitrun), an
# upload-pack or receive-pack by the command line, hooks by core.hooksPath.
_COMMAND_KEYS = re.compile(
    r"(?:credential\..*helper"
    r"|filter\..*\.(?:clean|smudge|process)"
    r"|merge\..*\.driver"
    r"|core\.(?:alternaterefscommand|worktree)"
    r"|protocol\..*allow"
    r")\Z"
)
_OWN_SCOPES = ("local", "worktree")
_SEP, _END = "\x1f", "\x1e"


@dataclass(frozen=True, slots=True)
class LocalCommit:
    """A commit of the clone that the upstream did not have when the run began.

    `now` is its sha after the run: the same when it did not move, a new one
    when it was replayed on top of the upstream, the upstream's tip when the
    upstream already had its change, None when it was dropped (its decision's
    file changed upstream).
    """

    sha: str
    decision: int | None
    now: str | None


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What `synchronize` did.

    `moved`: the branch and work tree moved (the index run should follow).
    `pushed`: every commit of a `pending` decision left is on the remote.
    `landed`: decisions of `pending` that were not local commits but are on the
    upstream already (pushed before a crash could record it), with their sha.
    `own`: local commits made by hand (no decision trailer), which are never
    pushed. `gone`: commits the upstream had and removed, dropped from the branch.
    """

    commits: tuple[LocalCommit, ...] = ()
    landed: Mapping[int, str] = field(default_factory=dict)
    moved: bool = False
    pushed: bool = False
    problem: str | None = None
    own: int = 0
    gone: int = 0

    @property
    def dropped(self) -> list[int]:
        """The decisions whose commits were dropped, in the order they were made."""
        return [c.decision for c in self.commits if c.now is None and c.decision is not None]


def synchronize(
    folder: Path,
    *,
    pull: bool,
    push: bool,
    pending: Collection[int] = (),
    attempts: int = PUSH_ATTEMPTS,
    pause: Callable[[float], None] = time.sleep,
) -> SyncResult:
    """Bring the clone holding `folder` up to date with its upstream, and push what it has.

    With `pull`, the upstream is fetched and the branch brought on top of it
    even when there is nothing to push. With `push`, the commits of the
    decisions in `pending` (those not known to be pushed) are pushed, fetched
    and replayed first when the upstream moved; if the clone has none, nothing
    happens unless `pull`. Pending decisions with no local commit are looked
    for on the upstream; local ones may be dropped (see the module).
    """
    try:
        with exchange_lock(folder):
            return _Run(_Clone.open(folder), pending, pause).go(
                pull=pull, push=push, attempts=attempts
            )
    except GitError as exc:
        return SyncResult(problem=str(exc))


class _Run:
    """One synchronisation, under the clone's exchange lock; keeps what became of each
    local commit."""

    def __init__(
        self, clone: _Clone, pending: Collection[int], pause: Callable[[float], None]
    ) -> None:
        self.clone = clone
        self.pending = frozenset(pending)
        self.pause = pause
        self.originals: list[_Commit] = []
        self.now: dict[str, str | None] = {}  # original sha -> its sha now
        self.moved = False
        self.own = 0
        self.gone = 0

    def go(self, *, pull: bool, push: bool, attempts: int) -> SyncResult:
        with clone_lock(self.clone.folder):
            self.originals = self.clone.local_commits()
        self.now = {c.sha: c.sha for c in self.originals}
        ours = [c for c in self.originals if c.decision in self.pending]
        if not pull and not (push and ours):
            return self._result(pushed=not ours, problem=None)
        try:
            pushed, problem = self._exchange(push=push, attempts=attempts)
        except GitError as exc:
            # What moved stays recorded in self.now: the work tree is where it went.
            pushed, problem = False, str(exc)
        return self._result(pushed=pushed, problem=problem)

    def _exchange(self, *, push: bool, attempts: int) -> tuple[bool, str | None]:
        """Fetch, replay, push; again after a rejection. Whether all is pushed, and why not.

        Only the replay holds the clone lock: a decision committed meanwhile
        lands on top of what is pushed, and waits for its own exchange.
        """
        clone = self.clone
        for attempt in range(attempts):
            clone.fetch()
            with clone_lock(clone.folder):
                tip = self._rebase(push=push)
            if tip == clone.upstream_tip():
                return True, None
            if not push:
                return False, None
            refused = clone.push(tip)
            if refused is None:
                return True, None
            if refused != _REJECTED:
                return False, refused
            if attempt + 1 < attempts:
                self.pause(BACKOFF_SECONDS * 2**attempt)
        return False, (
            f"the push to {clone.upstream_name} was rejected {attempts} times, as others kept "
            "pushing first: the commits stay and are pushed at the next run"
        )

    def _rebase(self, *, push: bool) -> str:
        """Put the local commits on top of the fetched upstream, move the work tree there,
        and return the commit to push: the upstream with the pending decisions on top
        (without `push`, the branch's new tip).

        With `push`, the pending decisions' commits come first and the clone's
        own commits after them, so that what is pushed holds nothing else.
        Commits the upstream removed are dropped from the branch, and so is a
        pending decision whose file changed upstream (`_reapply`).
        """
        clone = self.clone
        head, upstream = clone.head(), clone.upstream_tip()
        local = clone.local_commits()
        fork = clone.fork_point(head)
        gone = clone.removed_upstream(fork) if local else set()
        kept = [c for c in local if c.sha not in gone]
        ours = [c for c in kept if push and c.decision in self.pending]
        own = [c for c in kept if not (push and c.decision in self.pending)]
        self.own = sum(1 for c in own if c.decision is None)
        self.gone = len(gone)
        fates: dict[str, str | None] = {c.sha: None for c in local if c.sha in gone}
        by_sha = {c.sha: c for c in local}
        flags: dict[str, bool] = {}  # path -> the published flag the decisions kept set
        tip = upstream
        for commit in ours:
            base = _upstream_base(commit, by_sha, gone)
            now = fates[commit.sha] = self._reapply(commit, onto=tip, upstream=upstream, base=base)
            if now is not None:
                tip = now
                flags.update(clone.flag_set_by(commit))
        to_push = tip
        for commit in own:
            tip = fates[commit.sha] = self._replay(commit, onto=tip, flags=flags)
        if tip != head:
            clone.switch(tip)
            self.moved = True
        for original, now in self.now.items():
            if now is not None:
                self.now[original] = fates.get(now, now)
        return to_push if push else tip

    def _reapply(self, commit: _Commit, *, onto: str, upstream: str, base: str) -> str | None:
        """A decision's commit on top of `onto`; None when its file changed upstream.

        `base` is the upstream's last commit under it: the file as the clone had it
        from the upstream when the card was shown. If the upstream's file is not
        that one any more (edited, or rewound by a force-push), the decision is
        dropped. Otherwise the decision is made again on `onto`'s file by the
        write-back's rule (only the `published` token changes), not cherry-picked:
        no hand-made commit next to it can make it conflict.
        """
        clone = self.clone
        if len(commit.paths) != 1:  # not one of ours as newsbot makes them
            if commit.paths & clone.changed_paths(base, upstream):
                return None
            return self._replay(commit, onto=onto)
        (path,) = commit.paths
        if clone.blob(base, path) != clone.blob(upstream, path):
            return None
        if commit.parent == onto:
            return commit.sha
        theirs, current = clone.blob(commit.sha, path), clone.blob(onto, path)
        if theirs is None or current is None:
            return self._replay(commit, onto=onto)
        if clone.blob(commit.parent, path) == current:
            new = theirs
        else:
            flag = clone.flag_set_by(commit).get(path)
            made = None if flag is None else clone.with_flag(current, path, flag)
            if made is None:
                return None  # not a change newsbot can make again on this version
            new = made
        if new == current:
            return onto  # the upstream made the same change
        tree = clone.tree_with(onto, {path: new})
        return clone.commit_like(commit, tree=tree, parent=onto)

    def _replay(
        self, commit: _Commit, *, onto: str, flags: Mapping[str, bool] | None = None
    ) -> str:
        """`commit` itself when it is on `onto` already, else its change on top of `onto`
        (`onto` itself when the upstream made the same change).

        `flags`: the `published` values the decisions under `onto` set, by path; the
        commit's change is taken with them applied on both sides, so that a commit
        made by hand before a decision, next to its line, does not conflict with it.
        """
        clone = self.clone
        if commit.parent == onto:
            return commit.sha
        tree = clone.replayed_tree(commit, onto=onto, flags=flags or {})
        if tree == clone.tree_of(onto):
            return onto
        return clone.commit_like(commit, tree=tree, parent=onto)

    def _result(self, *, pushed: bool, problem: str | None) -> SyncResult:
        missing = self.pending - {c.decision for c in self.originals}
        try:
            landed = self.clone.landed(missing) if missing else {}
        except GitError as exc:
            landed, problem = {}, problem or str(exc)
        return SyncResult(
            commits=tuple(LocalCommit(c.sha, c.decision, self.now[c.sha]) for c in self.originals),
            landed=landed,
            moved=self.moved,
            pushed=pushed,
            problem=problem,
            own=self.own,
            gone=self.gone,
        )


_REJECTED = "rejected"
# A push that lost the race for the branch's ref lock to another push at the same moment
# ("[remote rejected] main (failed to update ref)"; GitHub: "cannot lock ref ...").
_LOCK_RACE = re.compile(
    r"failed to update ref|cannot lock ref|failed to lock|unable to lock|incorrect old value",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class _Commit:
    sha: str
    parent: str
    decision: int | None
    paths: frozenset[str]


def _upstream_base(commit: _Commit, local: Mapping[str, _Commit], gone: Collection[str]) -> str:
    """The nearest commit under `commit` that came from the upstream: its parent, or below
    the clone's own local commits (a commit the upstream removed came from it too)."""
    sha = commit.parent
    while sha in local and sha not in gone:
        sha = local[sha].parent
    return sha


class _Clone:
    """The clone's branch and upstream, and the git commands on them."""

    def __init__(
        self, folder: Path, branch: str, remote: str, remote_ref: str, tracking: str
    ) -> None:
        self.folder = folder
        self.branch = branch
        self.remote = remote
        self.remote_ref = remote_ref
        self.tracking = tracking

    @property
    def upstream_name(self) -> str:
        short = self.remote_ref.removeprefix("refs/heads/")
        return f"{self.remote}/{short}"

    @classmethod
    def open(cls, folder: Path) -> _Clone:
        """The clone's branch and upstream; GitError when it has none or its config runs code."""
        git = _git_in(folder)
        branch = git("symbolic-ref", "-q", "--short", "HEAD", ok=(0, 1)).strip()
        if not branch:
            raise GitError(
                f"the clone at {folder} is not on a branch (detached HEAD): check out the "
                "branch newsbot should follow"
            )
        line = git(
            "for-each-ref",
            f"--format=%(upstream:remotename){_SEP}%(upstream:remoteref){_SEP}%(upstream)",
            f"refs/heads/{branch}",
        ).strip()
        remote, remote_ref, tracking = ([*line.split(_SEP), "", ""])[:3]
        if not remote or not remote_ref or not tracking:
            raise GitError(
                f"branch {branch} in {folder} has no upstream to pull from or push to: set one "
                f"with git branch --set-upstream-to=origin/{branch}"
            )
        if remote == ".":
            raise GitError(
                f"branch {branch} in {folder} follows the local branch {remote_ref}, not a remote"
            )
        _refuse_commands(folder)
        return cls(folder, branch, remote, remote_ref, tracking)

    def git(self, *args: str, ok: tuple[int, ...] = (0,), input: str | None = None) -> str:
        return run_git(self.folder, *args, subject=f" in {self.folder}", ok=ok, input=input)

    def head(self) -> str:
        return self.git("rev-parse", "--verify", "HEAD").strip()

    def upstream_tip(self) -> str:
        return self.git("rev-parse", "--verify", f"{self.tracking}^{{commit}}").strip()

    def has_upstream_tip(self) -> bool:
        out = self.git("rev-parse", "--verify", "-q", f"{self.tracking}^{{commit}}", ok=(0, 1))
        return bool(out.strip())

    def tree_of(self, commit: str) -> str:
        return self.git("rev-parse", "--verify", f"{commit}^{{tree}}").strip()

    def merge_base(self, a: str, b: str) -> str:
        base = self.git("merge-base", a, b, ok=(0, 1)).strip()
        if not base:
            raise GitError(
                f"branch {self.branch} in {self.folder} and {self.upstream_name} share no "
                "history: nothing was changed"
            )
        return base

    def local_commits(self) -> list[_Commit]:
        """The commits in upstream..HEAD, oldest first (all of HEAD before a first fetch)."""
        if not self.has_upstream_tip():
            return []
        out = self.git(
            "log",
            "--reverse",
            "--topo-order",
            f"--format=%H %P{_SEP}%(trailers:key={TRAILER},valueonly,separator=%x2C){_END}",
            f"{self.tracking}..HEAD",
        )
        commits = []
        for record in out.split(_END):
            if not record.strip():
                continue
            shas, _, trailer = record.strip().partition(_SEP)
            sha, *parents = shas.split()
            if len(parents) != 1:
                raise GitError(
                    f"the local commit {sha[:10]} in {self.folder} is a merge, which newsbot "
                    f"does not replay: bring branch {self.branch} on top of "
                    f"{self.upstream_name} by hand"
                )
            first = trailer.split(",")[0].strip()
            decision = int(first) if first.isascii() and first.isdigit() else None
            paths = self.changed_paths(parents[0], sha)
            commits.append(_Commit(sha, parents[0], decision, frozenset(paths)))
        return commits

    def fork_point(self, head: str) -> str | None:
        """Where the branch forked from any value the tracking branch had (its reflog), as
        `git pull --rebase` finds it; None when git cannot tell."""
        out = self.git("merge-base", "--fork-point", self.tracking, head, ok=(0, 1)).strip()
        return out or None

    def removed_upstream(self, fork: str | None) -> set[str]:
        """The commits of the branch the upstream had (at the fork point) and no longer has."""
        if fork is None:
            return set()
        out = self.git("rev-list", fork, f"^{self.tracking}")
        return set(out.split())

    def changed_paths(self, old: str, new: str) -> set[str]:
        out = self.git("diff-tree", "-r", "-z", "--name-only", "--no-renames", old, new)
        return {path for path in out.split("\0") if path}

    def replayed_tree(
        self, commit: _Commit, *, onto: str, flags: Mapping[str, bool] | None = None
    ) -> str:
        """The tree of `commit`'s change applied on top of `onto`, merged in memory.

        merge-tree (git 2.38) takes the merge base of its two commits: a
        throwaway commit with `onto`'s tree and `commit`'s parent makes that
        base the parent, as a cherry-pick has it. With `flags` ({path: the
        `published` value}), the parent and the commit are taken with those set.
        """
        if commit.parent == onto:
            return self.tree_of(commit.sha)
        parent, theirs = commit.parent, commit.sha
        if flags:
            base_tree = self.with_flags(self.tree_of(commit.parent), flags)
            parent = self.git("commit-tree", "-m", "newsbot: replay base", base_tree).strip()
            theirs_tree = self.with_flags(self.tree_of(commit.sha), flags)
            theirs = self.git(
                "commit-tree", "-p", parent, "-m", "newsbot: replayed", theirs_tree
            ).strip()
        stand_in = self.git(
            "commit-tree",
            "-p",
            parent,
            "-m",
            "newsbot: replay base",
            self.tree_of(onto),
        ).strip()
        out = self.git(
            "merge-tree",
            "--write-tree",
            "--name-only",
            "--no-messages",
            "-z",
            stand_in,
            theirs,
            ok=(0, 1),
        )
        tree, *conflicted = [part for part in out.split("\0") if part]
        if conflicted:
            files = ", ".join(sorted(set(conflicted))[:5])
            raise GitError(
                f"the local commit {commit.sha[:10]} in {self.folder} conflicts with "
                f"{self.upstream_name} in {one_line(files)}: nothing was changed; bring it on "
                "top of the upstream by hand"
            )
        return tree

    def blob(self, rev: str, path: str) -> str | None:
        """The blob of `path` in `rev` (a commit or a tree), None when it has none."""
        out = self.git("rev-parse", "-q", "--verify", f"{rev}:{path}", ok=(0, 1)).strip()
        return out or None

    def flag_set_by(self, commit: _Commit) -> dict[str, bool]:
        """{path: value} when `commit` is a decision as newsbot makes them: one article file
        whose `published` flag it set; else nothing."""
        if len(commit.paths) != 1:
            return {}
        (path,) = commit.paths
        blob = self.blob(commit.sha, path)
        if blob is None:
            return {}
        try:
            return {path: published_in(self.read_blob(blob), path)}
        except WriteBackError:
            return {}

    def read_blob(self, blob: str) -> bytes:
        return run_git_bytes(self.folder, "cat-file", "blob", blob, subject=f" in {self.folder}")

    def with_flag(self, blob: str, path: str, value: bool) -> str | None:
        """The blob with `published` set to `value` by the write-back's rule (`blob` itself
        when already so); None when the file is not one the write-back can edit."""
        try:
            data = with_published(self.read_blob(blob), value, path)
        except WriteBackError:
            return None
        if data is None:
            return blob
        out = run_git_bytes(
            self.folder, "hash-object", "-w", "--no-filters", "--stdin",
            subject=f" in {self.folder}", input=data,
        )  # fmt: skip
        return out.decode().strip()

    def with_flags(self, tree: str, flags: Mapping[str, bool]) -> str:
        """`tree` with the `published` flag of each file of `flags` set (where it can be)."""
        changes = {}
        for path, value in flags.items():
            blob = self.blob(tree, path)
            made = self.with_flag(blob, path, value) if blob is not None else None
            if made is not None and made != blob:
                changes[path] = made
        return self.tree_with(tree, changes) if changes else tree

    def tree_with(self, rev: str, blobs: Mapping[str, str]) -> str:
        """The tree of `rev` with these files' blobs replaced (their modes kept)."""
        with tempfile.TemporaryDirectory(prefix="newsbot-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            where = f" in {self.folder}"
            run_git(self.folder, "read-tree", rev, subject=where, env=env)
            for path, blob in blobs.items():
                listed = self.git("ls-tree", "--full-tree", "-z", rev, "--", f":(literal){path}")
                mode = listed.split(" ", 1)[0] if listed else "100644"
                run_git(self.folder, "update-index", "--add", "--cacheinfo",
                        f"{mode},{blob},{path}", subject=where, env=env)  # fmt: skip
            return run_git(self.folder, "write-tree", subject=where, env=env).strip()

    def commit_like(self, commit: _Commit, *, tree: str, parent: str) -> str:
        """A commit with `commit`'s author, committer name and message, on `parent`."""
        raw = run_git_bytes(self.folder, "cat-file", "commit", commit.sha)
        headers, _, message = raw.partition(b"\n\n")
        env: dict[str, str] = {}
        for line in headers.split(b"\n"):
            role, _, value = line.partition(b" ")
            found = re.fullmatch(rb"(.*) <(.*)> (\d+ [+-]\d{4})", value)
            if role in (b"author", b"committer") and found:
                name, email, when = (v.decode("utf-8", "surrogateescape") for v in found.groups())
                who = role.decode().upper()
                env[f"GIT_{who}_NAME"], env[f"GIT_{who}_EMAIL"] = name, email
                if role == b"author":
                    env["GIT_AUTHOR_DATE"] = when
        out = run_git_bytes(
            self.folder,
            "commit-tree",
            "-p",
            parent,
            "-F",
            "-",
            tree,
            subject=f" in {self.folder}",
            input=message,
            env=env,
        )
        return out.decode().strip()

    def switch(self, commit: str) -> None:
        """Move the branch and the work tree to `commit`, as `git checkout` moves between branches.

        Refused, with nothing changed, when a file the move would change has
        local changes or an untracked file is in its way.
        """
        ran = run(self.folder, "checkout", "-q", "--no-recurse-submodules", "-B", self.branch,
                  commit, "--")  # fmt: skip
        if ran.code != 0:
            raise GitError(
                f"{self.folder} was not brought up to date with {self.upstream_name}, so "
                f"nothing was changed: {reason(ran.stderr or ran.stdout)}"
            )

    def fetch(self) -> None:
        ran = run(
            self.folder,
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-recurse-submodules",
            "--no-write-fetch-head",
            # Whatever remote.<name>.uploadpack says: that is a command too.
            "--upload-pack=git-upload-pack",
            "--",
            self.remote,
            f"+{self.remote_ref}:{self.tracking}",
            network=True,
        )
        if ran.code != 0:
            raise GitError(
                f"could not fetch {self.upstream_name} into {self.folder}: {reason(ran.stderr)}"
            )

    def push(self, commit: str) -> str | None:
        """Push `commit` to the upstream branch, never forced: None when it landed,
        `_REJECTED` when someone pushed first (or was pushing at that very moment),
        else why it failed."""
        ran = run(
            self.folder,
            "push",
            "--porcelain",
            "--no-verify",
            "--recurse-submodules=no",
            "--receive-pack=git-receive-pack",
            "--",
            self.remote,
            f"{commit}:{self.remote_ref}",
            network=True,
        )
        refused = [line for line in ran.stdout.splitlines() if line.startswith("!")]
        if ran.code == 0 and not refused:
            return None
        for line in refused:
            summary = line.split("\t")[-1]
            if summary.startswith("[rejected]"):
                return _REJECTED
            if summary.startswith("[remote rejected]"):
                why = summary.removeprefix("[remote rejected]").strip(" ()")
                if _LOCK_RACE.search(why):
                    return _REJECTED
                return f"{self.upstream_name} refused the push: {one_line(why)}"
        return f"could not push to {self.upstream_name} from {self.folder}: {reason(ran.stderr)}"

    def landed(self, decisions: Collection[int]) -> dict[int, str]:
        """The commits on the upstream (its last SCANNED_COMMITS) of these decisions."""
        if not self.has_upstream_tip():
            return {}
        return decision_commits(self.folder, decisions, rev=self.tracking)


def decision_commits(
    folder: Path, decisions: Collection[int], *, rev: str = "HEAD"
) -> dict[int, str]:
    """The commits of these decisions (by their trailer) among the last SCANNED_COMMITS of
    `rev`: the newest of each."""
    out = run_git(
        folder,
        "log",
        f"-n{SCANNED_COMMITS}",
        f"--format=%H{_SEP}%(trailers:key={TRAILER},valueonly,separator=%x2C){_END}",
        rev,
        "--",
        subject=f" in {folder}",
    )
    found: dict[int, str] = {}
    for record in out.split(_END):
        sha, _, trailer = record.strip().partition(_SEP)
        first = trailer.split(",")[0].strip()
        if first.isascii() and first.isdigit() and int(first) in decisions:
            found.setdefault(int(first), sha)
    return found


def _git_in(folder: Path) -> Callable[..., str]:
    def git(*args: str, ok: tuple[int, ...] = (0,)) -> str:
        return run_git(folder, *args, subject=f" in {folder}", ok=ok)

    return git


def _refuse_commands(folder: Path) -> None:
    out = run_git(folder, "config", "--show-scope", "--list", "-z", subject=f" in {folder}")
    # -z prints "scope NUL key LF value NUL" for each entry.
    fields = out.split("\0")
    for scope, entry in zip(fields[::2], fields[1::2], strict=False):
        key = entry.split("\n", 1)[0]
        if scope in _OWN_SCOPES and _COMMAND_KEYS.match(key):
            raise GitError(
                f"the repository's own git config in {folder} sets {one_line(key)}, a command "
                "newsbot will not run: set it in the operator's global git config instead, or "
                "remove it"
            )


# --- one git process per clone at a time ---------------------------------------------


class _CloneLock:
    """Threads of this process take turns (reentrantly); processes take turns on a file lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.thread_lock = threading.RLock()
        self.depth = 0
        self.fd: int | None = None

    def acquire(self, wait: float) -> None:
        deadline = time.monotonic() + wait
        if not self.thread_lock.acquire(timeout=wait):
            raise self._busy(wait)
        if self.depth == 0:
            try:
                self.fd = self._lock_file(deadline, wait)
            except BaseException:
                self.thread_lock.release()
                raise
        self.depth += 1

    def release(self) -> None:
        self.depth -= 1
        if self.depth == 0 and self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
        self.thread_lock.release()

    def _lock_file(self, deadline: float, wait: float) -> int:
        try:
            # O_NOFOLLOW: a symlink planted in .git must not make us create a file elsewhere.
            fd = os.open(self.path, os.O_RDONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise GitError(f"cannot open the lock file {self.path} ({exc.strerror})") from None
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    os.close(fd)
                    raise GitError(f"cannot lock {self.path} ({exc.strerror})") from None
            if time.monotonic() >= deadline:
                os.close(fd)
                raise self._busy(wait)
            time.sleep(0.05)

    def _busy(self, wait: float) -> GitError:
        return GitError(
            f"another newsbot process has been working in the clone for {wait:g} s "
            f"(it holds {self.path}): left for the next run"
        )


_LOCKS: dict[Path, _CloneLock] = {}
_LOCKS_GUARD = threading.Lock()


@contextmanager
def clone_lock(folder: Path, *, wait: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Hold the branch and index of the clone of `folder` for this thread: commits and the
    replay of a pull take turns. Only local git commands run under it.

    Reentrant within a thread; across processes (serve and a cron `newsbot
    index` on one clone) through a lock file in the clone's git folder.
    """
    with _held(folder, LOCK_FILE, wait):
        yield


@contextmanager
def exchange_lock(folder: Path, *, wait: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Hold the exchange with the remote of the clone of `folder` (fetch, replay, push), so
    that two never interleave; `clone_lock` is taken inside it, never the other way."""
    with _held(folder, EXCHANGE_LOCK_FILE, wait):
        yield


@contextmanager
def _held(folder: Path, name: str, wait: float) -> Iterator[None]:
    git_dir = run_git(
        folder, "rev-parse", "--path-format=absolute", "--git-common-dir", subject=f" in {folder}"
    ).strip()
    path = Path(git_dir) / name
    with _LOCKS_GUARD:
        lock = _LOCKS.setdefault(path, _CloneLock(path))
    lock.acquire(wait)
    try:
        yield
    finally:
        lock.release()
