"""What the editorial workflow's tests share: a desk (settings, database, app, fake Slack) and
the clicks a reviewer makes, all through signed requests and the real app."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from slack_bolt import App
from sqlalchemy import Connection, select, text, update

from bot.app import create_app, make_client
from bot.render import actions
from bot.settings import Settings
from storage.db import Database, open_database
from storage.models import Article, ReviewDecision, ScheduledPublication
from storage.sync import sync
from tests.builders import REVIEWER, make_settings
from tests.slack_api import FakeSlack
from tests.slack_requests import (
    block_action,
    picked_datetime,
    slash_command,
    view_submission,
)

SECOND = "U0SECOND"  # another reviewer
THIRD = "U0THIRD"
OUTSIDER = "U111"  # jane, no reviewer
REVIEW_CHANNEL = "C0REVIEW"
SHARE_CHANNEL = "C0SHARE"
VOTER = "State Auditor Finds Voter Roll"  # draft, heat 57, topics Privacy and Elections
ZURICH = "Zürich Doubles"  # draft, heat 71, topics Climate Change, Renewable Energy, Housing
CLOUD = "Q&A: Why Cloud Bills"  # draft, heat 35, category technology
CLINIC = "Ransomware Knocks"  # draft, heat 12
VOTER_FILE = "2026/11/voter-roll-privacy-audit.md"
NAMES = {REVIEWER: "rita", SECOND: "sam", THIRD: "tia", OUTSIDER: "jane"}


@dataclass
class Desk:
    slack: FakeSlack
    settings: Settings
    db: Database
    app: App

    @property
    def client(self) -> Any:
        return make_client(self.settings, retry_connections=False)

    def article_id(self, title: str) -> int:
        with self.db.Session() as session:
            found = session.scalar(select(Article.id).where(Article.title.startswith(title)))
        assert found is not None, title
        return found

    def article(self, title: str) -> Article:
        with self.db.Session() as session:
            found = session.get(Article, self.article_id(title))
            assert found is not None
            return found

    def decisions(self, action: str | None = None) -> list[ReviewDecision]:
        with self.db.Session() as session:
            stmt = select(ReviewDecision).order_by(ReviewDecision.id)
            if action is not None:
                stmt = stmt.where(ReviewDecision.action == action)
            return list(session.scalars(stmt))

    def schedules(self) -> list[ScheduledPublication]:
        with self.db.Session() as session:
            return list(
                session.scalars(select(ScheduledPublication).order_by(ScheduledPublication.id))
            )

    def waited_since(self, title: str, moment: datetime) -> None:
        """Say the draft was first indexed at `moment` (the indexer stamps the real now)."""
        with self.db.WriteSession.begin() as session:
            session.execute(
                update(Article)
                .where(Article.id == self.article_id(title))
                .values(first_indexed_at=moment)
            )

    def everything_waited_since(self, moment: datetime) -> None:
        with self.db.WriteSession.begin() as session:
            session.execute(update(Article).values(first_indexed_at=moment))

    # -- what people do in Slack ---------------------------------------------------------

    def command(self, text: str, user: str = REVIEWER) -> dict[str, Any]:
        """`/news TEXT` by `user`; the reply they saw."""
        self.slack.reset()
        request = slash_command(
            text,
            user_id=user,
            user_name=NAMES.get(user, user),
            response_url=self.slack.response_url(),
        )
        assert self.app.dispatch(request.bolt_request()).status == 200
        (reply,) = self.slack.calls_to("response_url")
        self.slack.reset()
        return reply.args

    def queue(self, user: str = REVIEWER) -> dict[str, Any]:
        return self.command("review", user)

    def click(
        self,
        message: dict[str, Any],
        action_id: str,
        title: str,
        *,
        user: str = REVIEWER,
        channel: str = "C123",
        message_ts: str | None = None,
    ) -> list[dict[str, Any]]:
        """Click a card's button in `message` (as posted or as the user saw it); what the
        user was answered through the response_url."""
        element = button(message, action_id, self.article_id(title))
        extra = {"message_ts": message_ts} if message_ts else {}
        request = block_action(
            action_id,
            element["value"],
            user_id=user,
            user_name=NAMES.get(user, user),
            channel_id=channel,
            message_blocks=message["blocks"],
            message_text=message.get("text", ""),
            response_url=self.slack.response_url(),
            **extra,
        )
        before = len(self.slack.calls_to("response_url"))
        assert self.app.dispatch(request.bolt_request()).status == 200
        return [c.args for c in self.slack.calls_to("response_url")[before:]]

    def share(self, title: str, channel: str = SHARE_CHANNEL) -> dict[str, Any]:
        """Share the article into a channel (so a posted card exists); the posted message."""
        results = self.command(title, OUTSIDER)
        self.click(results, actions.NEWS_SHARE, title, user=OUTSIDER, channel=channel)
        (posted,) = self.slack.calls_to("chat.postMessage")
        self.slack.reset()
        return {**posted.args, "ts": posted.response["ts"]}

    def open_publish_at(
        self, message: dict[str, Any], title: str, *, user: str = REVIEWER, **where: Any
    ) -> dict[str, Any]:
        """Click Publish at… on the card; the modal views.open received."""
        before = len(self.slack.calls_to("views.open"))
        self.click(message, actions.REVIEW_PUBLISH_AT, title, user=user, **where)
        opened = self.slack.calls_to("views.open")[before:]
        assert len(opened) == 1, [c.method for c in self.slack.calls]
        return opened[0].args["view"]

    def submit(
        self, view: dict[str, Any], when: datetime | None, *, user: str = REVIEWER
    ) -> dict[str, Any]:
        """Submit the modal with that moment chosen; the JSON body Slack got back (an ack
        with errors, or empty)."""
        values = {}
        if when is not None:
            values = {
                actions.PUBLISH_AT_BLOCK: {
                    actions.PUBLISH_AT_ELEMENT: picked_datetime(int(when.timestamp()))
                }
            }
        request = view_submission(view, values, user_id=user, user_name=NAMES.get(user, user))
        response = self.app.dispatch(request.bolt_request())
        assert response.status == 200
        return json.loads(response.body) if response.body else {}

    def schedule(
        self, title: str, when: datetime, *, user: str = REVIEWER, channel: str = "C123"
    ) -> None:
        """Publish at… on the card in `/news review` typed in `channel`, at `when`."""
        view = self.open_publish_at(self.queue(user), title, user=user, channel=channel)
        assert self.submit(view, when, user=user) == {}


def make_desk(slack: FakeSlack, database_url: str, articles: Path, **env: str) -> Desk:
    for user, name in NAMES.items():
        if user not in slack.users:
            slack.add_user(user, name, name.title())
    env.setdefault("NEWSBOT_REVIEWERS", ",".join([REVIEWER, SECOND, THIRD]))
    settings = make_settings(slack, database_url, articles, **env)
    db = open_database(database_url)
    sync(db.WriteSession, articles)
    return Desk(slack, settings, db, create_app(settings, db, process_before_response=True))


def button(message: dict[str, Any], action_id: str, article_id: int) -> dict[str, Any]:
    """The button with that action on the article's card (or its line) in a message or view."""
    for block in message["blocks"]:
        block_id = block.get("block_id", "")
        if block_id in (f"card-actions:{article_id}", f"scheduled:{article_id}"):
            for element in [*block.get("elements", []), block.get("accessory") or {}]:
                if element.get("action_id") == action_id:
                    return element
    raise AssertionError(f"no {action_id} button for article {article_id}")


