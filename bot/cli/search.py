"""`newsbot search` (the `/news` search, as a table or JSON lines) and `newsbot audit`."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from bot.cli import UserError, open_db, positive
from bot.cli.output import json_line, table
from bot.settings import Settings

if TYPE_CHECKING:
    from storage.types import ArticleView, AuditEntry, FollowEvent


def add_commands(commands: Any) -> None:
    find = commands.add_parser("search", help="search articles as /news does")
    find.add_argument("query", nargs="*", help="terms and filters: heat>=N since:7d provider:D ...")
    find.add_argument("--json", action="store_true", help="one JSON object per line")
    find.add_argument("--limit", type=positive, default=20, help="most results (default 20)")
    find.add_argument("--topics", action="store_true", help="list topics with article counts")
    find.set_defaults(handler=cmd_search)

    audit = commands.add_parser("audit", help="list review decisions, follows and unfollows")
    audit.add_argument("--since", default="7d", help="7d, 12h, 2w or YYYY-MM-DD (default 7d)")
    audit.set_defaults(handler=cmd_audit)


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from storage.search import QueryError, parse_query, search, topic_counts

    if not args.topics and not args.query:
        raise UserError("give search terms (newsbot search ai heat>=50), or --topics")
    db = open_db(settings)
    try:
        with db.Session() as session:
            if args.topics:
                counts = topic_counts(session, limit=args.limit)
                if args.json:
                    for tc in counts:
                        print(json_line({"topic": tc.name, "count": tc.count}))
                else:
                    table(["topic", "articles"], [[tc.name, str(tc.count)] for tc in counts])
                return 0
            try:
                query = parse_query(" ".join(args.query), tz=settings.timezone)
            except QueryError as exc:
                raise UserError(str(exc)) from None
            page = search(session, query, limit=args.limit)
    finally:
        db.dispose()
    if args.json:
        for article in page.articles:
            print(json_line(article_json(article)))
    elif not page.articles:
        print(f"no articles match {query.text!r}", file=sys.stderr)
    else:
        rows = [
            [
                str(a.heat),
                a.published_at.astimezone(settings.timezone).strftime("%Y-%m-%d")
                if a.published_at
                else "",
                "yes" if a.published else "draft",
                a.title,
                ", ".join(a.topics),
                a.provider_domain or "",
            ]
            for a in page.articles
        ]
        table(["heat", "date", "published", "title", "topics", "provider"], rows)
    return 0


def article_json(article: ArticleView) -> dict[str, Any]:
    """The `--json` line for one article (SPEC section 2)."""
    when = article.published_at
    return {
        "url": article.web_url,
        "title": article.title,
        "topics": list(article.topics),
        "heat": article.heat,
        "quality": article.quality,
        "published": article.published,
        "publishedDateTime": when.isoformat().replace("+00:00", "Z") if when else None,
        "provider": {"name": article.provider_name, "domain": article.provider_domain},
    }


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    from storage.decisions import decisions_since
    from storage.follows import follow_events_since
    from storage.search import QueryError, parse_since

    try:
        since = parse_since(args.since, tz=settings.timezone, spelled="--since ")
    except QueryError as exc:
        raise UserError(str(exc)) from None
    db = open_db(settings)
    try:
        with db.Session() as session:
            rows = decisions_since(session, since)
            follows = follow_events_since(session, since)
    finally:
        db.dispose()
    if not rows:
        print(f"no review decisions since {since.astimezone(settings.timezone):%Y-%m-%d %H:%M}")
    else:
        _decision_table(rows, settings)
    if follows:
        _follow_table(follows, settings)
    return 0


# What `newsbot audit` says of each state of a decision's commit (storage.models.DecisionCommit).
PUSHED = {
    "pushed": "yes",
    "pending": "not yet",
    "uncommitted": "not yet (not committed yet)",
    "local": "no (NEWSBOT_GIT_PUSH is off)",
    "dropped": "no: the article changed upstream",
}


def _decision_table(rows: list[AuditEntry], settings: Settings) -> None:
    """Review decisions and the workflow's steps: who, what, when, where, and their commit."""
    table(
        ["when", "who", "what", "article", "change", "where", "note", "commit", "pushed"],
        [
            [
                r.decided_at.astimezone(settings.timezone).strftime("%Y-%m-%d %H:%M"),
                f"{r.reviewer_name} ({r.reviewer_id})",
                r.action if r.status != "reverted" else f"{r.action}, undone",
                r.title,
                # The workflow's steps (schedule, approve, ...) have a value, not a change.
                f"{r.old_value} -> {r.new_value}" if r.old_value is not None else r.new_value or "",
                f"{r.channel_id or '-'} {r.message_ts or ''}".strip(),
                r.note,
                r.commit_sha[:10] if r.commit_sha else "-",
                PUSHED.get(r.push_state or "", "-"),
            ]
            for r in rows
        ],
    )


def _follow_table(events: list[FollowEvent], settings: Settings) -> None:
    """Follows made and removed: who, when, which query, where."""
    table(
        ["when", "who", "what", "query", "where"],
        [
            [
                e.at.astimezone(settings.timezone).strftime("%Y-%m-%d %H:%M"),
                f"{e.who_name} ({e.who_id})",
                e.action,
                e.query,
                f"{e.channel} #{e.number}",
            ]
            for e in events
        ],
    )
