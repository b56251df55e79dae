"""`/news` over real HTTP: signed slash commands against `newsbot serve`, 1 and 20 clients.

    .venv/bin/python bench/slash.py                      # 100k articles, 300 + 20x50 requests
    .venv/bin/python bench/slash.py --count 10000 --sequential 50 --per-client 10   # quick
    .venv/bin/python bench/slash.py --articles /dev/shm/newsbot-bench/articles-n100000-s1
    .venv/bin/python bench/slash.py --database-url postgresql://postgres@127.0.0.1/test
    .venv/bin/python bench/slash.py --json               # JSON summary on stdout

Steps:

1. the article tree: `--count` files from shared/corpus/make_articles.py in the work
   dir (reused when a clean one is there), or an existing tree given with `--articles`
   (only read);
2. `storage.sync.sync` into a fresh database (SQLite file in the work dir by default;
   with a PostgreSQL `--database-url`, a dedicated schema that is dropped and re-created);
3. a FakeSlack (tests/slack_api.py) in this process, then `python -m bot serve` as a
   subprocess in HTTP mode: SLACK_API_URL = the fake, NEWSBOT_REINDEX_MINUTES=0, a free
   port on 127.0.0.1. Start-up (its own no-op re-index) is timed until /healthz answers;
4. signed `/news` requests (tests/slack_requests.slash_command, the body Slack sends),
   each with a fresh response_url on the fake. Texts are real topic names (some with
   filters: heat>=50, since:7d, provider:..., unpublished) and title/excerpt words,
   drawn from the database as bench/index_search.py draws them;
5. 1 client sending `--sequential` requests one after another, then `--clients`
   threads sending `--per-client` each. A client sends its next command once it has
   the answer of the previous one on the response_url, as a person does (closed loop);
   `--open-loop` sends the next one as soon as the HTTP response is in.

Measured per request: the time to the HTTP response (Bolt acks before it searches), and
the time until the answer is posted to the response_url (what the user waits for).
"""

from __future__ import annotations

import argparse
import itertools
import json
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
from dataclasses import asdict, dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # `python bench/slash.py` puts bench/ first, not the repo

from sqlalchemy import func, select  # noqa: E402

from bench.common import (  # noqa: E402
    Stats,
    command_line,
    load_now,
    log,
    machine_info,
    pick_workdir,
    render_table,
    stats,
    verdict,
)
from bench.index_search import (  # noqa: E402
    draw_queries,
    ensure_articles,
    prepare_database,
    shown_url,
)
from storage.db import open_database  # noqa: E402
from storage.models import Article  # noqa: E402
from storage.sync import sync  # noqa: E402
from tests.slack_api import FakeSlack  # noqa: E402
from tests.slack_requests import slash_command  # noqa: E402

BOT_TOKEN = "xoxb-bench"
SIGNING_SECRET = "bench-signing-secret"
QUERY_SEED = 2027
# Targets (the brief): time to the HTTP response.
TARGET_P95_ONE_MS = 100.0
TARGET_P99_MANY_MS = 1000.0
REVIEWER = "U111"  # listed in NEWSBOT_REVIEWERS: a quarter of the requests get review buttons
FAKE_BACKLOG = 128
USERS = (REVIEWER, "U222", "U333", "U444")
FILTERS = ("heat>=50", "since:7d", "unpublished", "heat>=30 since:2w", "published", "provider")


# --- the fake Slack, with a hook for answers ------------------------------------------


class BenchSlack(FakeSlack):
    """FakeSlack that notes when each response_url post arrives and wakes its client."""

    def __init__(self) -> None:
        super().__init__(bot_token=BOT_TOKEN)
        self._waiting: dict[str, tuple[threading.Event, list[Any]]] = {}
        self._lock = threading.Lock()

    def start(self) -> BenchSlack:
        """As FakeSlack.start, with a listen backlog of 128 instead of socketserver's 5.

        With 5, the app's response_url posts under 20 clients overflow the fake's accept
        queue and wait for a SYN retransmit (1 s): the harness, not the app, would be slow.
        """
        saved = ThreadingHTTPServer.request_queue_size
        ThreadingHTTPServer.request_queue_size = FAKE_BACKLOG
        try:
            super().start()
        finally:
            ThreadingHTTPServer.request_queue_size = saved
        return self

    def expect(self, path: str) -> tuple[threading.Event, list[Any]]:
        """Register a response_url path; the list gets (arrival perf_counter, ok)."""
        slot: tuple[threading.Event, list[Any]] = (threading.Event(), [])
        with self._lock:
            self._waiting[path] = slot
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
                ok = answer is not None and answer[0] == 200 and bool(answer[1].get("ok"))
                slot[1].extend((arrived, ok))
                slot[0].set()
        return answer


