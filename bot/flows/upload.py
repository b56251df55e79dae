"""A file shared into a channel in Slack's three steps, each step's failure told apart.

`files_upload_v2` makes the same three calls (files.getUploadURLExternal, a
POST of the bytes to the URL it gives, files.completeUploadExternal) but
raises one kind of exception for all of them, and does not wait out a 429 on
the POST. Only the third step shares the file: a failure before it leaves
nothing in the channel and can always be tried again, while a connection
dropped during it, or a 500, 502 or 504 answer (a gateway may time out on a
call Slack finished), may have shared the file. Only a refusal, a 429, a 503
or a failure before sending is given back there.

A retry uploads a new file rather than completing step 1's again: Slack does
not document completing a file twice, and files.info cannot tell "not shared"
from "shared a moment later", so checking would still risk a second chart.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from http.client import HTTPException
from typing import Any
from urllib.error import HTTPError
from urllib.request import BaseHandler, HTTPSHandler, ProxyHandler, Request, build_opener

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.flows.cards import CALL_FAILED, failure_reason, never_sent, not_acted

#: Slack refused a step (an error it named, a 4xx from the file server): nothing
#: is shared; trying again only helps once the cause is fixed.
REFUSED = "refused"
#: Nothing is shared and trying again in a few minutes may work: Slack could not be
#: reached, kept rate-limiting, failed on its side, or the connection dropped before
#: the file was shared.
LATER = "later"
#: The connection dropped while the file was being shared, or Slack answered 500, 502
#: or 504 then: it may be in the channel.
MAYBE_SHARED = "maybe-shared"

GET_URL, UPLOAD, COMPLETE = (
    "files.getUploadURLExternal",
    "the upload of its bytes",
    "files.completeUploadExternal",
)

#: A 429 on the upload POST is waited out this many times, each wait at most _LONGEST_WAIT.
UPLOAD_RETRIES = 3
_LONGEST_WAIT = 30.0


class UploadFailed(Exception):
    """The file was not shared (or, MAYBE_SHARED, may have been); `outcome` says which."""

    def __init__(self, outcome: str, step: str, cause: BaseException, said: str) -> None:
        super().__init__(said)
        self.outcome = outcome
        self.step = step
        self.cause = cause
        self.said = said


def share_file(
    client: WebClient,
    *,
    channel: str,
    data: bytes,
    filename: str,
    title: str,
    alt_txt: str,
    sleep: Callable[[float], None] = time.sleep,
    before_sharing: Callable[[], None] | None = None,
) -> str | None:
    """Upload `data` and share it in `channel`; the shared file's id. Raises UploadFailed.

    `before_sharing` is called just before the step that shares (it may raise to stop)."""
    try:
        ticket = client.files_getUploadURLExternal(
            filename=filename, length=len(data), alt_txt=alt_txt
        )
    except CALL_FAILED as exc:
        raise _not_shared(GET_URL, exc) from None
    _upload(client, str(ticket["upload_url"]), data, sleep)
    if before_sharing is not None:
        before_sharing()
    try:
        done = client.files_completeUploadExternal(
            files=[{"id": str(ticket["file_id"]), "title": title}], channel_id=channel
        )
    except CALL_FAILED as exc:
        if not_acted(exc):
            raise _not_shared(COMPLETE, exc) from None
        said = (
            f"Slack answered HTTP {exc.response.status_code}"
            if isinstance(exc, SlackApiError)
            else f"the connection dropped ({failure_reason(exc)})"
        )
        raise UploadFailed(MAYBE_SHARED, COMPLETE, exc, said) from None
    files: Any = done.get("files") or []
    first = files[0] if isinstance(files, list) and files else {}
    return first.get("id") if isinstance(first, dict) else None


def _not_shared(step: str, exc: BaseException) -> UploadFailed:
    """A failed API call of a step that shared nothing: refused, or worth trying later."""
    if isinstance(exc, SlackApiError):
        error = exc.response.get("error")
        if error == "ratelimited" or exc.response.status_code == 429:
            return UploadFailed(LATER, step, exc, "Slack kept answering 429 (rate limited)")
        if exc.response.status_code >= 500:
            return UploadFailed(LATER, step, exc, f"Slack answered HTTP {exc.response.status_code}")
        return UploadFailed(REFUSED, step, exc, f"Slack refused it ({error})")
    if never_sent(exc):
        return UploadFailed(LATER, step, exc, f"Slack could not be reached ({failure_reason(exc)})")
    return UploadFailed(LATER, step, exc, f"the connection dropped ({failure_reason(exc)})")


def _upload(client: WebClient, url: str, data: bytes, sleep: Callable[[float], None]) -> None:
    """Step 2: POST the bytes to the upload URL (as files_upload_v2 does), waiting out 429s."""
    handlers: list[BaseHandler] = [HTTPSHandler(context=client.ssl)]
    if client.proxy:
        handlers.append(ProxyHandler({"http": client.proxy, "https": client.proxy}))
    opener = build_opener(*handlers)
    for attempt in range(UPLOAD_RETRIES + 1):
        try:
            with opener.open(Request(url, data=data, method="POST"), timeout=client.timeout) as r:
                r.read()
            return
        except HTTPError as exc:
            exc.close()
            if exc.code == 429:
                wait = _retry_after(exc)
                if wait <= _LONGEST_WAIT and attempt < UPLOAD_RETRIES:
                    sleep(wait)
                    continue
                raise UploadFailed(
                    LATER, UPLOAD, exc, f"Slack kept answering 429 (Retry-After {wait:g} s)"
                ) from None
            said = f"Slack's file server answered HTTP {exc.code} {exc.reason}".rstrip()
            raise UploadFailed(LATER if exc.code >= 500 else REFUSED, UPLOAD, exc, said) from None
        except (OSError, HTTPException) as exc:
            reason = failure_reason(exc)
            said = (
                f"Slack could not be reached ({reason})"
                if never_sent(exc)
                else f"the connection dropped ({reason})"
            )
            raise UploadFailed(LATER, UPLOAD, exc, said) from None
    raise AssertionError("unreachable")  # the loop returns or raises


def _retry_after(exc: HTTPError) -> float:
    """Seconds a 429 asks to wait (Retry-After), 1 when it does not say."""
    try:
        return max(0.0, float(exc.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0
