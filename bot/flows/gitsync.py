"""Several machines: the articles folder is a clone of the site's git repository.

Each decision that rewrote a file is committed (NEWSBOT_GIT_COMMIT) and pushed
to the upstream of the clone's branch (NEWSBOT_GIT_PUSH). The commit is owed in
the database from the moment the decision is done, so one that fails is made
before the clone's next pull. Before every index
run the clone is brought up to date (NEWSBOT_GIT_PULL), and commits the remote
could not take before are pushed then. A decision whose article changed
upstream before its commit was pushed is undone, in git and in the database,
and its reviewer is told with the fresh card.

Commits and the moves of a clone's branch take turns (`storage.gitsync.clone_lock`,
held for local git commands only), and so do exchanges with the remote
(`exchange_lock`); no database transaction is open across a git command that
uses the network.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot import render
from bot.deps import Deps
from bot.flows.cards import CALL_FAILED, refresh_behind
from bot.settings import Settings
from storage.db import Database
from storage.decisions import (
    ACTIONS,
    OwedCommit,
    Reverted,
    forget_owed,
    owed_commits,
    pending_pushes,
    record_commit,
    record_pushes,
    revert_decision,
)
from storage.errors import DatabaseError
from storage.gitcommit import (
    clone_id,
    commit_content,
    commit_file,
    committed_version,
    current_branch,
    former_clone_id,
    is_git_work_tree,
)
from storage.gitrun import GitError
from storage.gitsync import TRAILER, clone_lock, decision_commits, synchronize
from storage.hashing import content_hash
from storage.models import Article
from storage.scan import FolderError
from storage.sync import sync
from storage.types import ArticleView, Outcome
from storage.views import views_of
from storage.writeback import WriteBackError, read_published, set_published, with_published

log = logging.getLogger(__name__)

VERBS = {"publish": "Publish", "unpublish": "Unpublish", "reject": "Reject"}


@dataclass
class Exchanged:
    """What one exchange with the remote did that the index run and Slack must follow.

    `reverted`: decisions undone because their article changed upstream.
    `pushed`: articles whose decisions are on the remote now (their cards drop
    "pushing…"). `problem`: why the pull or push could not be done.
    """

    moved: bool = False
    reverted: list[Reverted] = field(default_factory=list)
    pushed: list[int] = field(default_factory=list)
    problem: str | None = None


def commit_decision(
    deps: Deps,
    client: WebClient,
    *,
    action: str,
    trailers: list[tuple[str, str]],
    outcome: Outcome,
) -> Outcome:
    """Commit a decision that rewrote its file, and push it with NEWSBOT_GIT_PUSH.

    Returns the outcome to answer with: the decision as it stands now (its card
    says "pushing…" until its commit is on the remote), or "changed_upstream"
    with the fresh article when the remote had a newer version of the file, so
    the decision was undone. A commit that cannot be made (a detached HEAD, a
    stale index.lock, a killed git) is logged; the decision stands, and its
    commit, owed in the database since the decision, is made before the next
    pull (`commit_owed`).
    """
    settings, db = deps.settings, deps.db
    root = settings.articles_dir
    assert outcome.article is not None and outcome.path is not None
    if not is_git_work_tree(root):
        log.warning("NEWSBOT_GIT_COMMIT is on but %s is not a git work tree", root)
        return outcome
    if outcome.decision_id is not None:
        trailers = [*trailers, (TRAILER, str(outcome.decision_id))]
    try:
        if not _on_a_branch(root):
            return outcome
        with clone_lock(root):
            sha = commit_file(
                root,
                outcome.path,
                message=f"{VERBS[action]}: {outcome.article.title}",
                trailers=trailers,
                author=settings.git_author,
            )
            if outcome.decision_id is not None:
                with db.WriteSession.begin() as session:
                    if sha is not None:
                        record_commit(session, outcome.decision_id, sha, pushing=settings.git_push)
                    else:
                        # Committed meanwhile (`commit_owed`), or nothing to commit.
                        forget_owed(session, outcome.decision_id)
    except (GitError, ValueError) as exc:  # ValueError: a name git cannot take
        log.error(
            "the %s of %s stands, but its git commit failed and is made again before the "
            "next pull: %s",
            action,
            outcome.article.web_url,
            exc,
        )
        return outcome
    if sha is None or outcome.decision_id is None or not settings.git_push:
        return replace(outcome, article=_view(db, outcome.article.id) or outcome.article)
    # Outside the clone lock: the next click's commit does not wait for the network.
    exchanged = _exchange(settings, db, root, pull=False)
    if exchanged.problem:
        log.warning(
            "the %s of %s stands and is pushed at the next re-index: %s",
            action,
            outcome.article.web_url,
            exchanged.problem,
        )
    _follow(settings, db, client, exchanged, root, skip=outcome.decision_id)
    article = _view(db, outcome.article.id) or outcome.article
    if any(r.decision_id == outcome.decision_id for r in exchanged.reverted):
        return Outcome("changed_upstream", article, decision_id=outcome.decision_id)
    return replace(outcome, article=article)


def owing_clone(settings: Settings, root: Path | None = None) -> str | None:
    """With NEWSBOT_GIT_COMMIT, the id of the clone the articles folder is in, whose commits
    decisions owe until they are made (None: nothing is committed, nothing owed)."""
    if not settings.git_commit:
        return None
    try:
        return clone_id(root or settings.articles_dir)
    except GitError as exc:
        log.error("git: decisions are not committed: %s", exc)
        return None


def commit_owed(settings: Settings, db: Database, root: Path) -> list[Reverted]:
    """Make the git commits that decisions owe in the clone of `root`, oldest first: their
    commit failed or never ran (a killed process, a stale index.lock). Before every pull,
    so that the clone never has a change of ours in the way of the upstream's.

    A commit already made (the process died before recording it) is found by its
    trailer; a file that no longer has the decision's change owes nothing. Only the
    decision's change is committed (`_commit_one`); a decision whose file is no
    longer the version its reviewer saw is undone, in the file and the database,
    and returned, so that its reviewer is told as after an upstream change.
    """
    clone = owing_clone(settings, root)
    if clone is None:
        return []
    try:
        former = former_clone_id(root)
    except GitError:
        former = None  # clone_id could read the file just now; it says what is wrong if not
    with db.Session() as session:
        if not _owed(session, clone, former):
            return []
    undone: list[Reverted] = []
    try:
        if not _on_a_branch(root):
            return []
        with clone_lock(root):
            # Read again under the lock: a click may have committed its own meanwhile.
            with db.Session() as session:
                owed = _owed(session, clone, former)
            found = decision_commits(root, [o.decision_id for o in owed]) if owed else {}
            for o, ours in owed.items():
                made = found.get(o.decision_id) or _commit_one(settings, root, o)
                if not ours and made in (_NOTHING, _CHANGED):
                    continue  # owed under an id a copy of this clone may share: not ours to drop
                if made is _CHANGED:
                    reverted = _undo_owed(db, root, o)
                    if reverted is not None:
                        undone.append(reverted)
                    continue
                with db.WriteSession.begin() as session:
                    if made is _NOTHING:
                        forget_owed(session, o.decision_id)
                    else:
                        record_commit(session, o.decision_id, made, pushing=settings.git_push)
                if made is _NOTHING:
                    log.info(
                        "git: the %s of %s has nothing to commit: its file no longer has its "
                        "change, and is indexed as it is",
                        o.action,
                        o.source_path,
                    )
                else:
                    log.info(
                        "git: committed the %s of %s, which waited to be committed",
                        o.action,
                        o.source_path,
                    )
    except (GitError, ValueError) as exc:
        log.warning("git: decisions wait to be committed in %s: %s", root, exc)
    return undone


def _owed(session: Session, clone: str, former: str | None) -> dict[OwedCommit, bool]:
    """The commits owed in this clone, oldest first: {owed: whether it is this clone's
    alone}; those owed under its former id (`former_clone_id`) are not."""
    owed = {o: True for o in owed_commits(session, clone)}
    if former is not None:
        owed.update((o, False) for o in owed_commits(session, former))
    return dict(sorted(owed.items(), key=lambda item: item[0].decision_id))


# What `_commit_one` found instead of making a commit.
_NOTHING, _CHANGED = "nothing", "changed"


def _commit_one(settings: Settings, root: Path, owed: OwedCommit) -> str:
    """Commit the decision's change alone: HEAD's version of the file with the decision
    applied, when that is the version the reviewer saw; other edits of the work tree
    stay uncommitted, for the indexer. When the reviewer saw the file with edits not
    committed yet, the file is committed as the decision left it. The sha, or
    `_NOTHING` (the file no longer has the change), or `_CHANGED` (neither holds: the
    file is not the version the reviewer saw)."""
    path = root / owed.source_path
    _column, _requires, value, _touches = ACTIONS[owed.action]
    try:
        says = read_published(path, root=root)
    except WriteBackError:
        says = None
    if says is not value:
        return _NOTHING  # changed since (the index follows the file); nothing of ours to commit
    trailers = [("Approved-by", f"{name} <{user}>") for user, name in owed.approvers]
    if owed.scheduled_by is not None:
        user, name = owed.scheduled_by
        trailers.append(("Scheduled-by", f"{name} <{user}>"))
    trailers.append((TRAILER, str(owed.decision_id)))
    message, author = f"{VERBS[owed.action]}: {owed.title}", settings.git_author

    def the_file_as_it_is() -> str:
        sha = commit_file(root, path, message=message, trailers=trailers, author=author)
        return sha or _NOTHING

    if owed.seen is None:  # owed before the version seen was kept: as it was done then
        return the_file_as_it_is()
    committed = committed_version(root, path)
    if committed is not None and owed.seen in _hashes_as_checked_out(committed):
        try:
            content = with_published(committed, value, owed.source_path)
        except WriteBackError:
            return _CHANGED
        if content is None:
            return _NOTHING
        sha = commit_content(root, path, content, message=message, trailers=trailers, author=author)
        return sha or _NOTHING
    try:
        now = path.read_bytes()
        before = with_published(now, not value, owed.source_path)
    except (OSError, WriteBackError):
        return _CHANGED
    if before is not None and content_hash(before) == owed.seen:
        return the_file_as_it_is()
    return _CHANGED


def _hashes_as_checked_out(stored: bytes) -> set[str]:
    """The fingerprints a committed file has in a work tree: as stored, and with CRLF line
    endings, as git writes it out where `eol=crlf` (or core.autocrlf) converts it. Asking
    git (`cat-file --filters`) would also run a smudge filter from the clone's config."""
    crlf = stored.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return {content_hash(stored), content_hash(crlf)}


