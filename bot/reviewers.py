"""Who may publish: NEWSBOT_REVIEWERS user IDs, and members of its user groups."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

log = logging.getLogger(__name__)


class ReviewerDirectory:
    """Answers "is this user a reviewer?", resolving user groups through Slack.

    Group members are cached for `ttl` seconds, so a membership change takes
    effect within that time. When Slack cannot be asked, nobody is let in
    through that group (users listed by ID still are).
    """

    def __init__(
        self,
        ids: Iterable[str],
        client: WebClient,
        *,
        ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        ids = tuple(ids)
        self.users = frozenset(i for i in ids if i[0] in "UW")
        self.groups = tuple(i for i in ids if i[0] == "S")
        self.client = client
        self.ttl = ttl
        self.clock = clock
        self._members: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    @property
    def configured(self) -> bool:
        return bool(self.users or self.groups)

    def is_reviewer(self, user_id: str) -> bool:
        return self.membership(user_id) is True

    def membership(self, user_id: str) -> bool | None:
        """Whether the user is a reviewer; None when that hangs on a user group Slack could
        not list just now (for what a reviewer queued earlier: unknown is not "removed")."""
        if user_id in self.users:
            return True
        unknown = False
        for group in self.groups:
            members = self._group_members(group)
            if members is None:
                unknown = True
            elif user_id in members:
                return True
        return None if unknown else False

    def _group_members(self, group: str) -> frozenset[str] | None:
        now = self.clock()
        with self._lock:
            cached = self._members.get(group)
        if cached and now - cached[0] < self.ttl:
            return cached[1]
        try:
            response = self.client.usergroups_users_list(usergroup=group)
        except (SlackApiError, SlackClientError) as exc:
            log.warning("cannot list members of user group %s: %s", group, _reason(exc))
            return None
        members = frozenset(response.get("users") or ())
        with self._lock:
            self._members[group] = (now, members)
        return members


def _reason(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error", "unknown error"))
    return type(exc).__name__
