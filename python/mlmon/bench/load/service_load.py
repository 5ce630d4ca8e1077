"""Bounded load generator for the drift service (loopback only): 1,000-row x 25-feature batches as
msgpack-binary, msgpack-lists and JSON (raw bytes as base64), 1 and 2 workers, durability on (SQLite).

Run: ``python -m mlmon.bench.load.service_load [--requests 300] [--concurrency 8]``.
The client is Python (httpx, one thread per connection) on the same 2 cores as the server, so figures
are a lower bound; ``wrk_bench`` (wrk, with the reference endpoints) is the benchmark of record.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import msgspec
import numpy as np

import mlmon

ROWS, FEATURES = 1000, 25


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bodies(kind: str, n: int) -> list[tuple[bytes, str]]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        cols: dict[str, object] = {}
        for f in range(FEATURES):
            values = rng.normal(0, 1, ROWS)
            cols[f"f{f}"] = (
                values.tolist() if kind == "msgpack-lists" else {"dtype": "<f8", "data": values.tobytes()}
            )
        doc = {"batch_id": f"{kind}-{i}", "version": "v1", "columns": cols}
        if kind == "json":
            out.append((msgspec.json.encode(doc), "application/json"))
        else:
            out.append((msgspec.msgpack.encode(doc), "application/msgpack"))
    return out


def _start(workers: int, db: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLMON_", "PROMETHEUS_"))}
    env.update(MLMON_ALERT_INTERVAL_SECONDS="0", MLMON_LOG_LEVEL="WARNING")
    cmd = [
        sys.executable,
        "-m",
        "mlmon.service",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--database-url",
        f"sqlite:///{db}",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def _run(url: str, bodies: list[tuple[bytes, str]], concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    clients = [httpx.Client(base_url=url, timeout=30) for _ in range(concurrency)]

    def send(i: int) -> None:
        data, media = bodies[i]
        t0 = time.perf_counter()
        r = clients[i % concurrency].post(
            "/v1/models/load/ingest", content=data, headers={"content-type": media}
        )
        latencies.append(time.perf_counter() - t0)
        assert r.status_code == 200, r.text

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(send, range(len(bodies))))
    elapsed = time.perf_counter() - t0
    for c in clients:
        c.close()
    lat = np.array(latencies) * 1000
    return {
        "batches_s": len(bodies) / elapsed,
        "rows_s": len(bodies) * ROWS / elapsed,
        "p50_ms": float(np.percentile(lat, 50)),
        "p99_ms": float(np.percentile(lat, 99)),
    }


def main() -> None:
    """Runs every (workers, body kind) pair and prints a Markdown table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    baseline = mlmon.Baseline.fit({f"f{f}": rng.normal(0, 1, 5000) for f in range(FEATURES)})
    print("| workers | body | batches/s | rows/s | p50 ms | p99 ms |\n|---|---|---|---|---|---|")
    for workers in (1, 2):
        for kind in ("msgpack-binary", "msgpack-lists", "json"):
            with tempfile.TemporaryDirectory() as tmp:
                proc, url = _start(workers, Path(tmp) / "load.db")
                try:
                    httpx.put(f"{url}/v1/models/load/versions/v1/baseline", content=baseline.to_bytes())
                    bodies = _bodies(kind, args.requests)
                    _run(url, bodies[: args.concurrency * 2], args.concurrency)  # warm-up (then duplicates)
                    r = _run(url, bodies, args.concurrency)
                finally:
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(timeout=30)
            cells = f"{r['batches_s']:.0f} | {r['rows_s']:,.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f}"
            print(f"| {workers} | {kind} | {cells} |")


if __name__ == "__main__":
    main()
