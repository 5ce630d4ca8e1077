"""Helpers shared by the service tests: tokens, settings, ingest bodies, service processes and a webhook
receiver."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import msgspec
import numpy as np
import pytest

from mlmon.service import Settings

ADMIN = "admin-secret"
TOKEN_A = "token-churn"
TOKEN_B = "token-fraud"
MSGPACK = {"content-type": "application/msgpack"}


def make_settings(tmp_path: Path, **kw: Any) -> Settings:
    """Settings on a fresh SQLite file, alerts off unless asked."""
    kw.setdefault("alert_interval_seconds", 0)
    return Settings(database_url=f"sqlite:///{tmp_path / 'mlmon.db'}", **kw)


def body(batch_id: str, rows: int = 100, *, seed: int = 1, raw: bool = True, **extra: Any) -> dict[str, Any]:
    """An ingest body with ``rows`` rows of both features."""
    rng = np.random.default_rng(seed)
    age = rng.normal(45, 9, rows)
    plan = rng.choice(["a", "b", "c", "z"], rows).tolist()
    cols: dict[str, Any] = {
        "age": {"dtype": "<f8", "data": age.tobytes()} if raw else age.tolist(),
        "plan": plan,
    }
    return {"batch_id": batch_id, "columns": cols, **extra}


def mp(value: Any) -> bytes:
    """msgpack bytes."""
    return msgspec.msgpack.encode(value)


def free_port() -> int:
    """A free loopback TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def service_env(**extra: str) -> dict[str, str]:
    """This process's environment without any MLMON_/PROMETHEUS_ setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLMON_", "PROMETHEUS_"))}
    env.update(extra)
    return env


def start_service(
    database_url: str, log: Path, workers: int = 1, port: int | None = None, **settings: str
) -> tuple[subprocess.Popen[bytes], str]:
    """``python -m mlmon.service`` (no auth, alerts off, no drain window unless ``settings`` say
    otherwise) on ``port`` (default: a free loopback port; pass the old one to restart there); waits for
    ``/healthz`` and returns the process and its base URL."""
    port = port or free_port()
    # No drain window unless asked: a stop then takes no extra seconds (test_graceful_stop sets one).
    env = service_env(**{"MLMON_ALERT_INTERVAL_SECONDS": "0", "MLMON_DRAIN_SECONDS": "0", **settings})
    cmd = [sys.executable, "-m", "mlmon.service", "--port", str(port), "--workers", str(workers),
           "--database-url", database_url]  # fmt: skip
    return spawn_healthy(cmd, env, port, log, "server")


def spawn_healthy(
    cmd: list[str], env: dict[str, str], port: int, log: Path, what: str
) -> tuple[subprocess.Popen[bytes], str]:
    """Starts ``cmd`` (stderr appended to ``log``) and waits up to 30 s for ``/healthz`` on ``port`` to
    answer 200; returns the process and its base URL, or kills it and fails the test naming ``what``."""
    with log.open("ab") as sink:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=sink)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    proc.kill()
    pytest.fail(f"{what} did not start: {log.read_text()[-2000:]}")


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        data = self.rfile.read(int(self.headers.get("content-length") or 0))
        self.server.received.append((self.path, json.loads(data or b"null")))  # type: ignore[attr-defined]
        # /redirect...: answers 302 to a path that records a hit if anyone follows it (nobody should).
        self.send_response(302 if self.path.startswith("/redirect") else 200)
        if self.path.startswith("/redirect"):
            self.send_header("Location", "/followed")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@contextmanager
def webhook_receiver() -> Iterator[tuple[str, list[tuple[str, Any]]]]:
    """A loopback HTTP server recording every POST as ``(path, json body)``; paths starting with
    ``/redirect`` answer 302. Yields its base URL and the list."""
    received: list[tuple[str, Any]] = []
    with loopback_server(_Receiver, received=received) as url:
        yield url, received


@contextmanager
def loopback_server(handler: type[BaseHTTPRequestHandler], **attrs: Any) -> Iterator[str]:
    """A threaded HTTP server on a free loopback port running ``handler`` (which finds ``attrs`` on
    ``self.server``) until the block ends; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    for name, value in attrs.items():
        setattr(server, name, value)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


TRICKLE_GIVE_UP = 15.0
"""How long :func:`trickle` waits for the server to close every connection (deadlines in the tests
are about 1 s; a machine shared with other jobs is slow)."""


def connect(url: str) -> socket.socket:
    """A non-blocking TCP connection to the loopback server at ``url``."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    sock.setblocking(False)
    return sock


def trickle(socks: list[socket.socket], chunks: list[bytes]) -> tuple[dict[int, bytes], float]:
    """Sends one more chunk on every open socket each 0.2 s and collects what the server says, until
    every socket is closed by the server or ``TRICKLE_GIVE_UP`` passes. Returns the replies (socket index to
    bytes) of the closed sockets and the seconds until the last one closed."""
    replies: dict[int, bytes] = {}
    got: dict[int, bytes] = {i: b"" for i in range(len(socks))}
    started = time.monotonic()
    step = 0
    while len(replies) < len(socks) and time.monotonic() - started < TRICKLE_GIVE_UP:
        for i, sock in enumerate(socks):
            if i in replies:
                continue
            try:
                while data := sock.recv(4096):
                    got[i] += data
                replies[i] = got[i]  # recv returned b"": the server closed the connection
                continue
            except BlockingIOError:
                pass
            except ConnectionResetError:
                replies[i] = got[i]
                continue
            try:
                sock.send(chunks[min(step, len(chunks) - 1)])
            except OSError:
                replies[i] = got[i]
        step += 1
        time.sleep(0.2)
    return replies, time.monotonic() - started


def wait_for(predicate: Callable[[], bool], seconds: float = 20) -> bool:
    """Polls ``predicate`` until true or ``seconds`` pass (a bounded wait, not a speed assertion)."""
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.05)
    return predicate()
