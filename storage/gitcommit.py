"""Record a review decision as a git commit of the one article file it changed.

Only that file goes into the commit: whatever else is staged or modified in
the work tree (an editor's work in progress, the pipeline's next batch) is
left exactly as it was. Pushing is storage.gitsync's.

The articles folder may be writable by others (the content pipeline), and so
may its `.git`. Nothing in it may run code or stall the server: every git
command runs without hooks, fsmonitor, signing, pagers, prompts or network
transports (`storage.gitrun`), the message is built here rather than by
`git interpret-trailers` (whose `trailer.*.cmd` settings run commands), and a
file with a `filter` attribute (whose clean command git would run) is refused.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path

from storage.gitrun import NOT_IN_A_LINE as _NOT_IN_A_LINE
from storage.gitrun import GitError, run_git

__all__ = ["GitCommitError", "clone_id", "commit_file", "current_branch", "is_git_work_tree"]

_TRAILER_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*\Z")
_AUTHOR = re.compile(r"[^<>\n]*[^<>\s][^<>\n]* <[^<>\n]*>\Z")

#: Raised when git could not record the commit; the message is one sentence.
GitCommitError = GitError


def is_git_work_tree(path: Path) -> bool:
    """Whether `path` (a folder, or a file's folder) lies inside a git work tree."""
    folder = path if path.is_dir() else path.parent
    try:
        out = run_git(folder, "rev-parse", "--is-inside-work-tree", ok=(0, 128))
    except GitError:
        return False
    return out.strip() == "true"


def clone_id(path: Path) -> str | None:
    """The id of the clone holding `path` (a folder, or a file's folder), None outside a git
    work tree.

    Kept in the clone's git folder (`newsbot-clone-id`), so it names the clone across
    restarts and host names: a decision whose commit is owed is committed by the
    clone whose work tree holds its change, and by no other replica's.
    """
    folder = path if path.is_dir() else path.parent
    try:
        if run_git(folder, "rev-parse", "--is-inside-work-tree", ok=(0, 128)).strip() != "true":
            return None
        git_dir = run_git(folder, "rev-parse", "--path-format=absolute", "--git-common-dir")
    except GitError:
        return None
    target = Path(git_dir.strip()) / _ID_FILE
    found = _read_id(target)
    if found is None:
        # Written aside and linked in place: of two processes starting at once, one id wins.
        spare = target.with_name(f"{_ID_FILE}.{secrets.token_hex(8)}")
        try:
            fd = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(16) + "\n")
            with contextlib.suppress(FileExistsError):
                os.link(spare, target)
        except OSError as exc:
            raise GitCommitError(f"cannot write {target} ({exc.strerror})") from None
        finally:
            with contextlib.suppress(OSError):
                os.unlink(spare)
        found = _read_id(target)
    if found is None:
        raise GitCommitError(f"{target} does not hold a newsbot clone id: remove it")
    return found


_ID_FILE = "newsbot-clone-id"
_ID = re.compile(r"[0-9a-f]{32}\Z")


def _read_id(target: Path) -> str | None:
    try:
        fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise GitCommitError(f"cannot read {target} ({exc.strerror})") from None
    with os.fdopen(fd) as file:
        text = file.read(64).strip()
    return text if _ID.match(text) else None


def current_branch(work_tree: Path) -> str | None:
    """The branch checked out in `work_tree`, None on a detached HEAD."""
    out = run_git(
        work_tree, "symbolic-ref", "-q", "--short", "HEAD", ok=(0, 1), subject=f" in {work_tree}"
    )
    return out.strip() or None


