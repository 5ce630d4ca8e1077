"""Slow clients cannot hold a worker (issue 17, item 9), against a live process with small limits: a
client trickling its headers or its body is answered 408 and disconnected once the deadline passes
(a byte a fifth of a second does not reset it), and beyond ``MLMON_MAX_CONNECTIONS`` open connections
a request is a 503 instead of a wait. Loopback only; every loop is bounded in count and time."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from service_helpers import connect, start_service, trickle

pytestmark = pytest.mark.e2e

HEADER_TIMEOUT = 1.0
SLOW = 20  # connections trickling at once
_GIVE_UP = 15.0  # as service_helpers.trickle: a bounded wait (the deadline is 1 s)


def _server(tmp_path: Path, **settings: str) -> tuple[subprocess.Popen[bytes], str]:
    return start_service(f"sqlite:///{tmp_path / 'svc.db'}", tmp_path / "server.log", **settings)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    proc, url = _server(
        tmp_path, MLMON_HEADER_TIMEOUT_SECONDS=str(HEADER_TIMEOUT), MLMON_BODY_TIMEOUT_SECONDS="1"
    )
    yield url
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


def test_trickled_headers_are_cut_off_at_the_deadline(server: str) -> None:
    socks = [connect(server) for _ in range(SLOW)]
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-Slow-%d: 1\r\n" % i for i in range(200))
    try:
        replies, seconds = trickle(socks, [request[i : i + 1] for i in range(len(request))])
    finally:
        for sock in socks:
            sock.close()
    assert len(replies) == SLOW, f"{SLOW - len(replies)} slow connections still open after {_GIVE_UP} s"
    assert all(r.startswith(b"HTTP/1.1 408") and b"headers" in r for r in replies.values()), replies
    assert seconds >= HEADER_TIMEOUT  # cut by the deadline, not by anything sooner
    assert httpx.get(f"{server}/healthz", timeout=10).status_code == 200  # the worker still serves


def test_a_silent_connection_is_closed_too(server: str) -> None:
    sock = connect(server)
    try:
        replies, _ = trickle([sock], [b""])
    finally:
        sock.close()
    assert replies and replies[0].startswith(b"HTTP/1.1 408")


def test_a_trickled_body_is_cut_off_without_a_500(server: str, tmp_path: Path) -> None:
    head = (
        b"POST /v1/models/churn/ingest HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
        b"content-length: 4000\r\n\r\n"
    )
    sock = connect(server)
    sock.setblocking(True)
    sock.sendall(head)
    sock.setblocking(False)
    try:
        replies, _ = trickle([sock], [b" "])
    finally:
        sock.close()
    assert replies and replies[0].startswith(b"HTTP/1.1 408") and b"body" in replies[0], replies
    metrics = httpx.get(f"{server}/metrics", timeout=10).text
    assert 'status="500"' not in metrics
    assert "unhandled error" not in (tmp_path / "server.log").read_text()


def test_connections_beyond_the_limit_get_a_503(tmp_path: Path) -> None:
    proc, url = _server(tmp_path, MLMON_MAX_CONNECTIONS="4", MLMON_HEADER_TIMEOUT_SECONDS="3")
    held = [connect(url) for _ in range(4)]
    try:
        time.sleep(0.5)  # let the worker accept them
        assert httpx.get(f"{url}/healthz", timeout=10).status_code == 503
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + _GIVE_UP
    while httpx.get(f"{url}/healthz", timeout=10).status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200  # freed connections are reusable
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


def test_spawned_workers_have_the_deadlines_too(tmp_path: Path) -> None:
    """With 2 workers the protocol is built in spawned processes from ``MLMON_SETTINGS_JSON``."""
    proc, url = start_service(
        f"sqlite:///{tmp_path / 'svc.db'}", tmp_path / "server.log", workers=2,
        MLMON_HEADER_TIMEOUT_SECONDS=str(HEADER_TIMEOUT),
    )  # fmt: skip
    socks = [connect(url) for _ in range(6)]
    try:
        replies, _ = trickle(socks, [b"G", b"E", b"T", b" "] + [b"/"] * 200)
    finally:
        for sock in socks:
            sock.close()
    assert len(replies) == 6 and all(r.startswith(b"HTTP/1.1 408") for r in replies.values()), replies
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