# --- results ---------------------------------------------------------------------


@dataclass
class Sample:
    kind: str
    start: float  # perf_counter when the request was sent
    http_s: float
    status: int
    error: str = ""  # the exception when no HTTP status came back
    answer_s: float | None = None
    answer_ok: bool = False


@dataclass
class Phase:
    name: str
    clients: int
    requests: int
    seconds: float
    requests_per_s: float
    http: Stats
    answer: Stats
    answer_p95_by_kind_ms: dict[str, float]
    http_errors: int  # status != 200 (0 = connection failed)
    no_answer: int  # no response_url post within the timeout
    refused_answers: int  # the fake refused the post (invalid blocks, bad payload)
    errors: dict[str, int]  # "HTTP 503", "ConnectionResetError", ... -> how many
    listen_overflows: int  # kernel TcpExt ListenOverflows during the phase (all sockets)
    syn_retransmits: int  # kernel TcpExt TCPSynRetrans during the phase
    load_at_start: float


@dataclass
class Results:
    machine: dict[str, str]
    command: str
    workdir: str
    articles_dir: str
    database: str
    articles: int
    index_s: float
    index_summary: str
    server_start_s: float
    loop: str
    phases: list[Phase] = field(default_factory=list)
    server_log: str = ""


# --- setup -------------------------------------------------------------------------


