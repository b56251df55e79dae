"""Record a review decision as a git commit of the one article file it changed.

Only that file goes into the commit: whatever else is staged or modified in
the work tree (an editor's work in progress, the pipeline's next batch) is
left exactly as it was. Nothing is pushed.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

__all__ = ["GitCommitError", "commit_file", "is_git_work_tree"]

_TIMEOUT_SECONDS = 60
_TRAILER_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*\Z")
_AUTHOR = re.compile(r"[^<>\n]*[^<>\s][^<>\n]* <[^<>\n]*>\Z")


class GitCommitError(Exception):
    """git could not record the commit; the message is one sentence."""


def is_git_work_tree(path: Path) -> bool:
    """Whether `path` (a folder, or a file's folder) lies inside a git work tree."""
    folder = path if path.is_dir() else path.parent
    try:
        proc = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--is-inside-work-tree"],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_SECONDS,
            env=_git_env(),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0 and proc.stdout.strip() == "true"


def commit_file(
    work_tree: Path,
    path: Path,
    *,
    message: str,
    trailers: Mapping[str, str],
    author: str | None = None,
) -> str | None:
    """Commit the current content of `path` alone and return the new commit's sha.

    `message` is the commit message (its first line the subject, e.g.
    "Publish: <title>"); `trailers` are appended as git trailers
    (`{"Approved-by": "Jane Doe <U123>"}`). `author` is "Name <email>"; without
    it git's configured identity is used. Other staged or unstaged changes in
    the work tree are neither committed nor disturbed. A relative `path` is
    taken relative to `work_tree`; an untracked file is added first. Returns
    None when the file has no changes to commit.

    Raises `ValueError` for a malformed message, trailer or author, and
    `GitCommitError` when `path` is outside `work_tree` or git fails.
    """
    if not message.strip():
        raise ValueError("commit message is empty")
    for key, value in trailers.items():
        if not _TRAILER_KEY.match(key):
            raise ValueError(f"trailer key {key!r} is not a valid git trailer name")
        if not value.strip() or "\n" in value or "\r" in value:
            raise ValueError(f"trailer {key!r} needs a non-empty value on one line")
    if author is not None and not _AUTHOR.match(author):
        raise ValueError(f"author {author!r} must look like 'Name <email>'")

    rel = _relative(work_tree, path)
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

    # Without --no-divider a body line starting with "---" would be taken for
    # the start of a patch and the trailers would land above it.
    args = ["interpret-trailers", "--no-divider"]
    for key, value in trailers.items():
        args += ["--trailer", f"{key}: {value.strip()}"]
    full_message = _git(work_tree, rel, *args, input=message.strip() + "\n")

    # `--cleanup=whitespace` keeps a subject such as "Publish: #1 story" that
    # the default clean-up would strip as a comment line.
    commit = ["commit", "--only", "--cleanup=whitespace", "--file=-"]
    if author is not None:
        commit.append(f"--author={author}")
    _git(work_tree, rel, *commit, "--", spec, input=full_message)
    return _git(work_tree, rel, "rev-parse", "HEAD").strip()


def _relative(work_tree: Path, path: Path) -> str:
    # Resolve the folder, not the file: a symlinked article is committed as the link.
    root = Path(os.path.realpath(work_tree))
    path = path if path.is_absolute() else work_tree / path
    full = Path(os.path.realpath(path.parent)) / path.name
    try:
        return full.relative_to(root).as_posix()
    except ValueError:
        raise GitCommitError(f"{path} is not inside the git work tree {work_tree}") from None


def _git(work_tree: Path, rel: str, *args: str, input: str | None = None) -> str:
    cmd = ["git", "-C", str(work_tree), *args]
    try:
        proc = subprocess.run(
            cmd,
            input=input,
            capture_output=True,
            encoding="utf-8",
            errors="replace",
            timeout=_TIMEOUT_SECONDS,
            env=_git_env(),
            check=False,
        )
    except FileNotFoundError:
        raise GitCommitError("git is not installed or not on the PATH") from None
    except subprocess.TimeoutExpired:
        raise GitCommitError(
            f"git {args[0]} for {rel} in {work_tree} did not finish within {_TIMEOUT_SECONDS} s"
        ) from None
    except OSError as e:
        raise GitCommitError(f"git could not be started ({e.strerror or e})") from None
    if proc.returncode != 0:
        raise GitCommitError(
            f"git {args[0]} for {rel} in {work_tree} failed: {_reason(proc.stderr or proc.stdout)}"
        )
    return proc.stdout


def _reason(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    # git prints hints and context first; the "fatal:"/"error:" line is the reason.
    for line in lines:
        if line.startswith(("fatal:", "error:")):
            return line.split(":", 1)[1].strip()
    return lines[-1] if lines else "no error message"


def _git_env() -> dict[str, str]:
    # A server process must never sit waiting for a password or an editor.
    return {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_EDITOR": "true"}
