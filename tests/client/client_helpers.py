"""Helpers of the client tests: stop a service process, read its counts, poll a condition."""

from __future__ import annotations

import http.server
import signal
import subprocess
import threading
import time
from collections.abc import Callable

import httpx
import msgspec


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then wait (the service drains and exits 0)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def rows_counted(url: str, model: str) -> int:
    """Rows the service has counted for ``model`` in the current window."""
    r = httpx.get(f"{url}/v1/models/{model}/drift", timeout=10)
    assert r.status_code == 200, r.text
    return int(r.json()["current_rows"])


def wait_for(check: Callable[[], bool], timeout: float = 15.0) -> bool:
    """Polls ``check`` every 20 ms until it holds or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


class StubIngest:
    """A loopback HTTP server that answers ingest posts from a script of ``(status, headers)`` (the
    last entry repeats) and records each request's batch id, body and arrival time.

    Used only for what a real service cannot be made to do on demand: answer 503 or 429 to one exact
    request and then 200.
    """

    def __init__(self, script: list[tuple[int, dict[str, str]]]) -> None:
        self.script = list(script)
        self.requests: list[tuple[str, bytes, float]] = []
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers["content-length"]))
                body = msgspec.msgpack.decode(data)
                key = f"{body['producer_id']}:{body['sequence']}"
                stub.requests.append((key, data, time.monotonic()))
                status, headers = stub.script.pop(0) if len(stub.script) > 1 else stub.script[0]
                payload = b'{"detail": "scripted"}'
                self.send_response(status)
                for key, value in {**headers, "content-length": str(len(payload))}.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> StubIngest:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
