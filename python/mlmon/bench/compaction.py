"""The service-level store measurement: ``batches`` ingest requests into one window through a live
service (its own process, loopback only, the compactor on at its default interval), and the rows that
window holds during the run and after compaction.

Each sender thread is one producer (``producer_id`` + ``sequence``, as ``DriftClient`` sends); windows
are a day long so the run stays in one window whatever the clock. The store is sampled every
``interval / 4`` seconds: rows in the window, and batches acknowledged so far, so the report can set the
rows seen against what arrived in the preceding compaction interval. After the last acknowledgement it
waits (at most 4 intervals) for the window to fold back into one aggregate row.

Run: ``python -m mlmon.bench.compaction [--batches 10000] [--backend sqlite|postgres]``.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import msgspec
import numpy as np

from mlmon.bench.ingest import backend_url
from mlmon.bench.load.service_load import _port
from mlmon.core.baseline import Baseline
from mlmon.store import Store, open_store

__all__ = ["service_compaction"]

FEATURES = 25
_URL = "/v1/models/load/ingest"


def _bodies(producer: str, count: int, rows: int, seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    return [
        msgspec.msgpack.encode(
            {
                "producer_id": producer,
                "sequence": seq,
                "version": "v1",
                "columns": {
                    f"f{f}": {"dtype": "<f8", "data": rng.normal(0, 1, rows).tobytes()}
                    for f in range(FEATURES)
                },
            }
        )
        for seq in range(count)
    ]


@contextmanager
def _service(database_url: str, workers: int, interval: float) -> Iterator[str]:
    port = _port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLMON_", "PROMETHEUS_"))}
    env.update(
        MLMON_ALERT_INTERVAL_SECONDS="0",
        MLMON_LOG_LEVEL="WARNING",
        MLMON_WINDOW_SECONDS="86400",
        MLMON_COMPACT_INTERVAL_SECONDS=str(interval),
    )
    cmd = [
        sys.executable,
        "-m",
        "mlmon.service",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--database-url",
        database_url,
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the service did not start within 30 s")
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _rows(store: Store) -> int:
    run: Callable[..., Any] = store._run  # type: ignore[attr-defined]  # the bench reads the table directly
    return int(run(lambda tx: tx.one("SELECT COUNT(*) FROM window_partials"), write=False)[0])


class _Sampler(threading.Thread):
    """Samples (seconds, rows in the window, batches acknowledged) until stopped."""

    def __init__(self, store: Store, acked: Callable[[], int], every: float) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple[float, int, int]] = []
        self._store, self._acked, self._every = store, acked, every
        self._stop_event = threading.Event()
        self._t0 = time.monotonic()

    def run(self) -> None:
        while not self._stop_event.wait(self._every):
            self.samples.append((time.monotonic() - self._t0, _rows(self._store), self._acked()))

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def _send(url: str, bodies: list[list[bytes]], acked: list[int]) -> None:
    def producer(k: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            for data in bodies[k]:
                r = client.post(_URL, content=data, headers={"content-type": "application/msgpack"})
                if r.status_code != 200 or r.json()["status"] != "accepted":
                    raise RuntimeError(f"ingest answered {r.status_code}: {r.text[:200]}")
                acked[k] += 1

    with ThreadPoolExecutor(len(bodies)) as pool:
        list(pool.map(producer, range(len(bodies))))


def _max_interval_batches(samples: list[tuple[float, int, int]], interval: float) -> int:
    """The most batches acknowledged within any span of one compaction interval."""
    times = [s[0] for s in samples]
    most = 0
    for t, _, acked in samples:
        start = bisect.bisect_left(times, t - interval)
        most = max(most, acked - (samples[start - 1][2] if start > 0 else 0))
    return most


def service_compaction(
    backend: str = "sqlite",
    *,
    batches: int = 10_000,
    rows: int = 100,
    senders: int = 8,
    workers: int = 2,
    interval: float = 5.0,
) -> dict[str, Any]:
    """Sends ``batches`` batches (``rows`` x 25 features, msgpack-binary) from ``senders`` producers into
    one window of a live ``workers``-worker service and reports the window's rows.

    Returns:
        ``batches_s`` through the service, ``max_rows`` in the window during the run against
        ``max_interval_batches`` (the most acknowledged within one compaction interval: the bound is one
        aggregate plus those, plus the ``senders`` requests in flight); ``rows_at_end`` (at the last
        acknowledgement),
        ``rows_after_compaction`` and ``seconds_to_one_row`` after it, and the window's ``counted_rows``
        (every acknowledged row counted once).
    """
    per = [batches // senders + (1 if k < batches % senders else 0) for k in range(senders)]
    bodies = [_bodies(f"bench-p{k}", n, rows, seed=k) for k, n in enumerate(per)]
    rng = np.random.default_rng(99)
    baseline = Baseline.fit({f"f{f}": rng.normal(0, 1, 5000) for f in range(FEATURES)})
    with (
        backend_url(backend, "compaction") as db,
        _service(db, workers, interval) as url,
        open_store(db) as store,
    ):
        put = httpx.put(f"{url}/v1/models/load/versions/v1/baseline", content=baseline.to_bytes(), timeout=30)
        if put.status_code != 200:
            raise RuntimeError(f"baseline upload answered {put.status_code}: {put.text[:200]}")
        acked = [0] * senders
        sampler = _Sampler(store, lambda: sum(acked), interval / 4)
        sampler.start()
        t0 = time.perf_counter()
        try:
            _send(url, bodies, acked)
        finally:
            elapsed = time.perf_counter() - t0
            at_end = _rows(store)
            sampler.stop()
        waited = time.perf_counter()
        after = at_end
        while after > 1 and time.perf_counter() - waited < 4 * interval:
            time.sleep(interval / 10)
            after = _rows(store)
        settled = time.perf_counter() - waited
        counted = httpx.get(f"{url}/v1/models/load/drift", timeout=30)
    samples = sampler.samples
    return {
        "backend": backend,
        "batches": batches,
        "rows_per_batch": rows,
        "features": FEATURES,
        "senders": senders,
        "workers": workers,
        "compact_interval_s": interval,
        "seconds": elapsed,
        "batches_s": batches / elapsed,
        "max_rows": max((s[1] for s in samples), default=at_end),
        "max_interval_batches": _max_interval_batches(samples, interval),
        "rows_at_end": at_end,
        "rows_after_compaction": after,
        "seconds_to_one_row": settled,
        "counted_rows": counted.json().get("current_rows") if counted.status_code == 200 else None,
        "samples": len(samples),
    }


def main() -> None:
    """Runs one measurement and prints its JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--batches", type=int, default=10_000)
    parser.add_argument("--interval", type=float, default=5.0)
    args = parser.parse_args()
    print(json.dumps(service_compaction(args.backend, batches=args.batches, interval=args.interval)))


if __name__ == "__main__":
    main()