def _undo_owed(db: Database, root: Path, owed: OwedCommit) -> Reverted | None:
    """Undo a decision whose owed commit cannot be made on the version its reviewer saw:
    its flag goes back in the file (the rest of the file is left as it is) and the
    decision is reverted."""
    _column, _requires, value, _touches = ACTIONS[owed.action]
    try:
        set_published(root / owed.source_path, not value, root=root)
    except WriteBackError as exc:
        log.error(
            "git: the %s of %s waits to be committed, and its file is no longer the version "
            "its reviewer saw, but it could not be undone: %s",
            owed.action,
            owed.source_path,
            exc,
        )
        return None
    done = revert_decision(db.WriteSession, owed.decision_id)
    if done is not None:
        log.warning(
            "the %s of %s by %s was undone: its commit waited, and the file changed since "
            "its reviewer saw it",
            done.action,
            done.article.web_url,
            done.reviewer_id,
        )
    return done


# Clones said to be on a detached HEAD, so that it is said once, not at every click.
_DETACHED: set[Path] = set()


def _on_a_branch(root: Path) -> bool:
    """Whether the clone has a branch to commit on; a detached HEAD is said once."""
    if current_branch(root) is not None:
        _DETACHED.discard(root)
        return True
    if root not in _DETACHED:
        _DETACHED.add(root)
        log.warning(
            "git: the clone at %s is not on a branch (detached HEAD), so decisions are written "
            "to their files and committed once a branch is checked out",
            root,
        )
    return False


