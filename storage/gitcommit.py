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
import socket
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from storage.gitrun import NOT_IN_A_LINE as _NOT_IN_A_LINE
from storage.gitrun import GitError, run_git, run_git_bytes
from storage.gitsync import clone_lock

__all__ = [
    "GitCommitError",
    "clone_id",
    "commit_content",
    "commit_file",
    "committed_version",
    "current_branch",
    "former_clone_id",
    "is_git_work_tree",
]

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
    restarts: a decision whose commit is owed is committed by the clone whose work
    tree holds its change, and by no other replica's. The file also names the host
    and the git folder's real path it was made for: a copy of the clone (`cp -a`, a
    volume snapshot, a baked image) does not keep both, and makes an id of its own
    the first time it runs, so two clones never share one. (The id therefore changes
    with the host name: give a container a stable one.)
    """
    found = _clone_ids(path)
    return found[0] if found is not None else None


def former_clone_id(path: Path) -> str | None:
    """The id the clone holding `path` had before ids named their host and path, if it had
    one: commits owed under it are made by whichever clone's file has their change."""
    found = _clone_ids(path)
    return found[1] if found is not None else None


def _clone_ids(path: Path) -> tuple[str, str | None] | None:
    folder = path if path.is_dir() else path.parent
    try:
        if run_git(folder, "rev-parse", "--is-inside-work-tree", ok=(0, 128)).strip() != "true":
            return None
        git_dir = run_git(folder, "rev-parse", "--path-format=absolute", "--git-common-dir")
    except GitError:
        return None
    real = os.path.realpath(git_dir.strip())
    target = Path(real) / _ID_FILE
    # One line each in the file, whatever the names hold.
    binding = (_NOT_IN_A_LINE.sub("?", socket.gethostname()), _NOT_IN_A_LINE.sub("?", real))
    found = _read_ids(target, binding)
    if found is not None:
        return found
    # Under the clone's lock, so that of two processes starting at once one id wins.
    with clone_lock(folder):
        found = _read_ids(target, binding)
        if found is None:
            lines = _lines(target)
            # One line: an id from before ids were bound, which a copy may share.
            former = lines[0] if len(lines) == 1 and _ID.match(lines[0]) else None
            found = (_write_ids(target, secrets.token_hex(16), binding, former), former)
    return found


_ID_FILE = "newsbot-clone-id"
_ID = re.compile(r"[0-9a-f]{32}\Z")


def _lines(target: Path) -> list[str]:
    try:
        fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise GitCommitError(f"cannot read {target} ({exc.strerror})") from None
    with os.fdopen(fd, encoding="utf-8", errors="replace") as file:
        return [line.strip() for line in file.read(8192).splitlines()]


def _read_ids(target: Path, binding: tuple[str, str]) -> tuple[str, str | None] | None:
    """The id in `target` and the former one, if it was made for this host and git folder."""
    lines = _lines(target)
    if len(lines) < 3 or not _ID.match(lines[0]) or tuple(lines[1:3]) != binding:
        return None
    former = lines[3] if len(lines) > 3 and _ID.match(lines[3]) else None
    return lines[0], former


def _write_ids(target: Path, new: str, binding: tuple[str, str], former: str | None) -> str:
    # Written aside and renamed in place: a reader sees the old file or the new one.
    spare = target.with_name(f"{_ID_FILE}.{secrets.token_hex(8)}")
    try:
        fd = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(f"{new}\n{binding[0]}\n{binding[1]}\n{former or ''}\n")
        os.replace(spare, target)
    except OSError as exc:
        raise GitCommitError(f"cannot write {target} ({exc.strerror})") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(spare)
    return new


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
    full_message = _message(message, trailers, author)
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

    # `--cleanup=whitespace` keeps a subject such as "Publish: #1 story" that
    # the default clean-up would strip as a comment line.
    commit = ["commit", "--only", "--no-verify", "--cleanup=whitespace", "--file=-"]
    if author is not None:
        commit.append(f"--author={author}")
    _git(work_tree, rel, *commit, "--", spec, input=full_message)
    return _git(work_tree, rel, "rev-parse", "HEAD").strip()


