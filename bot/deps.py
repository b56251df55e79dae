"""What flows and jobs are given: settings, the database, the reviewer directory.

One small typed object, built once by `create_app` (and the scheduler), so a
flow's signature says what it may touch.
"""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk import WebClient

from bot.reviewers import ReviewerDirectory
from bot.settings import Settings
from storage.db import Database


@dataclass(frozen=True)
class Deps:
    """The app's dependencies."""

    settings: Settings
    db: Database
    reviewers: ReviewerDirectory
    client: WebClient  # the app's Web API client, for flows a slash command starts

    @classmethod
    def of(cls, settings: Settings, db: Database, client: WebClient) -> Deps:
        """The dependencies of an app (or a job) that talks to Slack through `client`."""
        return cls(settings, db, ReviewerDirectory(settings.reviewers, client), client)