def action_ids(message: dict[str, Any], article_id: int) -> list[str]:
    """The buttons on the article's card, in order."""
    for block in message["blocks"]:
        if block.get("block_id") == f"card-actions:{article_id}":
            return [e["action_id"] for e in block["elements"]]
    return []


def card_text(message: dict[str, Any], article_id: int) -> str:
    """The text of the article's card (section and context line) in a message."""
    return json.dumps(
        [
            b
            for b in message["blocks"]
            if b.get("block_id") in (f"card:{article_id}", f"card-meta:{article_id}")
        ],
        ensure_ascii=False,
    )


def at(text: str) -> datetime:
    """`2026-03-29 06:00` (UTC) as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class HeldRow:
    """A PostgreSQL row lock the test holds, so that processes pile up behind it."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def wait_for_waiters(self, statement: str, count: int, timeout: float = 60) -> None:
        """Wait until `count` sessions wait for a lock in a statement starting `statement`.

        Other test runs may share the server: only sessions blocked by a lock and
        running that statement count.
        """
        deadline = time.monotonic() + timeout
        with self.conn.engine.connect() as watcher:
            while True:
                waiting = watcher.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                        " AND cardinality(pg_blocking_pids(pid)) > 0 AND query LIKE :start"
                    ),
                    {"start": statement + "%"},
                )
                # pg_stat_activity is a snapshot taken once per transaction.
                watcher.rollback()
                if waiting >= count:
                    return
                if time.monotonic() > deadline:
                    raise AssertionError(f"{waiting} of {count} sessions came to wait")
                time.sleep(0.05)


@contextmanager
def row_held(desk: Desk, table: str) -> Iterator[HeldRow]:
    """Hold every row of `table` (FOR UPDATE) until the block ends."""
    with desk.db.engine.connect() as conn, conn.begin():
        conn.execute(text(f"SELECT id FROM {table} FOR UPDATE"))
        yield HeldRow(conn)
