"""Write a review decision back into an article file's `published:` flag.

The pipeline's files are hand-checked by editors and diffed in git, so the
write-back is a surgical edit of one line, not a YAML round trip: key order,
quoting, comments, line endings, a BOM, the body and the opaque `secured`
blob all stay byte for byte. PyYAML's node positions locate the top-level
`published` value, so look-alike lines (nested `related:` items, block
scalars, multi-line quoted strings, comments) are never touched.

The new bytes replace the old file atomically (temporary file in the same
folder, fsync, `os.replace`, fsync of the folder): a crash at any point leaves
either the old file or the new one, and perhaps a hidden temporary file that
`sweep_leftovers` removes at the next start.

Messages name the file as the caller's `root` sees it (`2026/11/x.md`), never
by its absolute path: they are shown to reviewers in Slack.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from storage.frontmatter import Fences, FrontmatterError, find_fences
from storage.hashing import content_hash

__all__ = [
    "TEMP_MARKER",
    "FileGoneError",
    "StaleFileError",
    "WriteBackError",
    "WriteResult",
    "published_in",
    "read_published",
    "set_published",
    "sweep_leftovers",
    "with_published",
]

#: Part of every temporary file's name (`.<name>.newsbot-tmp-XXXXXXXX`). The
#: leading dot hides it from the indexer and the name never ends in `.md`.
TEMP_MARKER = ".newsbot-tmp-"

_BOM = b"\xef\xbb\xbf"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_STR_TAG = "tag:yaml.org,2002:str"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class WriteBackError(Exception):
    """An article file could not be updated; the message is one sentence naming the file."""


class StaleFileError(WriteBackError):
    """The file is not the version the caller saw (someone else changed it); nothing was written."""


class FileGoneError(WriteBackError):
    """The article file is not there (deleted or moved away); nothing was written."""


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What `set_published` did, and the file's state afterwards for the indexer.

    `size` and `mtime_ns` describe the file as it is now (the new file when
    `changed`, the untouched one otherwise).
    """

    changed: bool
    old_fingerprint: str
    new_fingerprint: str
    size: int
    mtime_ns: int


def set_published(
    path: Path,
    value: bool,
    *,
    expected_fingerprint: str | None = None,
    root: Path | None = None,
    deadline: float | None = None,
) -> WriteResult:
    """Set the top-level `published:` flag of an article file to `value`.

    Only the value token of that line changes (to `true` or `false`); its
    spacing, trailing comment and line ending are kept. Without a top-level
    `published` key, the line `published: true` (or `false`) is added just
    before the closing `---`, with the file's line ending. When the flag
    already has the requested value nothing is written.

    `expected_fingerprint` is the `content_hash` of the bytes the caller based
    its decision on; if the file differs, `StaleFileError` is raised. The file
    is read again just before it is replaced, so a concurrent edit by another
    process is never overwritten (that too raises `StaleFileError`).

    A symlink is followed: the file it points to is replaced, the link stays.
    With `root` (the articles folder), a path that resolves outside it (a link
    re-pointed since it was indexed) is refused, and messages name the file
    relative to `root`. `deadline` (a `time.monotonic()` value) is the last
    moment the file may be replaced: a write that got slower gives up instead.

    Raises `FileGoneError` when the file is not there, and `WriteBackError`
    (one sentence naming the file) when it is unreadable, not UTF-8, has no
    closed frontmatter, has invalid YAML, or its `published` value is not a
    plain boolean.
    """
    label, target = _locate(path, root)
    old, st = _read(target, label)
    old_fingerprint = content_hash(old)
    if expected_fingerprint is not None and expected_fingerprint != old_fingerprint:
        raise StaleFileError(
            f"{label}: the file changed since it was indexed "
            "(fingerprint mismatch); nothing was written"
        )
    new = _with_published(old, value, label)
    if new is None:
        return WriteResult(False, old_fingerprint, old_fingerprint, st.st_size, st.st_mtime_ns)
    new_st = _replace_atomically(
        target, new, expected=old, old_st=st, label=label, deadline=deadline
    )
    return WriteResult(True, old_fingerprint, content_hash(new), new_st.st_size, new_st.st_mtime_ns)


def read_published(path: Path, *, root: Path | None = None) -> bool:
    """The file's top-level `published` flag as the write-back reads it (missing = false).

    Raises what `set_published` raises for a file it cannot edit.
    """
    label, target = _locate(path, root)
    data, _st = _read(target, label)
    return published_in(data, label)


def published_in(data: bytes, label: str) -> bool:
    """`read_published` for an article's bytes (a git blob); `label` names it in errors."""
    parsed = _Parsed.of(data, label)
    found = _top_level_published(parsed.root, parsed.frontmatter, label, parsed.fences.first_line)
    return found is not None and found[2]