def committed_version(work_tree: Path, path: Path) -> bytes | None:
    """The content of `path` in the HEAD commit, None when HEAD does not have it."""
    rel = _relative(work_tree, path)
    blob = _git(work_tree, rel, "rev-parse", "-q", "--verify", f"HEAD:./{rel}", ok=(0, 1)).strip()
    if not blob:
        return None
    return run_git_bytes(work_tree, "cat-file", "blob", blob, subject=f" for {rel} in {work_tree}")


def commit_content(
    work_tree: Path,
    path: Path,
    content: bytes,
    *,
    message: str,
    trailers: Mapping[str, str] | Sequence[tuple[str, str]],
    author: str | None = None,
) -> str | None:
    """Commit `content` as the new version of `path` on top of HEAD, whatever the work tree
    holds, and return the new commit's sha; None when HEAD has that content already.

    `commit_file` commits the file as it is; this commits a version built from
    HEAD's (a decision applied to it), so that edits made in the work tree since
    stay there, uncommitted. The file's index entry follows the commit unless
    something else was staged for it; nothing else in the index or work tree
    changes. Message, trailers and author as `commit_file`, which raises alike;
    `GitCommitError` also when HEAD moved meanwhile.
    """
    full_message = _message(message, trailers, author)
    rel = _relative(work_tree, path)
    _refuse_filters(work_tree, rel)
    where = f" for {rel} in {work_tree}"
    head = _git(work_tree, rel, "rev-parse", "--verify", "HEAD").strip()
    # --cacheinfo takes a path from the top of the work tree, not from `work_tree`.
    top = _git(work_tree, rel, "rev-parse", "--show-prefix").strip() + rel
    listed = _git(work_tree, rel, "ls-tree", "-z", "HEAD", "--", f":(literal){rel}")
    mode, _type, old = listed.partition("\t")[0].split() if listed else ("100644", "blob", "")
    blob = (
        run_git_bytes(
            work_tree, "hash-object", "-w", "--no-filters", "--stdin", subject=where, input=content
        )
        .decode()
        .strip()
    )
    if blob == old:
        return None
    with tempfile.TemporaryDirectory(prefix="newsbot-index-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        run_git(work_tree, "read-tree", head, subject=where, env=env)
        run_git(work_tree, "update-index", "--add", "--cacheinfo", f"{mode},{blob},{top}",
                subject=where, env=env)  # fmt: skip
        tree = run_git(work_tree, "write-tree", subject=where, env=env).strip()
    env = {}
    if author is not None:
        name, _, email = author.rpartition(" <")
        env = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email.rstrip(">")}
    sha = run_git_bytes(
        work_tree, "commit-tree", "-p", head, "-F", "-", tree,
        subject=where, input=full_message.encode("utf-8"), env=env,
    ).decode().strip()  # fmt: skip
    # The index first: with a stale index.lock nothing is committed, and the debt stays.
    staged = _git(work_tree, rel, "ls-files", "-s", "-z", "--", f":(literal){rel}")
    if staged.split(" ")[1:2] == [old]:
        _git(work_tree, rel, "update-index", "--cacheinfo", f"{mode},{blob},{top}")
    _git(work_tree, rel, "update-ref", "-m", f"newsbot: {rel}", "HEAD", sha, head)
    return sha


def _message(
    message: str, trailers: Mapping[str, str] | Sequence[tuple[str, str]], author: str | None
) -> str:
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
    # The subject is one line and git never reads the first paragraph as
    # trailers, so ours are the only ones.
    full_message = subject + "\n"
    if pairs:
        full_message += "\n" + "".join(f"{k}: {v.strip()}\n" for k, v in pairs)
    return full_message


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