def pull_for(deps: Deps, client: WebClient, outcome: Outcome, fingerprint: str | None) -> bool:
    """Whether pulling brought a newer version of a file that a fresh card was refused on.

    The database (shared by every replica) had the card's version and this
    replica's clone did not: it was behind its upstream. Only with NEWSBOT_GIT_PULL.
    """
    settings = deps.settings
    article = outcome.article
    if not settings.git_pull or article is None or article.fingerprint != fingerprint:
        return False
    root = settings.articles_dir
    if not is_git_work_tree(root):
        return False
    undone = commit_owed(settings, deps.db, root)  # as before every pull
    exchanged = _exchange(settings, deps.db, root, pull=True)
    exchanged.reverted[:0] = undone
    if exchanged.problem:
        log.warning("git: %s", exchanged.problem)
    _follow(settings, deps.db, client, exchanged, root)
    return exchanged.moved


def before_index(settings: Settings, db: Database, root: Path | None = None) -> Exchanged | None:
    """Before an index run: make the commits decisions owe (NEWSBOT_GIT_COMMIT), pull
    (NEWSBOT_GIT_PULL), and push what waits (NEWSBOT_GIT_PUSH).

    A pull or push that cannot be done is one sentence in the log, and the
    index runs on the folder as it is.
    """
    root = root or settings.articles_dir
    undone: list[Reverted] = []
    if settings.git_commit and is_git_work_tree(root):
        try:
            undone = commit_owed(settings, db, root)  # before the pull: nothing in its way
        except SQLAlchemyError as exc:
            log.error("git: owed commits not made, the database failed (%s)", type(exc).__name__)
    if not (settings.git_pull or settings.git_push):
        return Exchanged(reverted=undone) if undone else None
    if not is_git_work_tree(root):
        log.warning("git: %s is not a git work tree, so it is indexed as it is", root)
        return None
    try:
        exchanged = _exchange(settings, db, root, pull=settings.git_pull)
    except SQLAlchemyError as exc:
        log.error("git: the pull was not done, the database failed (%s)", type(exc).__name__)
        return Exchanged(reverted=undone) if undone else None
    exchanged.reverted[:0] = undone
    if exchanged.problem:
        log.warning("git: %s; the index runs on %s as it is", exchanged.problem, root)
    elif exchanged.moved:
        log.info("git: brought %s up to date with its upstream", root)
    if exchanged.pushed:
        log.info("git: pushed the decisions on %d article(s) that waited", len(exchanged.pushed))
    return exchanged