def sweep_leftovers(root: Path, *, older_than: float) -> list[str]:
    """Delete the temporary files of write-backs that were killed, if `older_than` seconds old.

    A write-back's temporary file lives for milliseconds, and one that outlives
    its deadline is not renamed any more; a younger one may belong to a replica
    writing in the same folder right now, and is left alone. Returns the
    removed files relative to `root`. `.git` folders are not entered.
    """
    removed: list[str] = []
    cutoff = time.time() - older_than
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in files:
            if not (name.startswith(".") and TEMP_MARKER in name):
                continue
            path = Path(folder, name)
            try:
                st = path.lstat()
                if stat.S_ISREG(st.st_mode) and st.st_mtime < cutoff:
                    path.unlink()
                    removed.append(path.relative_to(root).as_posix())
            except OSError:
                continue  # gone already, or not ours to remove
    return sorted(removed)


def _locate(path: Path, root: Path | None) -> tuple[str, Path]:
    """How messages name the file, and the real file to read and replace."""
    target = Path(os.path.realpath(path))
    if root is None:
        return str(path), target
    try:
        label = Path(path).relative_to(root).as_posix()
    except ValueError:
        label = Path(path).name
    if not target.is_relative_to(os.path.realpath(root)):
        raise WriteBackError(
            f"{label}: the file leads outside the articles folder (a symlink?); nothing was written"
        )
    return label, target


def _why(e: OSError) -> str:
    # str(e) names the file by its absolute path: never shown.
    return e.strerror or type(e).__name__


# --- reading ---------------------------------------------------------------


