"""The HTTP server itself: latency of small requests, memory around large bodies,
and /healthz while slow clients hold connections, against a real `newsbot serve`.

    .venv/bin/python bench/http_server.py                 # 1000 requests per measure
    .venv/bin/python bench/http_server.py --count 200 --slow 20 --slow 250

Steps: `newsbot serve` in HTTP mode on the example articles (SQLite), the Slack
stand-in of tests/slack_api.py, then

1. sequential requests, one at a time: GET /healthz and a signed url_verification
   (Slack's check of the Request URL: signed, parsed, answered by Bolt), each on one
   kept-alive connection and on a new connection per request;
2. a signed head declaring a 64 MiB body, then the body in 64 KiB pieces until the
   server answers, with Content-Length and chunked; the server's VmRSS and VmHWM
   (peak) before and after;
3. for each `--slow N`: N connections that send a request head and then one header
   line a second; meanwhile /healthz on new connections, one after another.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # `python bench/http_server.py` puts bench/ first, not the repo

from bench.common import load_now, stats  # noqa: E402

from tests.hostile.http_support import Served, raw_request, serve, stream  # noqa: E402
from tests.slack_api import FakeSlack  # noqa: E402
from tests.slack_requests import SIGNING_SECRET, sign_bytes, url_verification  # noqa: E402

MiB = 1024 * 1024


def proc_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


def milliseconds(count: int, once: Callable[[], None]) -> dict[str, float]:
    seconds = []
    for _ in range(count):
        start = time.perf_counter()
        once()
        seconds.append(time.perf_counter() - start)
    measured = stats(seconds)
    return {"median_ms": measured.p50_ms, "p95_ms": measured.p95_ms, "max_ms": measured.max_ms}


def latency(served: Served, count: int) -> dict[str, object]:
    kept = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)

    def healthz(conn: http.client.HTTPConnection) -> None:
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        assert response.status == 200 and response.read()

    def verification(conn: http.client.HTTPConnection) -> None:
        request = url_verification("bench")
        conn.request("POST", "/slack/events", request.body.encode(), request.headers)
        response = conn.getresponse()
        assert response.status == 200 and json.loads(response.read())

    def on_new_connection(call: Callable[[http.client.HTTPConnection], None]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
        call(conn)
        conn.close()

    milliseconds(100, lambda: healthz(kept))  # warm-up
    result = {
        "GET /healthz, kept-alive connection": milliseconds(count, lambda: healthz(kept)),
        "GET /healthz, new connection": milliseconds(count, lambda: on_new_connection(healthz)),
        "url_verification, kept-alive connection": milliseconds(count, lambda: verification(kept)),
        "url_verification, new connection": milliseconds(
            count, lambda: on_new_connection(verification)
        ),
    }
    kept.close()
    return result


def large_bodies(served: Served) -> dict[str, object]:
    result = {}
    pid = served.proc.pid
    for chunked in (False, True):
        headers = sign_bytes(b"", SIGNING_SECRET)
        if chunked:
            headers["Transfer-Encoding"] = "chunked"
        else:
            headers["Content-Length"] = str(64 * MiB)
        head = raw_request("POST", "/slack/events", headers, content_length=False)
        piece = b"x" * 65536
        pieces = (b"10000\r\n" + piece + b"\r\n" if chunked else piece for _ in range(1024))
        before, peak_before = proc_kib(pid, "VmRSS"), proc_kib(pid, "VmHWM")
        answer = stream(served.port, head, pieces)
        result["64 MiB body, " + ("chunked" if chunked else "Content-Length")] = {
            "status": answer.status,
            "VmRSS before / after (KiB)": [before, proc_kib(pid, "VmRSS")],
            "VmHWM before / after (KiB)": [peak_before, proc_kib(pid, "VmHWM")],
        }
    return result


def under_slow_clients(served: Served, slow: int, count: int) -> dict[str, object]:
    clients = []
    for _ in range(slow):
        sock = socket.create_connection(("127.0.0.1", served.port), timeout=10)
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\n")
        clients.append(sock)
    stop = threading.Event()

    def drip() -> None:
        while not stop.wait(1):
            for sock in clients:
                with contextlib.suppress(OSError):  # cut off by the server
                    sock.sendall(b"X-Slow: 1\r\n")

    dripping = threading.Thread(target=drip, daemon=True)
    dripping.start()
    failures = 0

    def healthz() -> None:
        nonlocal failures
        try:
            conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=15)
            conn.request("GET", "/healthz")
            failures += conn.getresponse().status != 200
            conn.close()
        except OSError:
            failures += 1

    try:
        measured = milliseconds(count, healthz)
    finally:
        stop.set()
        dripping.join()
        for sock in clients:
            sock.close()
    return {f"GET /healthz, new connection, {slow} slow clients": measured | {"failed": failures}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="requests per measure")
    parser.add_argument(
        "--slow", type=int, action="append", help="slow clients for phase 3 (repeatable)"
    )
    args = parser.parse_args()
    results: dict[str, object] = {"load average at start": load_now()}
    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeSlack() as slack,
        serve(Path(tmp), slack) as served,
    ):
        results |= latency(served, args.count)
        results |= large_bodies(served)
        for slow in args.slow or [20]:
            results |= under_slow_clients(served, slow, min(args.count, 200))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
