"""A news desk for the follow tests: an articles folder, a database, the real app, the
Slack stand-in; follows made with signed `/news follow` commands, files written to disk."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from slack_bolt import App

from bot.app import create_app, make_client
from bot.flows.follows import post_pending
from bot.settings import Settings
from storage.db import Database
from storage.sync import sync
from storage.types import SyncReport
from tests.slack_api import Call, FakeSlack
from tests.slack_requests import block_action, slash_command

CHANNEL = "C0FOLLOW"


def _quoted(value: str) -> str:
    """A YAML double-quoted string (JSON's, with every character as itself)."""
    return json.dumps(value, ensure_ascii=False)


def write_article(
    folder: Path,
    name: str,
    *,
    title: str | None = None,
    heat: int = 50,
    topics: tuple[str, ...] = (),
    published: bool = False,
    excerpt: str = "",
    domain: str = "desk.example",
    when: datetime | None = None,
    image: bool = True,
) -> Path:
    """An article file as the pipeline writes it; its webUrl is https://news.example/NAME."""
    when = when or datetime.now(UTC)
    lines = [
        "---",
        f"title: {_quoted(title or f'Story {name}')}",
        f"excerpt: {_quoted(excerpt)}",
        f"publishedDateTime: {when:%Y-%m-%dT%H:%M:%SZ}",
        f'webUrl: "https://news.example/{name}"',
        f"heat: {heat}",
        "quality: 50",
        f"published: {'true' if published else 'false'}",
        "provider:",
        "  name: Desk",
        f"  domain: {domain}",
    ]
    if topics:
        lines.append("topics:")
        lines += [f"  - {_quoted(t)}" for t in topics]
    if image:
        lines += ["images:", f'  - url: "https://img.example/{name}.jpg"', '    title: "pic"']
    path = folder / f"{name}.md"
    path.write_text("\n".join([*lines, "---", ""]))
    return path


@dataclass
class Desk:
    settings: Settings
    db: Database
    app: App
    slack: FakeSlack

    @property
    def folder(self) -> Path:
        return self.settings.articles_dir

    def command(self, text: str, *, channel: str = CHANNEL, user: str = "U111") -> dict[str, Any]:
        """`/news TEXT` typed in the channel; the one answer, as the response_url got it."""
        before = len(self.slack.calls_to("response_url"))
        request = slash_command(
            text, channel_id=channel, user_id=user, response_url=self.slack.response_url()
        )
        assert self.app.dispatch(request.bolt_request()).status == 200
        calls = self.slack.calls_to("response_url")
        assert len(calls) == before + 1, [c.args for c in calls[before:]]
        return calls[-1].args

    def follow(self, query: str, *, channel: str = CHANNEL, user: str = "U111") -> dict[str, Any]:
        return self.command(f"follow {query}", channel=channel, user=user)

    def click(self, message: dict[str, Any], action_id: str, *, channel: str = CHANNEL) -> None:
        request = block_action(
            action_id,
            message_blocks=message["blocks"],
            channel_id=channel,
            response_url=self.slack.response_url(),
        )
        assert self.app.dispatch(request.bolt_request()).status == 200

    def index(self) -> SyncReport:
        return sync(self.db.WriteSession, self.folder)

    def post(self, **kw: Any) -> int:
        """What serve's follow job does: post what index runs found."""
        client = make_client(self.settings, retry_connections=False)
        return post_pending(self.settings, self.db, client, **kw)

    def posts(self, channel: str = CHANNEL) -> list[Call]:
        """The messages Slack took in the channel."""
        posted = self.slack.calls_to("chat.postMessage")
        return [c for c in posted if c.ok and c.args["channel"] == channel]


def make_desk(slack: FakeSlack, settings: Settings, db: Database, *, index: bool = True) -> Desk:
    if index:
        sync(db.WriteSession, settings.articles_dir)
    app = create_app(settings, db, process_before_response=True)
    return Desk(settings, db, app, slack)


def text_of(payload: dict[str, Any]) -> str:
    """Everything a message says, blocks and fallback text, as one string."""
    return json.dumps({"text": payload.get("text"), "blocks": payload.get("blocks")})


def card_titles(call: Call) -> list[str]:
    """The titles of the article cards a posted message carries."""
    titles = []
    for block in call.args.get("blocks") or []:
        if str(block.get("block_id", "")).startswith("card:"):
            titles.append(block["text"]["text"].split("|", 1)[1].split(">", 1)[0])
    return titles
