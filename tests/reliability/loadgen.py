"""The load generator: sends ingest batches with httpx from a bounded thread pool, bounded in count and
time, and keeps the ground truth — every batch_id it sent with its row count, and those that got a 2xx.

Retries follow the client contract: only 429, 5xx and network errors, with the same batch_id and body.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import httpx
from service_helpers import MSGPACK, body, mp

__all__ = ["Batch", "LoadGen", "Truth", "iter_batches", "make_batches"]

_RETRYABLE = {429, 500, 502, 503, 504}


@dataclass(frozen=True)
class Batch:
    """One ingest request: its id, its rows and its msgpack body."""

    batch_id: str
    rows: int
    data: bytes


def iter_batches(prefix: str, n: int, rows: tuple[int, int] = (5, 40), seed: int = 0) -> Iterator[Batch]:
    """``n`` distinct batches with deterministic row counts in ``rows`` (inclusive), made lazily."""
    if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,100}", prefix):
        raise ValueError(f"batch id prefix {prefix!r} is not a valid name: every batch would be a 400")
    rng = random.Random(seed)
    for i in range(n):
        k = rng.randint(*rows)
        yield Batch(f"{prefix}{i}", k, mp(body(f"{prefix}{i}", k, seed=seed * 100_003 + i)))


def make_batches(prefix: str, n: int, rows: tuple[int, int] = (5, 40), seed: int = 0) -> list[Batch]:
    """The list of :func:`iter_batches`."""
    return list(iter_batches(prefix, n, rows, seed))


@dataclass
class Truth:
    """What the load generator knows: sent ids with rows, acknowledged ids with rows, statuses seen."""

    sent: dict[str, int] = field(default_factory=dict)
    acked: dict[str, int] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: int = 0
    retry_after_missing: int = 0
    latencies: list[float] = field(default_factory=list)
    error_latencies: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def five_xx(self) -> int:
        """Responses with a 5xx status."""
        return sum(n for s, n in self.statuses.items() if s >= 500)

    @property
    def requests(self) -> int:
        """Requests that got any response."""
        return sum(self.statuses.values())


class LoadGen:
    """Sends batches to one or more service URLs and records the truth.

    Args:
        urls: Service base URLs; request ``i`` goes to ``urls[i % len(urls)]``.
        model: The model to ingest into.
        token: A bearer token (``None``: no header).
        timeout: Per-request timeout (seconds).
        concurrency: Threads sending at once.
    """

    def __init__(self, urls: Sequence[str], model: str = "churn", token: str | None = None,
                 timeout: float = 15.0, concurrency: int = 8) -> None:  # fmt: skip
        self.urls = list(urls)
        self.model = model
        self.truth = Truth()
        self.headers = dict(MSGPACK)
        if token:
            self.headers["authorization"] = f"Bearer {token}"
        self.concurrency = concurrency
        limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2)
        self.client = httpx.Client(timeout=timeout, limits=limits)
        self._i = 0

    def close(self) -> None:
        """Closes the HTTP client."""
        self.client.close()

    def _url(self) -> str:
        with self.truth.lock:
            self._i += 1
            return self.urls[self._i % len(self.urls)]

    def send_once(self, batch: Batch, url: str | None = None) -> int | None:
        """One POST; records the outcome. Returns the status (``None`` on a network error)."""
        t = self.truth
        with t.lock:
            t.sent[batch.batch_id] = batch.rows
        started = time.perf_counter()
        try:
            r = self.client.post(f"{url or self._url()}/v1/models/{self.model}/ingest", content=batch.data,
                                 headers=self.headers)  # fmt: skip
        except httpx.TransportError:
            with t.lock:
                t.transport_errors += 1
            return None
        with t.lock:
            t.statuses[r.status_code] += 1
            if r.status_code in (429, 503) and "retry-after" not in r.headers:
                t.retry_after_missing += 1
            if 200 <= r.status_code < 300:
                t.acked[batch.batch_id] = batch.rows
                t.latencies.append(time.perf_counter() - started)
            else:
                t.error_latencies.append(time.perf_counter() - started)
        return r.status_code

    def send_until_acked(self, batch: Batch, deadline: float, pause: float = 0.2) -> bool:
        """Retries 429/5xx/network errors (same id and body) until a 2xx or ``deadline``."""
        while time.monotonic() < deadline:
            status = self.send_once(batch)
            if status is not None and 200 <= status < 300:
                return True
            if status is not None and status not in _RETRYABLE:
                return False
            time.sleep(pause * (0.5 + random.random()))
        return False

    def run(self, batches: Iterable[Batch], seconds: float, retry: bool = True,
            between: Callable[[], None] | None = None, grace: float = 30.0,
            stop: threading.Event | None = None) -> Truth:  # fmt: skip
        """Sends batches (in order, ``concurrency`` threads pulling from ``batches``) until they run out,
        ``seconds`` pass or ``stop`` is set.

        Args:
            batches: What to send (may be lazy and long: it is consumed one batch at a time).
            seconds: No new batch is sent after this many seconds.
            retry: Retry until acknowledged (else one attempt each).
            between: Called before each send (a pacing hook).
            grace: Retries of batches already sent go on this much longer.
            stop: When set, no new batch is sent; retries of sent ones go on.
        """
        deadline = time.monotonic() + seconds
        source = iter(batches)
        pull = threading.Lock()

        def worker() -> None:
            while time.monotonic() < deadline and not (stop is not None and stop.is_set()):
                with pull:
                    batch = next(source, None)
                if batch is None:
                    return
                if between is not None:
                    between()
                if retry:
                    self.send_until_acked(batch, deadline + grace)
                else:
                    self.send_once(batch)

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(self.concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=seconds + grace + 60)
        return self.truth