def tcp_counters() -> dict[str, int]:
    """TcpExt counters from /proc/net/netstat (ListenOverflows, TCPSynRetrans, ...)."""
    try:
        lines = [line.split() for line in Path("/proc/net/netstat").read_text().splitlines()]
    except OSError:
        return {}
    rows = [line for line in lines if line and line[0] == "TcpExt:"]
    if len(rows) < 2:
        return {}
    return {k: int(v) for k, v in zip(rows[0][1:], rows[1][1:], strict=False)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_texts(db_url: str, n: int, seed: int) -> list[tuple[str, str]]:
    """(kind, text) for `n` commands: topics, topics with filters, and text searches."""
    db = open_database(db_url)
    try:
        per = n // 2 + 1
        queries = draw_queries(db, per, seed)
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
    finally:
        db.dispose()
    rng = random.Random(seed)
    texts: list[tuple[str, str]] = []
    for name in queries.topic:
        typed = name.lower() if rng.random() < 0.5 else name  # people type "ai" and "AI"
        if rng.random() < 0.4:
            extra = rng.choice(FILTERS)
            if extra == "provider":
                extra = f"provider:{rng.choice(providers)}"
            texts.append(("topic+filter", f"{typed} {extra}"))
        else:
            texts.append(("topic", typed))
    texts += [(f"text-{kind}", q) for kind, q in queries.text]
    rng.shuffle(texts)
    return texts[:n]


def start_server(
    fake: FakeSlack, db_url: str, root: Path, port: int, log_path: Path, timeout: float
) -> tuple[subprocess.Popen[bytes], float]:
    """`python -m bot serve` in HTTP mode; returns it once /healthz answers 200."""
    env = os.environ | {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_APP_TOKEN": "",  # empty = unset: HTTP mode, whatever a .env says
        "SLACK_API_URL": fake.api_url,
        "NEWSBOT_DATABASE_URL": db_url,
        "NEWSBOT_ARTICLES_DIR": str(root),
        "NEWSBOT_REINDEX_MINUTES": "0",
        "NEWSBOT_DIGEST_CHANNEL": "",
        "NEWSBOT_REVIEWERS": REVIEWER,
        "PORT": str(port),
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    started = time.perf_counter()
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    health = f"http://127.0.0.1:{port}/healthz"
    deadline = started + timeout
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"newsbot serve exited with {proc.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(health, timeout=2) as response:
                if response.status == 200:
                    return proc, time.perf_counter() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    stop_server(proc)
    raise SystemExit(f"newsbot serve did not answer /healthz in {timeout:.0f} s; see {log_path}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (graceful: requests and listeners in flight finish), then wait."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- load --------------------------------------------------------------------------

_channels = itertools.cycle(("C123", "C234", "C345"))
_triggers = itertools.count(1)
# The app skips a trigger_id it has seen (Slack's retries); tests.slack_requests counts
# from 1 in every process, so a reused database would swallow every command.
_RUN = uuid.uuid4().hex[:16]


Slot = tuple[threading.Event, list[Any]]


def send(
    fake: BenchSlack,
    url: str,
    kind: str,
    typed: str,
    user: str,
    *,
    wait: bool,
    timeout: float,
) -> tuple[Sample, Slot]:
    """One signed /news over HTTP; with `wait`, also until its answer reaches the fake."""
    response_url = fake.response_url()
    slot = fake.expect("/" + response_url.split("/", 3)[3])  # "/response/N"
    request = slash_command(
        typed,
        user_id=user,
        user_name=user.lower(),
        channel_id=next(_channels),
        response_url=response_url,
        trigger_id=f"{int(time.time())}.{next(_triggers):09d}.{_RUN}",
        secret=SIGNING_SECRET,
    )
    start = time.perf_counter()
    error = ""
    try:
        status, _body = request.post(url, timeout=timeout)
    except (urllib.error.URLError, OSError) as exc:
        status = 0
        reason = getattr(exc, "reason", exc)
        error = type(reason).__name__ if isinstance(reason, BaseException) else str(reason)
    sample = Sample(kind, start, time.perf_counter() - start, status, error)
    if wait and status == 200:
        slot[0].wait(timeout)
    return sample, slot


def settle(sent: list[tuple[Sample, Slot]], timeout: float) -> list[Sample]:
    """Fill in answer times once every answer is in (or the timeout passed)."""
    deadline = time.perf_counter() + timeout
    for sample, (event, got) in sent:
        if sample.status == 200:
            event.wait(max(0.0, deadline - time.perf_counter()))
        if got:
            arrived, ok = got
            sample.answer_s, sample.answer_ok = arrived - sample.start, ok
    return [sample for sample, _ in sent]


def run_phase(
    fake: BenchSlack,
    url: str,
    name: str,
    texts: Sequence[tuple[str, str]],
    clients: int,
    *,
    wait: bool,
    timeout: float,
) -> Phase:
    """`clients` threads share out `texts` evenly and send them; all start together."""
    shares = [list(texts[i::clients]) for i in range(clients)]
    done: list[list[tuple[Sample, Slot]]] = [[] for _ in range(clients)]
    barrier = threading.Barrier(clients + 1)

    def client(i: int) -> None:
        rng = random.Random(i)
        barrier.wait()
        for kind, typed in shares[i]:
            done[i].append(
                send(fake, url, kind, typed, rng.choice(USERS), wait=wait, timeout=timeout)
            )

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    load = load_now()
    before = tcp_counters()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    samples = settle([r for per in done for r in per], timeout)
    after = tcp_counters()
    errors = Counter(s.error or f"HTTP {s.status}" for s in samples if s.status != 200)
    # Throughput counts until the last answer is in: that is when the work is done.
    end = max(s.start + max(s.http_s, s.answer_s or 0.0) for s in samples)
    seconds = end - start
    answered = [s.answer_s for s in samples if s.answer_s is not None]
    by_kind: dict[str, list[float]] = {}
    for s in samples:
        if s.answer_s is not None:
            by_kind.setdefault(s.kind, []).append(s.answer_s)
    return Phase(
        name=name,
        clients=clients,
        requests=len(samples),
        seconds=round(seconds, 2),
        requests_per_s=round(len(samples) / seconds, 1),
        http=stats([s.http_s for s in samples]),
        answer=stats(answered),
        answer_p95_by_kind_ms={k: stats(v).p95_ms for k, v in sorted(by_kind.items())},
        http_errors=sum(s.status != 200 for s in samples),
        no_answer=sum(s.status == 200 and s.answer_s is None for s in samples),
        refused_answers=sum(s.answer_s is not None and not s.answer_ok for s in samples),
        errors=dict(errors),
        listen_overflows=after.get("ListenOverflows", 0) - before.get("ListenOverflows", 0),
        syn_retransmits=after.get("TCPSynRetrans", 0) - before.get("TCPSynRetrans", 0),
        load_at_start=load,
    )


# --- report ------------------------------------------------------------------------


def table_rows(r: Results) -> list[tuple[str, str, str, str]]:
    n = f"{r.articles // 1000}k" if r.articles >= 1000 else str(r.articles)
    rows = [
        (f"index {r.articles:,} articles (storage.sync)", f"{r.index_s:.1f} s", "-", "-"),
        (
            "`newsbot serve` start (no-op re-index) to /healthz",
            f"{r.server_start_s:.1f} s",
            "-",
            "-",
        ),
    ]
    for p in r.phases:
        who = "1 client" if p.clients == 1 else f"{p.clients} clients"
        label = f"{who}, {p.requests} req @{n}"
        one = p.clients == 1
        rows += [
            (f"{label}: HTTP response p50", f"{p.http.p50_ms:.1f} ms", "-", "-"),
            (
                f"{label}: HTTP response p95",
                f"{p.http.p95_ms:.1f} ms",
                f"<= {TARGET_P95_ONE_MS:g} ms" if one else "-",
                verdict(p.http.p95_ms <= TARGET_P95_ONE_MS) if one else "-",
            ),
            (
                f"{label}: HTTP response p99",
                f"{p.http.p99_ms:.1f} ms",
                "-" if one else f"< {TARGET_P99_MANY_MS:g} ms",
                "-" if one else verdict(p.http.p99_ms < TARGET_P99_MANY_MS),
            ),
            (f"{label}: throughput", f"{p.requests_per_s:.1f} req/s", "-", "-"),
            (f"{label}: answer on response_url p50", f"{p.answer.p50_ms:.1f} ms", "-", "-"),
            (f"{label}: answer on response_url p95", f"{p.answer.p95_ms:.1f} ms", "-", "-"),
            (
                f"{label}: errors (HTTP / no answer / refused)",
                f"{p.http_errors} / {p.no_answer} / {p.refused_answers}",
                "0 / 0 / 0",
                verdict(p.http_errors + p.no_answer + p.refused_answers == 0),
            ),
        ]
    return rows


def print_report(r: Results, *, as_json: bool) -> None:
    out = sys.stderr if as_json else sys.stdout
    machine = ", ".join(f"{k} {v}" for k, v in r.machine.items())
    print(f"\n{r.command}\n{machine}", file=out)
    print(f"work dir {r.workdir}, articles {r.articles_dir}, database {r.database}", file=out)
    print(
        f"{r.loop} loop; load average as each phase began: "
        + ", ".join(f"{p.name} {p.load_at_start:g}" for p in r.phases),
        file=out,
    )
    for p in r.phases:
        kinds = ", ".join(f"{k} {v:.0f} ms" for k, v in p.answer_p95_by_kind_ms.items())
        print(f"{p.name}: answer p95 by kind: {kinds}", file=out)
        print(
            f"{p.name}: errors {p.errors or 'none'}; kernel: {p.listen_overflows} listen-queue "
            f"overflows, {p.syn_retransmits} SYN retransmits",
            file=out,
        )
    print("", file=out)
    print(render_table(table_rows(r)), file=out)
    if as_json:
        print(json.dumps(asdict(r), indent=2))


# --- main --------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--count", type=int, default=100_000, help="articles to generate (default 100000)"
    )
    parser.add_argument("--seed", type=int, default=1, help="make_articles.py --seed (default 1)")
    parser.add_argument(
        "--articles", type=Path, help="use this existing article tree (read only) instead"
    )
    parser.add_argument(
        "--sequential", type=int, default=300, help="requests from 1 client (default 300)"
    )
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients (default 20)")
    parser.add_argument(
        "--per-client", type=int, default=50, help="requests per concurrent client (default 50)"
    )
    parser.add_argument(
        "--warmup", type=int, default=20, help="untimed requests first (default 20)"
    )
    parser.add_argument(
        "--open-loop",
        action="store_true",
        help="send the next request on the HTTP response, without waiting for the answer",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=30,
        help="seconds to wait for a response or an answer (default 30)",
    )
    parser.add_argument(
        "--database-url", help="default: a fresh SQLite file in the work dir; PostgreSQL allowed"
    )
    parser.add_argument(
        "--pg-schema",
        default="newsbot_bench_slash",
        help="PostgreSQL schema to drop, re-create and use (default newsbot_bench_slash)",
    )
    parser.add_argument(
        "--workdir", type=Path, help="default /dev/shm/newsbot-bench-slash or bench/.data/..."
    )
    parser.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    args = parser.parse_args(argv)
    if min(args.count, args.sequential, args.clients, args.per_client) < 1 or args.warmup < 0:
        parser.error("--count, --sequential, --clients and --per-client must be >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = (args.workdir or pick_workdir("newsbot-bench-slash", args.count * 8_400)).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    log(f"work dir {workdir}")

    if args.articles:
        root = args.articles.resolve()
        if not root.is_dir():
            raise SystemExit(f"--articles {root} is not a folder")
    else:
        root, _gen_s, _reused = ensure_articles(workdir, args.count, args.seed)

    if args.database_url is None:
        args.database_url = f"sqlite:///{workdir / 'slash.db'}"
    db_url = prepare_database(args.database_url, workdir, args.pg_schema)
    log(f"indexing {root} into {shown_url(db_url)}")
    db = open_database(db_url)
    try:
        start = time.perf_counter()
        report = sync(db.WriteSession, root)
        index_s = time.perf_counter() - start
        with db.Session() as session:
            articles = session.scalar(select(func.count()).select_from(Article)) or 0
    finally:
        db.dispose()
    log(f"  {index_s:.1f} s: {report.summary()}")

    total = args.warmup + args.sequential + args.clients * args.per_client
    texts = build_texts(db_url, total, QUERY_SEED)
    kinds = Counter(kind for kind, _ in texts)
    log(f"{total} commands: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))

    fake = BenchSlack().start()
    port = free_port()
    server_log = workdir / "slash-server.log"
    log(f"starting newsbot serve on 127.0.0.1:{port} (log {server_log})")
    proc, start_s = start_server(fake, db_url, root, port, server_log, timeout=600)
    log(f"  /healthz answered after {start_s:.1f} s")
    url = f"http://127.0.0.1:{port}/slack/events"
    wait = not args.open_loop
    results = Results(
        machine=machine_info(db_url),
        command=command_line("bench/slash.py"),
        workdir=str(workdir),
        articles_dir=str(root),
        database=shown_url(db_url),
        articles=articles,
        index_s=round(index_s, 2),
        index_summary=report.summary(),
        server_start_s=round(start_s, 2),
        loop="open" if args.open_loop else "closed",
        server_log=str(server_log),
    )
    try:
        cursor = args.warmup
        if args.warmup:
            log(f"warm-up: {args.warmup} requests")
            run_phase(fake, url, "warmup", texts[:cursor], 1, wait=True, timeout=args.timeout)
        seq = texts[cursor : cursor + args.sequential]
        cursor += args.sequential
        log(f"1 client: {len(seq)} requests")
        results.phases.append(
            run_phase(fake, url, "1 client", seq, 1, wait=wait, timeout=args.timeout)
        )
        log(f"  {results.phases[-1].http} / answer {results.phases[-1].answer}")
        many = texts[cursor:]
        log(f"{args.clients} clients: {len(many)} requests")
        results.phases.append(
            run_phase(
                fake,
                url,
                f"{args.clients} clients",
                many,
                args.clients,
                wait=wait,
                timeout=args.timeout,
            )
        )
        log(f"  {results.phases[-1].http} / answer {results.phases[-1].answer}")
    finally:
        stop_server(proc)
        fake.stop()
    if fake.block_kit_violations:
        log(
            f"WARNING: {len(fake.block_kit_violations)} answers broke Block Kit limits, e.g. "
            f"{fake.block_kit_violations[0]}"
        )
    print_report(results, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
