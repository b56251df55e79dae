"""Pasted links to indexed articles unfurl as their cards; other links are left alone."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from bot import render
from bot.deps import Deps
from storage.search import find_by_url


def unfurl(deps: Deps, client: WebClient, event: dict[str, Any]) -> None:
    """Answer a `link_shared` event with `chat.unfurl` for the links that are articles."""
    unfurls: dict[str, dict[str, Any]] = {}
    with deps.db.Session() as session:
        for link in event.get("links") or []:
            url = link.get("url", "") if isinstance(link, dict) else ""
            article = find_by_url(session, url) if url else None
            if article is not None and url not in unfurls:
                unfurls[url] = {"blocks": render.unfurl_blocks(article, tz=deps.settings.timezone)}
    if not unfurls:
        return
    if event.get("unfurl_id") and event.get("source"):
        client.chat_unfurl(unfurl_id=event["unfurl_id"], source=event["source"], unfurls=unfurls)
    else:
        client.chat_unfurl(channel=event["channel"], ts=event["message_ts"], unfurls=unfurls)
