"""Unfurl pasted links to indexed articles as their cards; other links are left alone."""

from __future__ import annotations

from collections.abc import Callable

from slack_sdk import WebClient

from bot import render
from bot.middleware import first_delivery
from bot.services import Services
from storage.search import find_by_url


def handler(services: Services) -> Callable[..., None]:
    settings, db = services.settings, services.db

    def link_shared(event: dict, body: dict, client: WebClient) -> None:
        # Events are acknowledged by Bolt before this runs.
        if not first_delivery(db, body):
            return
        unfurls = {}
        with db.Session() as session:
            for link in event.get("links", []):
                url = link.get("url", "")
                article = find_by_url(session, url)
                if article is not None and url not in unfurls:
                    unfurls[url] = {"blocks": render.unfurl_blocks(article, tz=settings.timezone)}
        if not unfurls:
            return
        if event.get("unfurl_id") and event.get("source"):
            client.chat_unfurl(
                unfurl_id=event["unfurl_id"], source=event["source"], unfurls=unfurls
            )
        else:
            client.chat_unfurl(channel=event["channel"], ts=event["message_ts"], unfurls=unfurls)

    return link_shared