def commit_file(
    work_tree: Path,
    path: Path,
    *,
    message: str,
    trailers: Mapping[str, str] | Sequence[tuple[str, str]],
    author: str | None = None,
) -> str | None:
    """Commit the current content of `path` alone and return the new commit's sha.

    `message` is the commit's subject, e.g. "Publish: <title>": one line, so any
    line break or control character in it is folded to a space and a title can
    never add trailers of its own. `trailers` follow after a blank line
    (`{"Approved-by": "Jane Doe <U123>"}`, or pairs when a key repeats:
    `[("Approved-by", …), ("Approved-by", …)]`). `author` is "Name <email>"; without
    it git's configured identity is used. Other staged or unstaged changes in
    the work tree are neither committed nor disturbed. A relative `path` is
    taken relative to `work_tree`; an untracked file is added first. Returns
    None when the file has no changes to commit.

    Raises `ValueError` for an empty message or a malformed trailer or author,
    and `GitCommitError` when `path` is outside `work_tree`, has a git filter,
    or git fails.
    """
    subject = " ".join(_NOT_IN_A_LINE.sub(" ", message).split())
    if not subject:
        raise ValueError("commit message is empty")
    pairs = list(trailers.items() if isinstance(trailers, Mapping) else trailers)
    for key, value in pairs:
        if not _TRAILER_KEY.match(key):
            raise ValueError(f"trailer key {key!r} is not a valid git trailer name")
        if not value.strip() or _NOT_IN_A_LINE.search(value):
            raise ValueError(f"trailer {key!r} needs a non-empty value on one line")
    if author is not None and not _AUTHOR.match(author):
        raise ValueError(f"author {author!r} must look like 'Name <email>'")

    rel = _relative(work_tree, path)
    _refuse_filters(work_tree, rel)
    # Literal pathspec: a file name with '*' or '[' must not match other files.
    spec = f":(literal){rel}"
    status = _git(
        work_tree, rel, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", spec
    )
    if not status:
        return None
    if status.startswith("??"):
        # `commit --only` refuses paths git does not know yet.
        _git(work_tree, rel, "add", "--", spec)

    # The subject is one line and git never reads the first paragraph as
    # trailers, so ours are the only ones.
    full_message = subject + "\n"
    if trailers:
        full_message += "\n" + "".join(f"{k}: {v.strip()}\n" for k, v in pairs)
    # `--cleanup=whitespace` keeps a subject such as "Publish: #1 story" that
    # the default clean-up would strip as a comment line.
    commit = ["commit", "--only", "--no-verify", "--cleanup=whitespace", "--file=-"]
    if author is not None:
        commit.append(f"--author={author}")
    _git(work_tree, rel, *commit, "--", spec, input=full_message)
    return _git(work_tree, rel, "rev-parse", "HEAD").strip()


def _refuse_filters(work_tree: Path, rel: str) -> None:
    # A clean filter is a command from the repository's config that `git add`,
    # `status` and `commit` would run on the file; whoever can write .git can set one.
    out = _git(work_tree, rel, "check-attr", "-z", "filter", "--", rel)
    fields = out.split("\0")
    value = fields[2] if len(fields) > 2 else "unspecified"
    # check-attr prints "unspecified", "unset" or "set" both for those states and
    # for a driver of that name (`filter=unset`), so the configured drivers decide.
    listed = _git(work_tree, rel, "config", "-z", "--get-regexp", r"^filter\.", ok=(0, 1))
    drivers = {entry.split("\n", 1)[0][7:].rpartition(".")[0] for entry in listed.split("\0")}
    if value in drivers or value not in ("unspecified", "unset", "set"):
        shown = _NOT_IN_A_LINE.sub("?", value)[:80]
        raise GitCommitError(
            f"{rel} has the git attribute filter={shown}, whose command newsbot will not run: "
            "commit it by hand"
        )


def _relative(work_tree: Path, path: Path) -> str:
    # Resolve the folder, not the file: a symlinked article is committed as the link.
    root = Path(os.path.realpath(work_tree))
    path = path if path.is_absolute() else work_tree / path
    full = Path(os.path.realpath(path.parent)) / path.name
    try:
        return full.relative_to(root).as_posix()
    except ValueError:
        raise GitCommitError(f"{path} is not inside the git work tree {work_tree}") from None


def _git(
    work_tree: Path, rel: str, *args: str, input: str | None = None, ok: tuple[int, ...] = (0,)
) -> str:
    return run_git(work_tree, *args, subject=f" for {rel} in {work_tree}", input=input, ok=ok)
