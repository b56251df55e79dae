"""The `published:` write-back: one token changes, every other byte stays."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.hashing import content_hash
from storage.writeback import (
    TEMP_MARKER,
    FileGoneError,
    StaleFileError,
    WriteBackError,
    read_published,
    set_published,
    sweep_leftovers,
)
from tests.builders import REPO, run_until_killed
from tests.depth import depth
from tests.storage.writeback_crash_helper import STEPS

EXAMPLES = REPO / "examples" / "articles"
CRASH_HELPER = Path(__file__).with_name("writeback_crash_helper.py")

SAMPLE = (
    b"---\n"
    b"category: news\n"
    b'title: "Harbor City Tests AI Traffic Cameras"\n'
    b"publishedDateTime: 2026-11-25T19:40:00Z\n"
    b'webUrl: "https://example.com/news/1/harbor"\n'
    b"heat: 57\n"
    b"published: false  # set by newsbot\n"
    b"\n"
    b"related:\n"
    b'  - title: "Earlier"\n'
    b"    published: true\n"
    b"\n"
    b'secured: "QUJD+/=="\n'
    b"---\n"
    b"\n"
    b"Body text.\n"
    b"\n"
    b"---\n"
    b"\n"
    b"published: false\n"
)


def frontmatter_of(data: bytes) -> dict:
    """The test's own, deliberately simple reading of a file's frontmatter."""
    text = data.decode("utf-8-sig").replace("\r\n", "\n")
    lines = text.split("\n")
    assert lines[0].rstrip() == "---"
    end = next(i for i in range(1, len(lines)) if lines[i].rstrip() == "---")
    return yaml.load("".join(f"{line}\n" for line in lines[1:end]), Loader=yaml.CSafeLoader) or {}


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if TEMP_MARKER in p.name)


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# --- generated frontmatter shapes ---------------------------------------------

BOOL_TOKENS = {
    "true": True,
    "false": False,
    "True": True,
    "False": False,
    "TRUE": True,
    "FALSE": False,
    "yes": True,
    "no": False,
    "on": True,
    "off": False,
}

_yaml_text = st.text(
    alphabet=st.characters(
        min_codepoint=0x20,
        blacklist_categories=("Cs", "Cc", "Zl", "Zp"),
        blacklist_characters="\ufeff\ufffe\uffff",
    ),
    max_size=30,
)
_tricky = st.sampled_from(["---", "published: true", "published: false", "# x", "a: b", ""])
_text = st.one_of(_yaml_text, _tricky, st.builds("{} {}".format, _tricky, _yaml_text))
_word = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,8}( [A-Za-z0-9]{1,8}){0,2}", fullmatch=True)
_comment = st.one_of(st.just(""), st.builds("  # {}".format, _text))


def _double_quoted(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _single_quoted(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


_scalar = st.one_of(
    _word,
    st.integers(-5, 10**6).map(str),
    st.just("2026-11-17T18:14:00Z"),
    _text.map(_double_quoted),
    _text.map(_single_quoted),
)


@st.composite
def _simple(draw, key: str) -> list[str]:
    return [f"{key}: {draw(_scalar)}{draw(_comment)}"]


@st.composite
def _block_scalar(draw, key: str) -> list[str]:
    indicator = draw(st.sampled_from(["|", "|-", "|+", ">", ">-"]))
    body = draw(st.lists(st.one_of(_tricky.filter(bool), _word), min_size=1, max_size=4))
    lines = [f"{key}: {indicator}", *(f"  {line}" for line in body)]
    if draw(st.booleans()):
        lines.insert(draw(st.integers(2, len(lines))), "")
    return lines


@st.composite
def _multiline_quoted(draw, key: str) -> list[str]:
    first, second = draw(_word), draw(_tricky.filter(bool))
    if draw(st.booleans()):
        return [f'{key}: "{first}', f'  {second}"']
    return [f"{key}: '{first}", f"  {second.replace(chr(39), chr(39) * 2)}'"]


@st.composite
def _provider(draw, key: str) -> list[str]:
    name, domain = draw(_word), draw(_word)
    if draw(st.booleans()):
        return [f"{key}: {{name: {name}, published: true, domain: {domain}}}"]
    return [f"{key}:", f"  name: {name}", f"  domain: {domain}.com"]


@st.composite
def _topics(draw, key: str) -> list[str]:
    topics = draw(st.lists(_word, max_size=3))
    if draw(st.booleans()):
        return [f"{key}: [{', '.join(_double_quoted(t) for t in topics)}]"]
    return [f"{key}:", *(f"  - {t}" for t in topics)] if topics else [f"{key}: []"]


@st.composite
def _related(draw, key: str) -> list[str]:
    items = draw(st.lists(st.tuples(_text, st.sampled_from(list(BOOL_TOKENS))), max_size=3))
    if not items:
        return [f"{key}: []"]
    dash = draw(st.sampled_from(["  - ", "- "]))
    pad = " " * len(dash)
    lines = [f"{key}:"]
    for title, token in items:
        lines += [
            f"{dash}title: {_double_quoted(title)}",
            f"{pad}published: {token}",
            f"{pad}provider:",
            f"{pad}  name: X",
        ]
    return lines


_ENTRIES = {
    "category": _simple,
    "title": _simple,
    "heat": _simple,
    "publishedDateTime": _simple,
    "language": _simple,
    "excerpt": _block_scalar,
    "summary": _multiline_quoted,
    "provider": _provider,
    "topics": _topics,
    "related": _related,
    "secured": lambda key: st.just([f'{key}: "ved3/ouhdk85cT+s6b5==;AIskZqCUnlDhpLp=="']),
}

_filler = st.one_of(
    st.just(""),
    st.builds("# {}".format, _text),
    st.builds("#published: {}".format, st.sampled_from(list(BOOL_TOKENS))),
)


@dataclass(frozen=True)
class Doc:
    """A generated article, able to render its own expected write-back result."""

    before: tuple[str, ...]  # frontmatter lines above the published line (or all of them)
    after: tuple[str, ...]  # frontmatter lines below it
    published: tuple[str, str, str] | None  # (key with spacing, token, rest), or missing
    newline: str
    bom: bool
    body: tuple[str, ...] | None  # lines after the closing fence; None = file ends at it

    @property
    def current(self) -> bool | None:
        return None if self.published is None else BOOL_TOKENS[self.published[1]]

    def render(self, set_to: bool | None = None) -> bytes:
        lines = ["---", *self.before]
        token = None if set_to is None else ("true" if set_to else "false")
        if self.published is not None:
            head, old, rest = self.published
            lines.append(f"{head}{token or old}{rest}")
        lines += self.after
        if self.published is None and token is not None:
            lines.append(f"published: {token}")
        lines.append("---")
        nl = self.newline
        text = nl.join(lines) + (nl + nl.join(self.body) if self.body is not None else "")
        return (b"\xef\xbb\xbf" if self.bom else b"") + text.encode("utf-8")


@st.composite
def docs(draw) -> Doc:
    keys = draw(st.permutations(list(_ENTRIES)))
    keys = keys[: draw(st.integers(0, len(keys)))]
    entries: list[list[str]] = []
    for key in keys:
        if draw(st.booleans()):
            entries.append([draw(_filler)])
        entries.append(draw(_ENTRIES[key](key)))
    if draw(st.booleans()):
        entries.append([draw(_filler)])
    published = None
    cut = len(entries)
    if draw(st.booleans()):
        head = draw(
            st.sampled_from(["published: ", "published:  ", "published : ", '"published": '])
        )
        published = (head, draw(st.sampled_from(list(BOOL_TOKENS))), draw(_comment))
        cut = draw(st.integers(0, len(entries)))
    flat = [[line for entry in part for line in entry] for part in (entries[:cut], entries[cut:])]
    body = draw(
        st.one_of(
            st.none(),
            st.lists(st.one_of(_tricky, _word, st.just("")), max_size=5).map(lambda b: ["", *b]),
        )
    )
    return Doc(
        before=tuple(flat[0]),
        after=tuple(flat[1]),
        published=published,
        newline=draw(st.sampled_from(["\n", "\r\n"])),
        bom=draw(st.booleans()),
        body=None if body is None else tuple(body),
    )


@settings(max_examples=depth(300))
@given(doc=docs(), value=st.booleans())
def test_only_the_published_token_changes_in_any_frontmatter_shape(doc: Doc, value: bool) -> None:
    original = doc.render()
    before = frontmatter_of(original)  # the generator must produce valid files
    assert before.get("published") is doc.current
    expected = original if doc.current is value else doc.render(set_to=value)

    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder) / "article.md", original)
        result = set_published(path, value)
        written = path.read_bytes()
        assert leftovers(Path(folder)) == []

    assert written == expected
    assert result.changed is (expected != original)
    assert result.old_fingerprint == content_hash(original)
    assert result.new_fingerprint == content_hash(written)
    after = frontmatter_of(written)
    assert after.pop("published") is value
    before.pop("published", None)
    assert after == before


# --- real files -------------------------------------------------------------------


def _secured_line(data: bytes) -> bytes:
    return next(line for line in data.splitlines(keepends=True) if line.startswith(b"secured:"))


def _round_trip(path: Path) -> None:
    original = path.read_bytes()
    current = frontmatter_of(original).get("published", False)
    flipped = set_published(path, not current)
    assert flipped.changed
    assert frontmatter_of(path.read_bytes())["published"] is (not current)
    if b"\nsecured:" in original:
        assert _secured_line(path.read_bytes()) == _secured_line(original)
    back = set_published(path, current, expected_fingerprint=flipped.new_fingerprint)
    assert path.read_bytes() == original
    assert back.new_fingerprint == content_hash(original)


def test_example_articles_round_trip_byte_for_byte(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "articles")
    paths = sorted((tmp_path / "articles").rglob("*.md"))
    assert paths
    for path in paths:
        _round_trip(path)
    assert not list((tmp_path / "articles").rglob(f"*{TEMP_MARKER}*"))


def test_generated_corpus_round_trips_byte_for_byte(tmp_path: Path, make_articles) -> None:
    make_articles([str(tmp_path), "--count", "300"])
    paths = sorted(tmp_path.rglob("*.md"))
    assert len(paths) == 300
    for path in paths:
        _round_trip(path)
    assert not list(tmp_path.rglob(f"*{TEMP_MARKER}*"))


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("empty", "no YAML frontmatter"),
        ("non-utf8", "not valid UTF-8"),
        ("unclosed-frontmatter", "frontmatter is not closed (no second '---' line)"),
        ("invalid-yaml", "invalid YAML in the frontmatter"),
    ],
)
def test_malformed_corpus_files_are_refused_and_left_alone(
    tmp_path: Path, make_articles, kind: str, reason: str
) -> None:
    make_articles([str(tmp_path), "--count", "1", "--bad", "10"])
    (path,) = tmp_path.rglob(f"bad-{kind}-*.md")
    original = path.read_bytes()
    with pytest.raises(WriteBackError) as raised:
        set_published(path, True)
    assert str(raised.value).startswith(f"{path}: {reason}")
    assert path.read_bytes() == original


# --- edits ---------------------------------------------------------------------


def test_publish_changes_only_the_value_and_keeps_the_comment(tmp_path: Path) -> None:
    path = write(tmp_path / "a.md", SAMPLE)
    result = set_published(path, True)
    assert path.read_bytes() == SAMPLE.replace(
        b"published: false  # set by newsbot", b"published: true  # set by newsbot"
    )
    assert result.changed
    st = os.stat(path)
    assert (result.size, result.mtime_ns) == (st.st_size, st.st_mtime_ns)


def test_missing_key_is_added_before_the_closing_fence_with_crlf_and_bom(tmp_path: Path) -> None:
    original = (
        b'\xef\xbb\xbf---\r\ntitle: "x"\r\nrelated:\r\n  - published: true\r\n---\r\nBody\r\n'
    )
    path = write(tmp_path / "a.md", original)
    assert set_published(path, False).changed
    assert path.read_bytes() == original.replace(
        b"  - published: true\r\n---", b"  - published: true\r\npublished: false\r\n---"
    )


def test_longer_dash_fences_count_like_in_the_indexer(tmp_path: Path) -> None:
    path = write(tmp_path / "a.md", b"-----\ntitle: x\npublished: no\n----  \nBody\n---\n")
    set_published(path, True)
    assert path.read_bytes() == b"-----\ntitle: x\npublished: true\n----  \nBody\n---\n"


def test_indented_root_mapping_gets_an_aligned_key(tmp_path: Path) -> None:
    path = write(tmp_path / "a.md", b"---\n  title: x\n---\n")
    set_published(path, True)
    assert path.read_bytes() == b"---\n  title: x\n  published: true\n---\n"


def test_empty_frontmatter_gets_the_key(tmp_path: Path) -> None:
    path = write(tmp_path / "a.md", b"---\n---\n")
    set_published(path, True)
    assert path.read_bytes() == b"---\npublished: true\n---\n"


def test_flow_mapping_value_is_swapped_in_place(tmp_path: Path) -> None:
    path = write(tmp_path / "a.md", b"---\n{title: x, published: no}\n---\n")
    set_published(path, True)
    assert path.read_bytes() == b"---\n{title: x, published: true}\n---\n"


def test_value_on_its_own_line_is_swapped(tmp_path: Path) -> None:
    path = write(tmp_path / "a.md", b"---\npublished:\n  false\ntitle: x\n---\n")
    set_published(path, True)
    assert path.read_bytes() == b"---\npublished:\n  true\ntitle: x\n---\n"


def test_already_at_the_value_writes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path / "a.md", SAMPLE.replace(b"published: false ", b"published: yes "))
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    before = os.stat(path)
    result = set_published(path, True)
    after = os.stat(path)
    assert not result.changed
    assert result.old_fingerprint == result.new_fingerprint == content_hash(path.read_bytes())
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert result.mtime_ns == 1_000_000_000


def test_symlink_is_followed_and_kept(tmp_path: Path) -> None:
    target = write(tmp_path / "real" / "a.md", SAMPLE)
    link = tmp_path / "link.md"
    link.symlink_to(target)
    set_published(link, True)
    assert link.is_symlink()
    assert frontmatter_of(target.read_bytes())["published"] is True


@pytest.mark.parametrize("mode", [0o640, 0o600, 0o664])
def test_permission_bits_are_kept(tmp_path: Path, mode: int) -> None:
    path = write(tmp_path / "a.md", SAMPLE)
    path.chmod(mode)
    set_published(path, True)
    assert os.stat(path).st_mode & 0o7777 == mode


# --- refusals ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"title: x\n", "no YAML frontmatter (the file must start with a '---' line)"),
        (b"", "no YAML frontmatter"),
        (b"---\ntitle: x\n", "frontmatter is not closed (no second '---' line)"),
        (b"---\ntitle: \xe9t\xe9\n---\n", "not valid UTF-8"),
        (b"---\ntitle: [unclosed\n---\n", "invalid YAML in the frontmatter"),
        (b"---\n- a\n- b\n---\n", "the frontmatter is not a mapping"),
        (b"---\npublished: maybe\n---\n", "published must be true or false, not 'maybe'"),
        (b'---\npublished: "true"\n---\n', "published must be true or false"),
        (b"---\npublished: 1\n---\n", "published must be true or false, not '1'"),
        (b"---\npublished:\n---\n", "published must be true or false, not empty"),
        (b"---\npublished: [true]\n---\n", "published must be true or false"),
        (b"---\npublished: &p false\n---\n", "published must be a plain true or false"),
        (b"---\nx: &p false\npublished: *p\n---\n", "published must be a plain true or false"),
        (b"---\npublished: !!bool false\n---\n", "published must be a plain true or false"),
        (
            b"---\npublished: no\npublished: no\n---\n",
            "the frontmatter has more than one published key (lines 2, 3)",
        ),
        (b"---\n{title: x}\n---\n", "the frontmatter is a flow mapping"),
    ],
)
def test_bad_files_are_refused_with_one_sentence_and_left_alone(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = write(tmp_path / "articles" / "x.md", content)
    with pytest.raises(WriteBackError) as raised:
        set_published(path, True)
    message = str(raised.value)
    assert message.startswith(f"{path}: {reason}")
    assert "\n" not in message
    assert path.read_bytes() == content
    assert leftovers(path.parent) == []


def test_missing_file_and_folder_are_named(tmp_path: Path) -> None:
    with pytest.raises(WriteBackError, match=r"gone\.md: file not found$"):
        set_published(tmp_path / "gone.md", True)
    with pytest.raises(WriteBackError, match="is a folder"):
        set_published(tmp_path, True)


def test_stale_fingerprint_raises_and_writes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path / "a.md", SAMPLE)
    seen = content_hash(SAMPLE)
    path.write_bytes(SAMPLE.replace(b"heat: 57", b"heat: 58"))  # someone else's edit
    edited = path.read_bytes()
    with pytest.raises(StaleFileError, match=r"a\.md: .*fingerprint"):
        set_published(path, True, expected_fingerprint=seen)
    assert path.read_bytes() == edited
    assert leftovers(tmp_path) == []


def test_matching_fingerprint_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path / "a.md", SAMPLE)
    result = set_published(path, True, expected_fingerprint=content_hash(SAMPLE))
    assert result.changed and result.old_fingerprint == content_hash(SAMPLE)


def test_edit_landing_during_the_write_wins(tmp_path: Path, monkeypatch) -> None:
    path = write(tmp_path / "a.md", SAMPLE)
    theirs = SAMPLE.replace(b"heat: 57", b"heat: 99")
    real_fsync = os.fsync

    def fsync_while_someone_edits(fd: int) -> None:
        real_fsync(fd)
        path.write_bytes(theirs)

    monkeypatch.setattr(os, "fsync", fsync_while_someone_edits)
    with pytest.raises(StaleFileError, match="changed by someone else"):
        set_published(path, True)
    assert path.read_bytes() == theirs
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_failed_write_leaves_the_file_and_no_temp(tmp_path: Path, monkeypatch, failing) -> None:
    path = write(tmp_path / "a.md", SAMPLE)

    def fail(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, failing, fail)
    with pytest.raises(WriteBackError, match=r"a\.md: cannot write the file \(No space left"):
        set_published(path, True)
    assert path.read_bytes() == SAMPLE
    assert leftovers(tmp_path) == []


# --- inside the articles folder, named relative to it ----------------------------


def test_a_link_leading_outside_the_folder_is_refused_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    root = tmp_path / "articles"
    outside = write(tmp_path / "elsewhere" / "a.md", SAMPLE)
    link = root / "2026" / "a.md"
    link.parent.mkdir(parents=True)
    link.symlink_to(outside)
    with pytest.raises(WriteBackError) as raised:
        set_published(link, True, root=root)
    assert str(raised.value) == (
        "2026/a.md: the file leads outside the articles folder (a symlink?); nothing was written"
    )
    assert outside.read_bytes() == SAMPLE
    assert leftovers(outside.parent) == [] and leftovers(link.parent) == []


def test_a_link_inside_the_folder_is_followed(tmp_path: Path) -> None:
    root = tmp_path / "articles"
    target = write(root / ".store" / "a.md", SAMPLE)
    link = root / "a.md"
    link.symlink_to(target)
    assert set_published(link, True, root=root).changed
    assert frontmatter_of(target.read_bytes())["published"] is True


def test_the_articles_folder_may_itself_be_a_link(tmp_path: Path) -> None:
    write(tmp_path / "real" / "x" / "a.md", SAMPLE)
    root = tmp_path / "articles"
    root.symlink_to(tmp_path / "real")
    assert set_published(root / "x" / "a.md", True, root=root).changed


@pytest.mark.parametrize(
    "content",
    [b"title: x\n", b"---\npublished: maybe\n---\n", b"---\ntitle: \xe9\n---\n"],
)
def test_messages_name_the_file_relative_to_the_folder(tmp_path: Path, content: bytes) -> None:
    root = tmp_path / "articles"
    path = write(root / "2026" / "11" / "x.md", content)
    with pytest.raises(WriteBackError) as raised:
        set_published(path, True, root=root)
    assert str(raised.value).startswith("2026/11/x.md: ")
    assert str(tmp_path) not in str(raised.value)


def test_a_vanished_file_is_gone_and_named_relatively(tmp_path: Path) -> None:
    root = tmp_path / "articles"
    root.mkdir()
    with pytest.raises(FileGoneError) as raised:
        set_published(root / "gone.md", True, root=root)
    assert str(raised.value) == "gone.md: file not found"


def test_a_write_past_its_deadline_gives_up(tmp_path: Path) -> None:
    path = write(tmp_path / "a.md", SAMPLE)
    with pytest.raises(WriteBackError, match=r"a\.md: writing the file took too long"):
        set_published(path, True, deadline=0.0)
    assert path.read_bytes() == SAMPLE
    assert leftovers(tmp_path) == []


def test_read_published_reads_what_set_published_wrote(tmp_path: Path) -> None:
    path = write(tmp_path / "a.md", SAMPLE)
    assert read_published(path) is False
    set_published(path, True)
    assert read_published(path) is True
    assert read_published(write(tmp_path / "b.md", b"---\ntitle: x\n---\n")) is False


def test_sweep_removes_only_old_leftovers(tmp_path: Path) -> None:
    old = write(tmp_path / "a" / f".x.md{TEMP_MARKER}old00000", b"half")
    young = write(tmp_path / "a" / f".y.md{TEMP_MARKER}young000", b"half")
    article = write(tmp_path / "a" / "x.md", SAMPLE)
    in_git = write(tmp_path / ".git" / f".z{TEMP_MARKER}old00000", b"not ours")
    for path in (old, article, in_git):
        os.utime(path, (1_000_000, 1_000_000))
    assert sweep_leftovers(tmp_path, older_than=600) == [f"a/.x.md{TEMP_MARKER}old00000"]
    assert young.exists() and article.exists() and in_git.exists() and not old.exists()


# --- crashes -------------------------------------------------------------------


@pytest.mark.parametrize("step", STEPS)
def test_crash_at_any_step_leaves_the_old_or_the_new_file(tmp_path: Path, step: str) -> None:
    path = write(tmp_path / "a.md", SAMPLE)
    new = SAMPLE.replace(b"published: false  #", b"published: true  #")
    run_until_killed(CRASH_HELPER, str(path), "true", step)

    data = path.read_bytes()
    renamed = STEPS.index(step) >= STEPS.index("after-replace")
    assert data == (new if renamed else SAMPLE)
    assert frontmatter_of(data)["published"] is renamed
    # A kill cannot clean up; what it leaves is hidden and not an article.
    for name in leftovers(tmp_path):
        assert name.startswith(".") and not name.endswith(".md")
    assert sorted(p.name for p in tmp_path.glob("*.md")) == ["a.md"]
