"""Committing one review decision to a real git repository."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from storage.gitcommit import (
    GitCommitError,
    clone_id,
    commit_content,
    commit_file,
    committed_version,
    former_clone_id,
    is_git_work_tree,
)
from storage.writeback import set_published
from tests.builders import git, git_repo

ARTICLE = b'---\ntitle: "Harbor City Tests AI Traffic Cameras"\npublished: false\n---\n'
APPROVED = {"Approved-by": "Jane Doe <U123>"}


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "site"
    (root / "articles").mkdir(parents=True)
    (root / "articles" / "a.md").write_bytes(ARTICLE)
    (root / "articles" / "b.md").write_bytes(ARTICLE.replace(b"Harbor", b"Lakeview"))
    (root / "notes.txt").write_text("draft\n")
    return git_repo(root, monkeypatch)


def files_in(repo: Path, rev: str = "HEAD") -> list[str]:
    return git(repo, "show", "--name-only", "--format=", rev).split()


def test_commit_has_subject_trailer_and_author(repo: Path) -> None:
    path = repo / "articles" / "a.md"
    set_published(path, True)
    sha = commit_file(
        repo,
        path,
        message="Publish: Harbor City Tests AI Traffic Cameras",
        trailers=APPROVED,
        author="Jane Doe <jane@example.com>",
    )
    assert sha == git(repo, "rev-parse", "HEAD").strip()
    assert git(repo, "log", "-1", "--format=%s") == (
        "Publish: Harbor City Tests AI Traffic Cameras\n"
    )
    assert git(repo, "log", "-1", "--format=%(trailers:key=Approved-by,valueonly)").strip() == (
        "Jane Doe <U123>"
    )
    assert git(repo, "log", "-1", "--format=%an <%ae>|%cn").strip() == (
        "Jane Doe <jane@example.com>|Newsbot Test"
    )
    assert files_in(repo) == ["articles/a.md"]
    diff = git(repo, "show", "--format=", "-U0", "HEAD")
    assert "-published: false\n+published: true\n" in diff


def test_other_staged_unstaged_and_untracked_changes_stay_out(repo: Path) -> None:
    (repo / "articles" / "b.md").write_bytes(b"---\ntitle: editing\n---\n")
    (repo / "notes.txt").write_text("staged work\n")
    git(repo, "add", "notes.txt")
    (repo / "articles" / "c.md").write_bytes(ARTICLE)
    path = repo / "articles" / "a.md"
    set_published(path, True)

    commit_file(repo, path, message="Publish: Harbor", trailers=APPROVED)

    assert files_in(repo) == ["articles/a.md"]
    assert git(repo, "diff", "--cached", "--name-only").split() == ["notes.txt"]
    assert git(repo, "diff", "--name-only").split() == ["articles/b.md"]
    assert "?? articles/c.md" in git(repo, "status", "--porcelain")
    assert (repo / "notes.txt").read_text() == "staged work\n"


def test_without_author_the_configured_identity_is_used(repo: Path) -> None:
    path = repo / "articles" / "a.md"
    set_published(path, True)
    commit_file(repo, path, message="Publish: Harbor", trailers={})
    assert git(repo, "log", "-1", "--format=%an <%ae>").strip() == (
        "Newsbot Test <newsbot@example.com>"
    )


def test_nothing_to_commit_returns_none(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    assert commit_file(repo, repo / "articles" / "a.md", message="x", trailers=APPROVED) is None
    assert git(repo, "rev-parse", "HEAD") == head


def test_untracked_file_is_added_and_committed_alone(repo: Path) -> None:
    path = repo / "articles" / "new.md"
    path.write_bytes(ARTICLE)
    (repo / "stray.txt").write_text("not mine\n")
    assert commit_file(repo, path, message="Publish: New", trailers=APPROVED)
    assert files_in(repo) == ["articles/new.md"]
    assert "?? stray.txt" in git(repo, "status", "--porcelain")


def test_relative_path_and_articles_subfolder_as_work_tree(repo: Path) -> None:
    articles = repo / "articles"
    set_published(articles / "a.md", True)
    assert commit_file(articles, Path("a.md"), message="Publish", trailers={})
    assert files_in(repo) == ["articles/a.md"]


def test_file_name_is_not_a_glob(repo: Path) -> None:
    literal = repo / "articles" / "[ab].md"
    literal.write_bytes(ARTICLE)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "bracket file")
    set_published(literal, True)
    set_published(repo / "articles" / "a.md", True)
    commit_file(repo, literal, message="Publish: bracket", trailers={})
    assert files_in(repo) == ["articles/[ab].md"]
    assert git(repo, "diff", "--name-only").split() == ["articles/a.md"]


def test_subject_starting_with_a_hash_is_kept(repo: Path) -> None:
    path = repo / "articles" / "a.md"
    set_published(path, True)
    commit_file(repo, path, message="#1 story of the day", trailers=APPROVED)
    assert git(repo, "log", "-1", "--format=%s") == "#1 story of the day\n"


def test_non_ascii_subject_and_every_line_break_folded(repo: Path) -> None:
    path = repo / "articles" / "a.md"
    set_published(path, True)
    message = "Publish: Zürich heat pumps 🚀\n\n--- summary below\r\nWhy:\u2028timely"
    commit_file(repo, path, message=message, trailers=APPROVED)
    body = git(repo, "log", "-1", "--format=%B")
    assert body == (
        "Publish: Zürich heat pumps 🚀 --- summary below Why: timely\n\n"
        "Approved-by: Jane Doe <U123>\n\n"
    )


def test_failing_commit_raises_one_sentence(repo: Path) -> None:
    # Another git process holding the index: git's own refusal, in one line.
    (repo / ".git" / "index.lock").write_text("")
    path = repo / "articles" / "a.md"
    set_published(path, True)
    head = git(repo, "rev-parse", "HEAD")
    with pytest.raises(GitCommitError) as raised:
        commit_file(repo, path, message="Publish: Harbor", trailers=APPROVED)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("git commit for articles/a.md in ")
    assert "index.lock" in message and "File exists" in message
    assert git(repo, "rev-parse", "HEAD") == head


def test_not_a_repository_raises(repo: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "a.md").write_bytes(ARTICLE)
    with pytest.raises(GitCommitError, match="not a git repository"):
        commit_file(plain, plain / "a.md", message="Publish", trailers={})


def test_path_outside_the_work_tree_raises(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.md"
    outside.write_bytes(ARTICLE)
    with pytest.raises(GitCommitError, match="is not inside the git work tree"):
        commit_file(repo, outside, message="Publish", trailers={})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"message": "  "}, "commit message is empty"),
        ({"trailers": {"Approved by": "x"}}, "not a valid git trailer name"),
        ({"trailers": {"Approved-by": "a\nb"}}, "non-empty value on one line"),
        ({"trailers": {"Approved-by": "a\u2028b"}}, "non-empty value on one line"),
        ({"trailers": {"Approved-by": "a\x1b[31mb"}}, "non-empty value on one line"),
        ({"message": "\n\r\x00\u2029"}, "commit message is empty"),
        ({"author": "Jane Doe"}, "must look like 'Name <email>'"),
    ],
)
def test_malformed_arguments_are_refused(repo: Path, kwargs: dict, match: str) -> None:
    arguments = {"message": "Publish", "trailers": APPROVED, **kwargs}
    with pytest.raises(ValueError, match=match):
        commit_file(repo, repo / "articles" / "a.md", **arguments)


def test_is_git_work_tree(repo: Path, tmp_path: Path) -> None:
    assert is_git_work_tree(repo)
    assert is_git_work_tree(repo / "articles")
    assert is_git_work_tree(repo / "articles" / "a.md")
    assert not is_git_work_tree(repo / ".git")
    plain = tmp_path / "plain"
    plain.mkdir()
    assert not is_git_work_tree(plain)
    assert not is_git_work_tree(tmp_path / "missing" / "folder")


# --- a version built from HEAD's, and the clone's id ----------------------------------------


def test_commit_content_commits_that_version_and_leaves_the_work_tree_as_it_is(
    repo: Path,
) -> None:
    articles = repo / "articles"  # the articles folder may be a subfolder of the clone
    path = articles / "a.md"
    path.write_bytes(ARTICLE + b"work in progress\n")
    published = ARTICLE.replace(b"false", b"true")

    sha = commit_content(
        articles, path, published, message="Publish: A", trailers=APPROVED, author="Bot <b@x>"
    )

    assert sha == git(repo, "rev-parse", "HEAD").strip()
    assert files_in(repo) == ["articles/a.md"]
    assert committed_version(articles, path) == published
    assert git(repo, "log", "-1", "--format=%an%n%(trailers:key=Approved-by)") == (
        "Bot\nApproved-by: Jane Doe <U123>\n\n"
    )
    assert path.read_bytes() == ARTICLE + b"work in progress\n"
    assert git(repo, "status", "--porcelain", "--", "articles/a.md") == " M articles/a.md\n"
    assert commit_content(articles, path, published, message="Again", trailers={}) is None


def test_a_copied_clone_gets_an_id_of_its_own(repo: Path, tmp_path: Path) -> None:
    first = clone_id(repo)
    assert first is not None and clone_id(repo / "articles") == first
    copy = tmp_path / "copy"
    shutil.copytree(repo, copy, symlinks=True)  # cp -a, a volume snapshot, a baked image

    assert clone_id(copy) not in (None, first)
    assert clone_id(copy) == clone_id(copy)
    assert clone_id(repo) == first


def test_an_id_written_before_ids_were_bound_is_replaced_and_remembered(repo: Path) -> None:
    # A copy may share it: each clone makes an id of its own and remembers the old one.
    (repo / ".git" / "newsbot-clone-id").write_text("ab" * 16 + "\n")
    made = clone_id(repo)
    assert made not in (None, "ab" * 16) and clone_id(repo) == made
    assert former_clone_id(repo) == "ab" * 16
