"""A real `newsbot serve` in HTTP mode, and a client that writes raw bytes to it.

urllib and http.client refuse to send much of what an attacker sends (bytes
that are not ASCII in a header, a newline in a path, a body that never ends),
so requests here are written to the socket as bytes and answers read back.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.builders import free_port
from tests.conftest import EXAMPLES
from tests.slack_api import BOT_TOKEN, FakeSlack
from tests.slack_requests import SIGNING_SECRET, SlackRequest


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


def raw_request(
    method: str | bytes,
    path: str | bytes,
    headers: dict[str, str | bytes],
    body: bytes = b"",
    *,
    content_length: bool = True,
) -> bytes:
    """The bytes of an HTTP/1.1 request, header values sent as given (str as latin-1)."""
    lines = [_bytes(method) + b" " + _bytes(path) + b" HTTP/1.1", b"Host: 127.0.0.1"]
    lines += [_bytes(name) + b": " + _bytes(value) for name, value in headers.items()]
    if content_length:
        lines.append(b"Content-Length: " + str(len(body)).encode())
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("latin-1")


def read_response(sock: socket.socket) -> Response:
    """One response from `sock`: status line, headers, and a Content-Length body.

    Reads no further than its end: the answer to a pipelined request may follow.
    """
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)
        if not byte:
            raise ConnectionError(f"the server closed the connection after {head!r}")
        head += byte
    status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = b""
    while len(body) < length:
        chunk = sock.recv(length - len(body))
        if not chunk:
            break
        body += chunk
    return Response(int(status_line.split()[1]), headers, body)


def exchange(port: int, data: bytes, timeout: float = 10) -> Response:
    """Send `data` on a new connection and read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        return read_response(sock)


def stream(port: int, head: bytes, chunks: Iterable[bytes], timeout: float = 10) -> Response:
    """Send `head`, then `chunks` for as long as the server has not answered; the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        for chunk in chunks:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
        return read_response(sock)


def vm_rss_kib(pid: int) -> int:
    """The resident memory of process `pid`, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")


def get(url: str, timeout: float = 5) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@dataclass
class Served:
    """A `newsbot serve` process answering on `port`, its output in `log`."""

    port: int
    proc: subprocess.Popen
    log: Path
    database: Path
    slack: FakeSlack

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def post(self, request: SlackRequest) -> int:
        return request.post(self.events_url)[0]

    def send(self, data: bytes) -> Response:
        return exchange(self.port, data)

    def output(self, since: int = 0) -> str:
        """What the process logged, from byte offset `since`."""
        with self.log.open("rb") as f:
            f.seek(since)
            return f.read().decode("utf-8", "backslashreplace")

    def output_size(self) -> int:
        return self.log.stat().st_size

    def searches_logged(self) -> int:
        """Rows in the search log, which a search writes after it is answered."""
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True) as conn:
            return conn.execute("SELECT count(*) FROM search_log").fetchone()[0]

    def database_dump(self) -> str:
        """Every row of every table, as SQL: equal dumps mean nothing was written."""
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True) as conn:
            return "\n".join(conn.iterdump())


@contextmanager
def serve(workdir: Path, slack: FakeSlack) -> Iterator[Served]:
    """`newsbot serve` in HTTP mode on the example articles, against `slack`."""
    articles = workdir / "articles"
    shutil.copytree(EXAMPLES, articles)
    database = workdir / "newsbot.db"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "SLACK_APP_TOKEN"} | {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "NEWSBOT_DATABASE_URL": f"sqlite:///{database}",
        "NEWSBOT_ARTICLES_DIR": str(articles),
        "NEWSBOT_REINDEX_MINUTES": "0",
        "PORT": str(port),
    }
    log = workdir / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    served = Served(port, proc, log, database, slack)
    try:
        deadline = time.monotonic() + 30
        while get_or_none(f"http://127.0.0.1:{port}/healthz") != 200:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"newsbot serve did not start:\n{served.output()}")
            time.sleep(0.1)
        yield served
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        finally:
            proc.kill()


def get_or_none(url: str) -> int | None:
    try:
        return get(url, timeout=2)
    except OSError:
        return None
