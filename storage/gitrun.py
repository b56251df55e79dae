"""Running git for newsbot: hardened, bounded in time, and one sentence when it fails.

The articles folder may be writable by others (the content pipeline), and so
may its `.git`. Nothing in it may run code or stall the server, so every git
command runs with the settings of `HARDENED` (which outrank every config file,
the repository's own included): no hooks, fsmonitor, signing, pager or
automatic gc. Only `network=True` commands (fetch and push) may use a
transport, and only file, http, https and ssh; everything else runs with
`protocol.allow=never`.

No git command may wait for a person: prompts are off (`GIT_TERMINAL_PROMPT=0`,
no askpass program), git runs in a session of its own with no terminal to ask
on, and a command that outlives its timeout is killed with everything it
started (ssh, the http helper). Credentials come from the operator's
environment, git configuration (system and global) or SSH agent, never from
newsbot's settings; and a URL's user name or password never reaches a message.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "HARDENED",
    "NOT_IN_A_LINE",
    "TIMEOUT_SECONDS",
    "GitError",
    "Ran",
    "git_env",
    "reason",
    "redact_urls",
    "run",
    "run_git",
    "run_git_bytes",
]

TIMEOUT_SECONDS = 60

# Command-line settings outrank every config file, the repository's own included.
HARDENED = (
    # No hook runs (pre-commit, commit-msg, post-commit, reference-transaction, ...).
    "-c", "core.hooksPath=/dev/null",
    # No fsmonitor hook or daemon, which status and commit would otherwise start.
    "-c", "core.fsmonitor=false",
    # No gpg.program or gpg.ssh.program, and no pinentry waiting for a passphrase.
    "-c", "commit.gpgSign=false",
    "-c", "push.gpgSign=false",
    # No `gc --auto` or `maintenance run --auto` forked after the command.
    "-c", "gc.auto=0",
    "-c", "maintenance.auto=false",
    # Submodules are other repositories, with configs and hooks of their own.
    "-c", "submodule.recurse=false",
    "--no-pager",
)  # fmt: skip

# No transport at all (core.sshCommand, core.gitProxy, core.askPass, credential
# helpers), even if a partial clone wanted to fetch a missing object. A
# repository-level `protocol.ext.allow` would outrank `protocol.allow`.
_NO_TRANSPORT = ("-c", "protocol.allow=never", "-c", "protocol.ext.allow=never")

# fetch and push: the transports a site's remote uses, and nothing that runs a
# command of the remote's choosing (`ext::`) or goes unauthenticated (`git://`).
_TRANSPORTS = (
    "-c", "protocol.allow=never",
    "-c", "protocol.ext.allow=never",
    "-c", "protocol.file.allow=always",
    "-c", "protocol.http.allow=always",
    "-c", "protocol.https.allow=always",
    "-c", "protocol.ssh.allow=always",
    # An empty askpass is none: with GIT_TERMINAL_PROMPT=0 a missing password fails.
    "-c", "core.askPass=",
)  # fmt: skip

#: ssh for fetch and push when the operator set neither GIT_SSH_COMMAND nor GIT_SSH:
#: never asks (a passphrase, an unknown host key), and gives up on a dead host.
SSH_COMMAND = "ssh -o BatchMode=yes -o ConnectTimeout=20"

# Every line break Python or a terminal knows, every other control character and
# the bidi overrides: a subject is one line, so a title cannot add a body or a
# trailer ("...\nApproved-by: Someone <U1>") nor reorder what `git log` shows.
NOT_IN_A_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# The user-info part of any URL ("https://user:token@host", "https://token@host"),
# up to the last "@" before the host, quotes and spaces excluded.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s'\"]*@")


class GitError(Exception):
    """git could not do what was asked; the message is one sentence, credentials redacted."""

    def __init__(self, message: str) -> None:
        super().__init__(redact_urls(message))


def redact_urls(text: str) -> str:
    """`text` with the user name and password of every URL in it shown as ***."""
    return _USERINFO.sub(r"\1***@", text)


def git_env(*, network: bool = False, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment git runs in: the operator's, minus everything that could ask a person.

    System and global git configuration stay: they are the operator's
    (safe.directory, user.name, a credential helper), and HARDENED outranks
    them where it matters. An operator's GIT_SSH_COMMAND or GIT_SSH is used as
    it is; otherwise ssh runs in batch mode (SSH_COMMAND), which also overrides
    a `core.sshCommand` that the repository's own config may set.
    """
    env = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_EDITOR": "true",
        "GIT_SEQUENCE_EDITOR": "true",
        "GIT_PAGER": "cat",
        # Git Credential Manager, if the operator's config uses it: no window, no prompt.
        "GCM_INTERACTIVE": "never",
    }
    for name in ("GIT_ASKPASS", "SSH_ASKPASS", "SSH_ASKPASS_REQUIRE"):
        env.pop(name, None)
    if network and "GIT_SSH_COMMAND" not in os.environ and "GIT_SSH" not in os.environ:
        env["GIT_SSH_COMMAND"] = SSH_COMMAND
    if extra:
        env.update(extra)
    return env


