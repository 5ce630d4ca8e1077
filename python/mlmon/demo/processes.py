"""Local processes of the demo (the drift service and the production API) and the webhook receiver that
collects the alerts: free loopback ports, health waits, and a stop that leaves nothing behind."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

__all__ = ["Child", "WebhookReceiver", "free_port", "start_child", "stop_children", "wait_healthy"]

_STOP_SECONDS = 15.0


def free_port() -> int:
    """A free loopback TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Child:
    """A started ``mlmon`` subcommand: its process, base URL and log file."""

    def __init__(self, name: str, proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.name, self.proc, self.url, self.log = name, proc, url, log

    def tail(self, chars: int = 2000) -> str:
        """The end of the child's log (for an error message)."""
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def start_child(name: str, args: Sequence[str], port: int, env: Mapping[str, str], log: Path) -> Child:
    """Starts ``python -m mlmon.cli <args> --port <port>`` with ``env`` on top of this environment minus
    any ``MLMON_*`` variable (the demo's settings are the only ones that count)."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("MLMON_", "PROMETHEUS_"))}
    full.update(env)
    cmd = [sys.executable, "-m", "mlmon.cli", *args, "--port", str(port)]
    with log.open("ab") as sink:
        proc = subprocess.Popen(cmd, env=full, stdin=subprocess.DEVNULL, stdout=sink, stderr=sink)
    return Child(name, proc, f"http://127.0.0.1:{port}", log)


def wait_healthy(children: Sequence[Child], timeout: float = 60.0) -> None:
    """Waits until every child answers ``GET /healthz``.

    Raises:
        RuntimeError: a child exited or did not answer in time (with the end of its log).
    """
    deadline = time.monotonic() + timeout
    pending = list(children)
    while pending:
        child = pending[0]
        if child.proc.poll() is not None:
            raise RuntimeError(f"{child.name} exited with {child.proc.returncode}:\n{child.tail()}")
        try:
            if httpx.get(f"{child.url}/healthz", timeout=1.0).status_code == 200:
                pending.pop(0)
                continue
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{child.name} did not start within {timeout:g} s:\n{child.tail()}")
        time.sleep(0.1)


def stop_children(children: Sequence[Child]) -> None:
    """SIGTERM to every child, then waits; a child still running after the grace period is killed.
    Every child is reaped, so none is left behind (not even as a zombie)."""
    for child in children:
        if child.proc.poll() is None:
            child.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + _STOP_SECONDS
    for child in children:
        try:
            child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.proc.kill()
            child.proc.wait()


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(min(length, 1 << 20))
        try:
            payload: Any = json.loads(body)
        except ValueError:
            payload = {"raw": body.decode(errors="replace")}
        with self.server.lock:
            self.server.received.append(payload)
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    received: list[Any]
    lock: threading.Lock


class WebhookReceiver:
    """A loopback HTTP server in a thread that keeps every JSON body POSTed to it (the alert sink)."""

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.received = []
        self._server.lock = threading.Lock()
        self._thread = threading.Thread(target=self._server.serve_forever, name="demo-webhook", daemon=True)

    @property
    def url(self) -> str:
        """Where to POST."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/alerts"

    def received(self) -> list[Any]:
        """A copy of the bodies received so far."""
        with self._server.lock:
            return list(self._server.received)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
