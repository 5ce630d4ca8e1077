"""Real processes for the reliability suite: service processes (each with N uvicorn workers), RSS
sampling with psutil once a second, and the store-side check of a run against its ground truth."""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from loadgen import Truth
from service_helpers import ADMIN, start_service

import mlmon

__all__ = ["Cluster", "RssSampler", "StoreCheck", "check_store", "wide_window"]


@dataclass
class Cluster:
    """Service processes sharing one database (each one a uvicorn master with ``workers`` workers).

    Args:
        database_url: The store URL every process uses.
        log: Where the processes' stderr goes (appended).
        processes: How many service processes.
        workers: Workers per process.
        settings: ``MLMON_*`` environment for the processes.
    """

    database_url: str
    log: Path
    processes: int = 2
    workers: int = 2
    settings: dict[str, str] = field(default_factory=dict)
    procs: list[Any] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)

    def start(self) -> Cluster:
        """Starts every process and waits until each answers ``/healthz``."""
        for _ in range(self.processes):
            self.start_one()
        return self

    def start_one(self) -> str:
        """Starts one more process; returns its URL."""
        proc, url = start_service(self.database_url, self.log, self.workers, **self.settings)
        self.procs.append(proc)
        self.urls.append(url)
        return url

    def worker_pids(self) -> dict[int, list[int]]:
        """Each live process's pid with its worker pids."""
        out = {}
        for p in self.procs:
            if p.poll() is None:
                out[p.pid] = sorted(c.pid for c in psutil.Process(p.pid).children(recursive=True))
        return out

    def stop(self, timeout: float = 30) -> list[int | None]:
        """SIGTERM to every process, then waits; returns their exit codes (``None``: had to be killed)."""
        codes: list[int | None] = []
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                codes.append(p.wait(timeout=timeout))
            except Exception:
                kill_tree(p.pid)
                p.wait()
                codes.append(None)
        return codes

    def upload_baseline(self, baseline: mlmon.Baseline, model: str = "churn", version: str = "v1") -> None:
        """Puts ``baseline`` as ``model/version`` through the first process (admin token if any)."""
        headers = {"authorization": f"Bearer {ADMIN}"} if "MLMON_ADMIN_TOKEN" in self.settings else {}
        r = httpx.put(f"{self.urls[0]}/v1/models/{model}/versions/{version}/baseline",
                      content=baseline.to_bytes(), headers=headers, timeout=30)  # fmt: skip
        assert r.status_code == 200, r.text

    def __enter__(self) -> Cluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


def kill_tree(pid: int, sig: int = signal.SIGKILL) -> None:
    """Sends ``sig`` to a process and all its descendants."""
    try:
        root = psutil.Process(pid)
        procs = [*root.children(recursive=True), root]
    except psutil.NoSuchProcess:
        return
    for p in procs:
        with suppress(psutil.NoSuchProcess):
            p.send_signal(sig)


class RssSampler:
    """Samples the resident memory of processes and their children once a second in a thread.

    Args:
        pids: Root pids (their descendants are sampled too, found afresh at each sample).
        interval: Seconds between samples.
    """

    def __init__(self, pids: list[int], interval: float = 1.0) -> None:
        self.pids = pids
        self.interval = interval
        self.samples: list[dict[int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="rss-sampler")

    def sample(self) -> dict[int, int]:
        """One sample now: pid to RSS bytes."""
        out: dict[int, int] = {}
        for pid in self.pids:
            try:
                root = psutil.Process(pid)
                for p in [root, *root.children(recursive=True)]:
                    out[p.pid] = p.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return out

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self.sample())
            self._stop.wait(self.interval)

    @property
    def peak_mib(self) -> float:
        """The largest RSS of any one process seen, in MiB."""
        return max((max(s.values(), default=0) for s in self.samples), default=0) / 2**20

    def per_pid_peak(self) -> dict[int, int]:
        """The largest RSS seen of each pid."""
        peaks: dict[int, int] = {}
        for s in self.samples:
            for pid, rss in s.items():
                peaks[pid] = max(peaks.get(pid, 0), rss)
        return peaks

    def __enter__(self) -> RssSampler:
        self.samples.append(self.sample())
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.samples.append(self.sample())


@dataclass
class StoreCheck:
    """The store compared with the ground truth."""

    stored_batches: int
    stored_rows: int
    lost: int
    duplicate_rows: int
    unknown: int

    def assert_exact(self) -> None:
        """Every acknowledged batch is stored, every stored batch is counted exactly once."""
        assert (self.lost, self.duplicate_rows, self.unknown) == (0, 0, 0), self


@contextmanager
def _connect(url: str) -> Iterator[Any]:
    if url.startswith("sqlite:///"):
        conn: Any = sqlite3.connect(url[len("sqlite:///") :], timeout=30)
    else:
        import psycopg

        conn = psycopg.connect(url.split("?")[0], autocommit=True)
    try:
        yield conn
    finally:
        conn.close()


def check_store(url: str, truth: Truth) -> StoreCheck:
    """Reads every stored batch id and the counted rows and compares them with ``truth``.

    ``lost``: acknowledged ids not stored. ``duplicate_rows``: rows counted beyond the rows of the stored
    batches (a batch counted twice). ``unknown``: stored ids the load generator never sent. A batch that
    got a 503 may be stored (its commit's outcome was unknown): that is allowed, counted once.
    """
    with _connect(url) as conn:
        ids = {row[0] for row in conn.execute("SELECT batch_id FROM ingested_batches").fetchall()}
        total = conn.execute("SELECT COALESCE(SUM(row_count), 0) FROM window_partials").fetchone()[0]
    expected = sum(truth.sent.get(i, 0) for i in ids)
    return StoreCheck(
        stored_batches=len(ids), stored_rows=int(total), lost=len(set(truth.acked) - ids),
        duplicate_rows=int(total) - expected, unknown=len(ids - set(truth.sent)),
    )  # fmt: skip


def wide_window() -> str:
    """A ``window`` query value covering a day either side of now."""
    now = time.time()
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return f"{time.strftime(fmt, time.gmtime(now - 86400))}/{time.strftime(fmt, time.gmtime(now + 86400))}"


def reported_rows(url: str, model: str = "churn", token: str | None = None) -> int:
    """Rows the service reports for ``model`` over :func:`wide_window` (every worker's partials merged)."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    r = httpx.get(f"{url}/v1/models/{model}/drift", params={"window": wide_window()}, headers=headers,
                  timeout=30)  # fmt: skip
    assert r.status_code == 200, r.text
    return int(r.json()["current_rows"])