@dataclass(frozen=True, slots=True)
class Ran:
    """What a git command did: its exit status and what it printed."""

    code: int
    stdout: str
    stderr: str


def run(
    where: Path,
    *args: str,
    subject: str = "",
    input: str | None = None,
    network: bool = False,
    env: Mapping[str, str] | None = None,
    timeout: float = TIMEOUT_SECONDS,
) -> Ran:
    """Run `git -C where ARGS...` hardened, whatever its exit status.

    Raises GitError only when git is missing, cannot start, or outlives
    `timeout` seconds (then it is killed with everything it started).
    """
    code, out, err = _spawn(
        where,
        args,
        subject=subject,
        input=None if input is None else input.encode("utf-8"),
        network=network,
        env=env,
        timeout=timeout,
    )
    return Ran(code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))


def run_git(
    where: Path,
    *args: str,
    subject: str = "",
    input: str | None = None,
    ok: tuple[int, ...] = (0,),
    network: bool = False,
    env: Mapping[str, str] | None = None,
    timeout: float = TIMEOUT_SECONDS,
) -> str:
    """Run `git -C where ARGS...` hardened and return its standard output.

    A status outside `ok` raises GitError: "git ARGS[0]SUBJECT failed: <git's
    reason>", so `subject` reads like " for a.md in /site". Raises GitError too
    when git is missing, cannot start, or outlives `timeout` seconds.
    """
    ran = run(where, *args, subject=subject, input=input, network=network, env=env, timeout=timeout)
    if ran.code not in ok:
        raise GitError(f"git {args[0]}{subject} failed: {reason(ran.stderr or ran.stdout)}")
    return ran.stdout


def run_git_bytes(
    where: Path,
    *args: str,
    subject: str = "",
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = TIMEOUT_SECONDS,
) -> bytes:
    """`run_git` for what must stay bytes as git holds them (a commit object, a message)."""
    code, out, err = _spawn(
        where, args, subject=subject, input=input, network=False, env=env, timeout=timeout
    )
    if code != 0:
        raise GitError(f"git {args[0]}{subject} failed: {reason(err.decode('utf-8', 'replace'))}")
    return out


def reason(output: str) -> str:
    """git's reason for a failure, on one line: its "fatal:" or "error:" line, else its last.

    The files git lists under it, one per indented line ("Your local changes to
    the following files would be overwritten by checkout:"), follow it.
    """
    lines = [line.rstrip() for line in output.splitlines() if line.strip()]
    # git prints hints and context first; the "fatal:"/"error:" line is the reason.
    for at, line in enumerate(lines):
        if line.startswith(("fatal:", "error:")):
            said = line.split(":", 1)[1].strip()
            listed = []
            for item in lines[at + 1 :]:
                if not item.startswith(("\t", " ")):
                    break
                listed.append(item.strip())
            if listed:
                shown = listed[:_LISTED]
                if len(listed) > _LISTED:
                    shown.append(f"{len(listed) - _LISTED} more")
                said = f"{said.rstrip(':')}: {', '.join(shown)}"
            return one_line(said)
    return one_line(lines[-1].strip()) if lines else "no error message"


# Files named in one message at most.
_LISTED = 5


def one_line(text: str) -> str:
    """`text` with every line break and control character shown as a space."""
    return redact_urls(NOT_IN_A_LINE.sub(" ", text))


def _spawn(
    where: Path,
    args: tuple[str, ...],
    *,
    subject: str,
    input: bytes | None,
    network: bool,
    env: Mapping[str, str] | None,
    timeout: float,
) -> tuple[int, bytes, bytes]:
    cmd = ["git", *HARDENED, *(_TRANSPORTS if network else _NO_TRANSPORT), "-C", str(where)]
    cmd += args
    try:
        proc = subprocess.Popen(
            cmd,
            # Without input, nothing git starts may read the server's own stdin.
            stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=git_env(network=network, extra=env),
            # No controlling terminal, so ssh cannot open /dev/tty to ask; and one
            # process group to kill with whatever git started.
            start_new_session=True,
        )
    except FileNotFoundError:
        raise GitError("git is not installed or not on the PATH") from None
    except OSError as e:
        raise GitError(f"git could not be started ({e.strerror or e})") from None
    try:
        out, err = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise GitError(
            f"git {args[0]}{subject} did not finish within {timeout:g} s and was stopped"
        ) from None
    except BaseException:
        _kill_group(proc)
        raise
    return proc.returncode, out, err


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
