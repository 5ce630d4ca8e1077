"""The production API has the drift service's read deadlines (issue 17, item 9), on a live process: a
client trickling its headers, or the body of ``PUT /admin/model``, gets a 408 and is disconnected once
the deadline passes, and the API keeps serving."""

from __future__ import annotations

from pathlib import Path

import httpx
from service_helpers import TRICKLE_GIVE_UP, connect, trickle
from serving_helpers import ADMIN, start_serving


def test_trickled_headers_and_bodies_are_cut_off(tmp_path: Path) -> None:
    proc, url = start_serving(
        tmp_path / "api.log", MLMON_SERVING_ADMIN_TOKEN=ADMIN, MLMON_SERVING_HEADER_TIMEOUT_SECONDS="1",
        MLMON_SERVING_BODY_TIMEOUT_SECONDS="1",
    )  # fmt: skip
    try:
        slow_head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: 1\r\n" * 100
        head = (
            b"PUT /admin/model HTTP/1.1\r\nHost: x\r\nauthorization: Bearer " + ADMIN.encode() + b"\r\n"
            b"x-model-name: m\r\nx-model-version: v1\r\nx-model-format: skops\r\n"
            b"x-model-sha256: " + b"0" * 64 + b"\r\ncontent-length: 100000\r\n\r\n"
        )
        socks = [connect(url) for _ in range(5)]
        for sock in socks[:2]:
            sock.setblocking(True)
            sock.sendall(head)
            sock.setblocking(False)
        chunks = [slow_head[i : i + 1] for i in range(len(slow_head))]
        try:
            bodies, _ = trickle(socks[:2], [b"x"])
            heads, _ = trickle(socks[2:], chunks)
        finally:
            for sock in socks:
                sock.close()
        assert len(bodies) == 2 and len(heads) == 3, f"connections still open after {TRICKLE_GIVE_UP} s"
        assert all(r.startswith(b"HTTP/1.1 408") and b"body" in r for r in bodies.values()), bodies
        assert all(r.startswith(b"HTTP/1.1 408") and b"headers" in r for r in heads.values()), heads
        assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200
        assert "unhandled error" not in (tmp_path / "api.log").read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
