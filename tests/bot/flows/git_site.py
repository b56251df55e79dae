"""A site's git repository for tests: a bare repository standing for the remote, seeded
with article files under `_news/`, clones of it, and someone else's pushes."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

NEWS = "_news"


def git(repo: Path, *args: str, check: bool = True) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=check
    ).stdout


def git_environment(folder: Path) -> dict[str, str]:
    """Variables that keep the developer's git configuration out and give commits an author."""
    config = folder / "gitconfig"
    config.write_text("[user]\n\tname = Site Test\n\temail = site@example.com\n")
    return {
        "GIT_CONFIG_GLOBAL": str(config),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CEILING_DIRECTORIES": str(folder),
    }


class Site:
    """The remote (`bare`) and its clones, all under `root`."""

    def __init__(self, root: Path, articles: Path) -> None:
        self.root = root
        self.bare = root / "site.git"
        git(root, "init", "-q", "--bare", "-b", "main", str(self.bare))
        seed = self.clone("seed")
        shutil.copytree(articles, seed / NEWS)
        (seed / "index.html").write_text("<h1>The site</h1>\n")
        git(seed, "add", ".")
        git(seed, "commit", "-q", "-m", "Import the articles")
        git(seed, "push", "-q", "origin", "main")
        self.first = self.tip()

    def clone(self, name: str) -> Path:
        target = self.root / name
        subprocess.run(
            ["git", "clone", "-q", str(self.bare), str(target)], capture_output=True, check=True
        )
        return target

    def someone_pushes(
        self, rel: str, edit: Callable[[bytes], bytes], message: str = "Edit upstream"
    ) -> str:
        """Another person edits `_news/<rel>` (new when missing) and pushes: the new tip."""
        other = self.root / "someone"
        if not other.exists():
            self.clone("someone")
        git(other, "pull", "-q", "--ff-only")
        path = other / NEWS / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(edit(path.read_bytes() if path.exists() else b""))
        git(other, "add", "--", f"{NEWS}/{rel}")
        git(other, "commit", "-q", "-m", message)
        git(other, "push", "-q", "origin", "main")
        return self.tip()

    def tip(self) -> str:
        return git(self.bare, "rev-parse", "main").strip()

    def read(self, rel: str, rev: str = "main") -> bytes:
        return subprocess.run(
            ["git", "-C", str(self.bare), "show", f"{rev}:{NEWS}/{rel}"],
            capture_output=True,
            check=True,
        ).stdout

    def files(self, rev: str = "main") -> list[str]:
        out = git(self.bare, "ls-tree", "-r", "--name-only", rev, "--", NEWS)
        return [line.removeprefix(f"{NEWS}/") for line in out.splitlines()]

    def commits_since_import(self) -> list[dict[str, str]]:
        """Each commit after the import, oldest first: sha, parents, subject, decision, files."""
        out = git(
            self.bare,
            "log",
            "--reverse",
            "--format=%H%x1f%P%x1f%s%x1f%(trailers:key=Newsbot-Decision,valueonly)%x1e",
            f"{self.first}..main",
        )
        commits = []
        for record in out.split("\x1e"):
            if not record.strip():
                continue
            sha, parents, subject, decision = record.strip("\n").split("\x1f")
            files = git(self.bare, "show", "--name-only", "--format=", sha).split()
            commits.append(
                {
                    "sha": sha,
                    "parents": parents,
                    "subject": subject,
                    "decision": decision.strip(),
                    "files": " ".join(files),
                }
            )
        return commits

    def unreachable(self) -> None:
        self.bare.rename(self.bare.with_name("away.git"))

    def reachable(self) -> None:
        self.bare.with_name("away.git").rename(self.bare)