def _read(path: Path, label: str) -> tuple[bytes, os.stat_result]:
    # Stat the open descriptor so size and mtime describe exactly these bytes.
    # `path` is resolved already: a symlink found here now was put there since.
    # Non-blocking, so a named pipe put in its place cannot hang the reader.
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise FileGoneError(f"{label}: file not found") from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise WriteBackError(
                f"{label}: the file was replaced by a symlink; nothing was written"
            ) from None
        raise _read_error(e, label) from None
    try:
        with open(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if stat.S_ISDIR(st.st_mode):
                raise WriteBackError(f"{label}: is a folder, not an article file")
            if not stat.S_ISREG(st.st_mode):
                raise WriteBackError(f"{label}: not a regular file")
            return f.read(), st
    except OSError as e:
        raise _read_error(e, label) from None


def _read_error(e: OSError, label: str) -> WriteBackError:
    if isinstance(e, IsADirectoryError):
        return WriteBackError(f"{label}: is a folder, not an article file")
    if isinstance(e, PermissionError):
        return WriteBackError(f"{label}: permission denied while reading the file")
    return WriteBackError(f"{label}: cannot read the file ({_why(e)})")


# --- editing ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Parsed:
    """An article file as the write-back sees it: text, fences, and the YAML's node tree."""

    bom: bytes
    text: str
    fences: Fences
    frontmatter: str
    root: yaml.MappingNode | None

    @classmethod
    def of(cls, data: bytes, label: str) -> _Parsed:
        bom = _BOM if data.startswith(_BOM) else b""
        try:
            text = data[len(bom) :].decode("utf-8")
        except UnicodeDecodeError as e:
            raise WriteBackError(
                f"{label}: not valid UTF-8 (bad byte at offset {e.start})"
            ) from None
        fences = _fences(text, label)
        frontmatter = text[fences.start : fences.end]
        return cls(bom, text, fences, frontmatter, _compose(frontmatter, label, fences.first_line))


def with_published(data: bytes, value: bool, label: str) -> bytes | None:
    """An article's bytes with `published` set to `value` by `set_published`'s rule (only
    that token changes), or None when already so; `label` names it in errors.

    Raises `WriteBackError` for bytes `set_published` could not edit.
    """
    return _with_published(data, value, label)


def _with_published(data: bytes, value: bool, label: str) -> bytes | None:
    """The file's bytes with `published` set to `value`, or None when already so."""
    parsed = _Parsed.of(data, label)
    bom, text, frontmatter, root = parsed.bom, parsed.text, parsed.frontmatter, parsed.root
    fm_start, fm_end, newline = parsed.fences.start, parsed.fences.end, parsed.fences.newline
    token = "true" if value else "false"

    published = _top_level_published(root, frontmatter, label, parsed.fences.first_line)
    if published is None:
        if root is not None and root.flow_style:
            raise WriteBackError(
                f"{label}: the frontmatter is a flow mapping ({{...}}) without a published key, "
                "which cannot be extended line by line"
            )
        # A root mapping may be indented as a whole; the new key must line up with it.
        indent = " " * (
            root.value[0][0].start_mark.column if root is not None and root.value else 0
        )
        edited = frontmatter + f"{indent}published: {token}{newline}"
    else:
        start, end, current = published
        if current is value:
            return None
        edited = frontmatter[:start] + token + frontmatter[end:]

    _check_only_published_changed(frontmatter, edited, value, label)
    return bom + (text[:fm_start] + edited + text[fm_end:]).encode("utf-8")


def _fences(text: str, label: str) -> Fences:
    """Where the frontmatter is, by the indexer's own rule (`storage.frontmatter`)."""
    try:
        return find_fences(text)
    except FrontmatterError as e:
        raise WriteBackError(f"{label}: {e}") from None


def _compose(frontmatter: str, label: str, first_line: int) -> yaml.MappingNode | None:
    try:
        root = yaml.compose(frontmatter, Loader=_Loader)
    except yaml.MarkedYAMLError as e:
        where = f" at line {e.problem_mark.line + first_line}" if e.problem_mark else ""
        raise WriteBackError(
            f"{label}: invalid YAML in the frontmatter{where} ({e.problem})"
        ) from None
    except yaml.YAMLError as e:
        raise WriteBackError(f"{label}: invalid YAML in the frontmatter ({e})") from None
    if root is None or isinstance(root, yaml.MappingNode):
        return root
    raise WriteBackError(f"{label}: the frontmatter is not a mapping of keys to values")


def _top_level_published(
    root: yaml.MappingNode | None, frontmatter: str, label: str, first_line: int
) -> tuple[int, int, bool] | None:
    """Offsets of the top-level `published` value token and its boolean value."""
    if root is None:
        return None
    found = [
        (key, node)
        for key, node in root.value
        if isinstance(key, yaml.ScalarNode) and key.tag == _STR_TAG and key.value == "published"
    ]
    if not found:
        return None
    if len(found) > 1:
        lines = ", ".join(str(key.start_mark.line + first_line) for key, _ in found)
        raise WriteBackError(
            f"{label}: the frontmatter has more than one published key (lines {lines})"
        )
    key, node = found[0]
    start, end = node.start_mark.index, node.end_mark.index
    source = frontmatter[start:end]
    shown = repr(source if len(source) <= 40 else source[:37] + "...") if source else "empty"
    if not isinstance(node, yaml.ScalarNode) or node.tag != _BOOL_TAG:
        raise WriteBackError(f"{label}: published must be true or false, not {shown}")
    # An anchor, tag or alias would not survive swapping the token; an alias's
    # marks even point at the anchored value elsewhere in the file.
    if node.style or start < key.end_mark.index or source != node.value:
        raise WriteBackError(f"{label}: published must be a plain true or false, not {shown}")
    return start, end, yaml.constructor.SafeConstructor.bool_values[node.value.lower()]


def _check_only_published_changed(before: str, after: str, value: bool, label: str) -> None:
    # A last line of defence: the edit must mean exactly "published := value".
    try:
        old = yaml.load(before, Loader=_Loader) or {}
    except yaml.YAMLError as e:
        problem = getattr(e, "problem", None) or e
        raise WriteBackError(f"{label}: invalid YAML in the frontmatter ({problem})") from None
    try:
        new = yaml.load(after, Loader=_Loader)
    except yaml.YAMLError:
        new = None
    old["published"] = value
    if not (isinstance(new, dict) and new.get("published") is value and repr(new) == repr(old)):
        raise WriteBackError(
            f"{label}: the published flag cannot be changed without altering other "
            "frontmatter; edit the file by hand"
        )


# --- writing ---------------------------------------------------------------


def _replace_atomically(
    path: Path,
    new: bytes,
    *,
    expected: bytes,
    old_st: os.stat_result,
    label: str,
    deadline: float | None,
) -> os.stat_result:
    folder = path.parent
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}{TEMP_MARKER}", dir=folder)
    except OSError as e:
        raise WriteBackError(
            f"{label}: cannot create a temporary file beside it ({_why(e)})"
        ) from None
    tmp = Path(tmp_name)
    try:
        with open(fd, "wb") as f:
            f.write(new)
            f.flush()
            # Owner first: chown may clear mode bits that chmod then restores.
            _keep_owner(f.fileno(), old_st)
            os.fchmod(f.fileno(), stat.S_IMODE(old_st.st_mode))
            os.fsync(f.fileno())
            new_st = os.fstat(f.fileno())
        # Narrow the window for lost updates: anything written since we read
        # the file wins over our edit, and the caller gets to decide again.
        current, _ = _read(path, label)
        if current != expected:
            raise StaleFileError(
                f"{label}: the file was changed by someone else while it was being "
                "updated; nothing was written"
            )
        if deadline is not None and time.monotonic() > deadline:
            raise WriteBackError(f"{label}: writing the file took too long; nothing was written")
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise WriteBackError(f"{label}: cannot write the file ({_why(e)})") from None
        raise
    _fsync_folder(folder, label)
    return new_st


def _keep_owner(fd: int, old_st: os.stat_result) -> None:
    # Group members may read articles through the group bits (0o640); keep the
    # group (and owner, when we are allowed to) rather than ours.
    if (old_st.st_uid, old_st.st_gid) == (os.getuid(), os.getgid()):
        return
    try:
        os.fchown(fd, old_st.st_uid, old_st.st_gid)
    except OSError:
        with contextlib.suppress(OSError):
            os.fchown(fd, -1, old_st.st_gid)


def _fsync_folder(folder: Path, label: str) -> None:
    # Makes the rename itself durable; some file systems cannot fsync a folder.
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as e:
        if e.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise WriteBackError(
                f"{label}: the file was replaced but its folder could not be synced to disk "
                f"({_why(e)})"
            ) from None
    finally:
        os.close(fd)