def after_index(
    settings: Settings, db: Database, exchanged: Exchanged | None, client: WebClient | None
) -> None:
    """After the index run: tell reviewers whose decisions were undone, and bring posted
    cards up to date. Without a Slack client (the command line, no token), the cards are
    left to `newsbot serve`'s periodic catch-up."""
    if exchanged is None or client is None:
        return
    for reverted in exchanged.reverted:
        _tell(settings, db, client, reverted)
    if exchanged.reverted or exchanged.pushed:
        refresh_behind(db, client, tz=settings.timezone)


def _exchange(settings: Settings, db: Database, root: Path, *, pull: bool) -> Exchanged:
    """Synchronize the clone, then record in the database what became of each decision."""
    with db.Session() as session:
        pending = pending_pushes(session) if settings.git_push else []
    result = synchronize(root, pull=pull, push=settings.git_push, pending=pending)
    if result.own and settings.git_push:
        log.warning(
            "git: the clone at %s has %d commit(s) of its own, which newsbot does not push: "
            "push or drop them by hand",
            root,
            result.own,
        )
    if result.gone:
        log.warning(
            "git: the upstream of %s no longer has %d commit(s) the clone had from it (a "
            "force-push): the clone follows it and does not push them again",
            root,
            result.gone,
        )
    waiting = set(pending)
    shas = {
        c.decision: c.now
        for c in result.commits
        if c.decision in waiting and c.now is not None and c.decision is not None
    }
    pushed = set(result.landed) | (set(shas) if result.pushed else set())
    shas.update(result.landed)
    articles: list[int] = []
    if shas:
        with db.WriteSession.begin() as session:
            articles = record_pushes(session, shas, pushed=pushed)
    reverted = []
    # The latest first: each puts back the value the one before it had set.
    for decision_id in reversed(result.dropped):
        done = revert_decision(db.WriteSession, decision_id)
        if done is not None:
            log.warning(
                "the %s of %s by %s was undone: the article changed upstream before its "
                "commit was pushed",
                done.action,
                done.article.web_url,
                done.reviewer_id,
            )
            reverted.append(done)
    return Exchanged(result.moved, reverted, articles, result.problem)


def _follow(
    settings: Settings,
    db: Database,
    client: WebClient,
    exchanged: Exchanged,
    root: Path,
    skip: int | None = None,
) -> None:
    """After an exchange outside an index run: index what was undone, and tell the others."""
    if not exchanged.reverted:
        return
    try:
        sync(db.WriteSession, root)  # the fresh cards show the upstream's version
    except (DatabaseError, FolderError) as exc:
        log.error("git: the articles undone were not indexed again: %s", exc)
    others = [r for r in exchanged.reverted if r.decision_id != skip]
    after_index(settings, db, Exchanged(reverted=others, pushed=exchanged.pushed), client)


def _tell(settings: Settings, db: Database, client: WebClient, reverted: Reverted) -> None:
    article = _view(db, reverted.article.id) or reverted.article
    if reverted.channel_id is None:
        return  # decided on App Home, which shows the article as it is when next opened
    message = render.undone_later(reverted.action, article, tz=settings.timezone)
    try:
        client.chat_postEphemeral(
            channel=reverted.channel_id,
            user=reverted.reviewer_id,
            text=message.text,
            blocks=message.blocks,
        )
    except CALL_FAILED as exc:
        said = exc.response.get("error") if isinstance(exc, SlackApiError) else None
        log.warning(
            "could not tell %s that their %s was undone: %s",
            reverted.reviewer_id,
            reverted.action,
            said or type(exc).__name__,
        )


def _view(db: Database, article_id: int) -> ArticleView | None:
    with db.Session() as session:
        article = session.get(Article, article_id)
        return views_of(session, [article])[0] if article is not None else None
