"""`/news` over real HTTP: signed slash commands against `newsbot serve`, 1 and 20 clients.

    .venv/bin/python -m bench.slash                      # 100k articles, 300 + 20x50 requests
    .venv/bin/python -m bench.slash --size 10000 --rounds 50 --per-client 10   # quick

Measures: the time from sending a signed `/news` (tests/slack_requests.slash_command,
the body Slack sends) to `python -m bot serve`'s HTTP response (Bolt acks before it
searches), and until the answer reaches the response_url on the Slack stand-in
(tests/slack_api.py) in this process. Texts are topic names (some with filters)
and title/excerpt words. Closed loop: a client sends its next command once the
previous answer is in, as a person does.
Baseline: one client sending --rounds commands; then --clients clients at once.
Targets: 1 client p95 <= 100 ms; 20 clients p99 < 1 s; no errors, no lost answers.

The server indexes --size article files (make_articles.py) into a fresh database
first (untimed, as `storage.sync.sync` would), then its start-up re-index is a no-op.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench import harness
from storage.models import Article
from storage.sync import sync
from tests.slack_api import FakeSlack
from tests.slack_requests import slash_command

BOT_TOKEN = "xoxb-bench"
SIGNING_SECRET = "bench-signing-secret"
QUERY_SEED = 2027
REVIEWER = "U111"  # in NEWSBOT_REVIEWERS: a quarter of the requests get review buttons
USERS = (REVIEWER, "U222", "U333", "U444")
FILTERS = ("heat>=50", "since:7d", "unpublished", "heat>=30 since:2w", "published", "provider")
# The app skips a trigger_id it has seen (Slack's retries); tests.slack_requests counts
# from 1 in every process, so a reused database would swallow every command.
_RUN = uuid.uuid4().hex[:16]
_triggers = itertools.count(1)
_channels = itertools.cycle(("C123", "C234", "C345"))


class BenchSlack(FakeSlack):
    """FakeSlack that notes when each response_url post arrives and wakes its client."""

    def __init__(self) -> None:
        super().__init__(bot_token=BOT_TOKEN)
        self._waiting: dict[str, tuple[threading.Event, list[Any]]] = {}
        self._lock = threading.Lock()

    def start(self) -> BenchSlack:
        # socketserver's listen backlog of 5 overflows under 20 clients' answers,
        # and each overflow waits a 1 s SYN retry: the harness would be the slow part.
        saved = ThreadingHTTPServer.request_queue_size
        ThreadingHTTPServer.request_queue_size = 128
        try:
            super().start()
        finally:
            ThreadingHTTPServer.request_queue_size = saved
        return self

    def expect(self, url: str) -> tuple[threading.Event, list[Any]]:
        """The slot a response_url post fills with (arrival perf_counter, accepted)."""
        slot: tuple[threading.Event, list[Any]] = (threading.Event(), [])
        with self._lock:
            self._waiting["/" + url.split("/", 3)[3]] = slot
        return slot

    def _answer(
        self, method: str, args: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any], dict[str, Any]] | None:
        arrived = time.perf_counter()  # before the fake checks the blocks
        answer = super()._answer(method, args, headers)
        if method == "response_url":
            with self._lock:
                slot = self._waiting.pop(args.get("_url", ""), None)
            if slot is not None:
                slot[1].extend((arrived, answer is not None and bool(answer[1].get("ok"))))
                slot[0].set()
        return answer


@dataclass
class Sample:
    status: int  # 0: no HTTP answer
    error: str
    http_s: float
    answer_s: float | None  # None: no response_url post within the timeout
    answer_ok: bool


def send(fake: BenchSlack, url: str, typed: str, user: str, timeout: float) -> Sample:
    """One signed /news over HTTP, then wait for its answer on the response_url."""
    response_url = fake.response_url()
    event, got = fake.expect(response_url)
    request = slash_command(
        typed,
        user_id=user,
        user_name=user.lower(),
        channel_id=next(_channels),
        response_url=response_url,
        trigger_id=f"{int(time.time())}.{next(_triggers):09d}.{_RUN}",
        secret=SIGNING_SECRET,
    )
    start, error = time.perf_counter(), ""
    try:
        status, _body = request.post(url, timeout=timeout)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        status = 0
        error = type(reason).__name__ if isinstance(reason, BaseException) else str(reason)
    http_s = time.perf_counter() - start
    if status == 200:
        event.wait(timeout)
    answer_s, ok = (got[0] - start, got[1]) if got else (None, False)
    return Sample(status, error, http_s, answer_s, ok)


def phase(
    fake: BenchSlack, url: str, texts: Sequence[str], clients: int, timeout: float
) -> dict[str, Any]:
    """`clients` threads share out `texts` and send them, all starting together."""
    done: list[Sample] = []
    barrier = threading.Barrier(clients + 1)

    def client(i: int) -> None:
        rng = random.Random(i)
        barrier.wait()
        for typed in texts[i::clients]:
            done.append(send(fake, url, typed, rng.choice(USERS), timeout))

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    before = tcp_counters()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    after = tcp_counters()
    http, answer = harness.Series(), harness.Series()
    for s in done:
        http.add(s.http_s)
        if s.answer_s is not None:
            answer.add(s.answer_s)
    return {
        "http": http,
        "answer": answer,
        "requests_per_s": round(len(done) / seconds, 1),
        "http_errors": sum(s.status != 200 for s in done),
        "no_answer": sum(s.status == 200 and s.answer_s is None for s in done),
        "refused_answers": sum(s.answer_s is not None and not s.answer_ok for s in done),
        "errors": dict(Counter(s.error or f"HTTP {s.status}" for s in done if s.status != 200)),
        "listen_overflows": after.get("ListenOverflows", 0) - before.get("ListenOverflows", 0),
    }


def tcp_counters() -> dict[str, int]:
    """TcpExt counters (ListenOverflows, ...): a full accept queue costs a 1 s SYN retry."""
    try:
        rows = [line.split() for line in Path("/proc/net/netstat").read_text().splitlines()]
    except OSError:
        return {}
    names, values = [r for r in rows if r and r[0] == "TcpExt:"][:2]
    return {k: int(v) for k, v in zip(names[1:], values[1:], strict=False)}


def command_texts(url: str, n: int, seed: int) -> list[str]:
    """Topics (half lower-cased, 40% with a filter) and text searches, shuffled."""
    with harness.opened(url) as db:
        queries = harness.draw_queries(db, n // 2 + 1, seed)
        with db.Session() as session:
            providers = list(
                session.scalars(
                    select(Article.provider_domain)
                    .where(Article.provider_domain.is_not(None))
                    .group_by(Article.provider_domain)
                    .order_by(func.count().desc())
                    .limit(40)
                )
            )
    rng = random.Random(seed)
    texts = []
    for name in queries.topic:
        typed = name.lower() if rng.random() < 0.5 else name  # people type "ai" and "AI"
        if rng.random() < 0.4:
            extra = rng.choice(FILTERS)
            typed += " " + (f"provider:{rng.choice(providers)}" if extra == "provider" else extra)
        texts.append(typed)
    texts += [q for _kind, q in queries.text]
    rng.shuffle(texts)
    return texts[:n]


def start_server(fake: FakeSlack, url: str, root: Path, log_path: Path) -> tuple[Any, str]:
    """`python -m bot serve` in HTTP mode on a free port, once /healthz answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = os.environ | {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_APP_TOKEN": "",  # empty = unset: HTTP mode, whatever a .env says
        "SLACK_API_URL": fake.api_url,
        "NEWSBOT_DATABASE_URL": url,
        "NEWSBOT_ARTICLES_DIR": str(root),
        "NEWSBOT_REINDEX_MINUTES": "0",
        "NEWSBOT_DIGEST_CHANNEL": "",
        "NEWSBOT_REVIEWERS": REVIEWER,
        "PORT": str(port),
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            cwd=harness.REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.perf_counter() + 600
    while time.perf_counter() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return proc, f"http://127.0.0.1:{port}/slack/events"
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    stop_server(proc)
    raise SystemExit(f"newsbot serve did not answer /healthz; see {log_path}")


def stop_server(proc: Any) -> None:
    """SIGTERM (requests in flight finish), then wait."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    parser = harness.parser(__doc__, size=100_000, rounds=300, rounds_help="requests of 1 client")
    parser.add_argument("--clients", type=int, default=20, help="at once (default %(default)s)")
    parser.add_argument("--per-client", type=int, default=50, help="(default %(default)s)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed (default %(default)s)")
    parser.add_argument("--timeout", type=float, default=30, help="s (default %(default)s)")
    args = parser.parse_args()
    with harness.Bench("slash", args) as bench:
        root = bench.articles()
        url = bench.database()
        bench.step("index (setup)")
        with harness.opened(url) as db:
            harness.log("  " + sync(db.WriteSession, root).summary())
        texts = command_texts(
            url, args.warmup + args.rounds + args.clients * args.per_client, QUERY_SEED
        )
        fake = BenchSlack().start()
        bench.step("serve start")
        proc, endpoint = start_server(fake, url, root, bench.workdir / "slash-server.log")
        try:
            phase(fake, endpoint, texts[: args.warmup], 1, args.timeout)
            bench.step("1 client")
            one = phase(fake, endpoint, texts[args.warmup :][: args.rounds], 1, args.timeout)
            bench.step(f"{args.clients} clients")
            many = phase(
                fake, endpoint, texts[args.warmup + args.rounds :], args.clients, args.timeout
            )
        finally:
            stop_server(proc)
            fake.stop()
        if fake.block_kit_violations:
            harness.log(f"WARNING: answers broke Block Kit limits: {fake.block_kit_violations[0]}")

        r, at = bench.report, harness.short(args.size)
        http1, httpn = one["http"].p(95), many["http"].p(99)
        r.add(
            f"1 client @{at}, HTTP response p95",
            harness.ms(http1),
            target="<= 100 ms",
            ok=http1 <= 0.1,
        )
        r.add(
            f"{args.clients} clients @{at}, HTTP response p99",
            harness.ms(httpn),
            baseline=f"1 client: {harness.ms(one['http'].p(99))}",
            target="< 1 s",
            ok=httpn < 1,
        )
        for who, p in (("1 client", one), (f"{args.clients} clients", many)):
            wrong = (p["http_errors"], p["no_answer"], p["refused_answers"], p["listen_overflows"])
            r.add(
                f"{who}: answer on response_url p95, throughput",
                f"{harness.ms(p['answer'].p(95))}, {p['requests_per_s']} req/s",
            )
            r.add(
                f"{who}: errors (HTTP / no answer / refused), listen overflows",
                " / ".join(map(str, wrong[:3])) + f", {wrong[3]}",
                target="0",
                ok=not any(wrong),
            )
        for name, p in (("one", one), ("many", many)):
            r.data[name] = p | {"http": p["http"].summary(), "answer": p["answer"].summary()}


if __name__ == "__main__":
    main()
