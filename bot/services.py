"""What the listeners and jobs are given: settings, the database, the reviewer directory."""

from __future__ import annotations

from dataclasses import dataclass

from bot.reviewers import ReviewerDirectory
from bot.settings import Settings
from storage.db import Database


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database
    reviewers: ReviewerDirectory
