"""What the sync and asyncio clients share: settings, counters, metrics and the retry decisions.

The flavours differ only in how they wait and send (a thread with ``httpx.Client``, or a task with
``httpx.AsyncClient``); both ask :class:`ClientCore` what a response means. Retries follow the
Datadog agent and OTLP clients: only 408, 429, 5xx and network errors are retried, ``Retry-After`` is
honoured (else jittered exponential backoff) and the batch keeps its producer sequence and bytes, so the
service counts a retried batch once. Any other 4xx is final: the batch is counted as rejected and the
status is logged once.
"""

from __future__ import annotations

import itertools
import logging
import os
import random
import re
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

from mlmon.client._buffer import Batch, Buffer
from mlmon.client._columns import REQUEST_IDS, Kind, columns_of_frame, request_id_column
from mlmon.core._compat import require
from mlmon.exceptions import InputError

__all__ = ["ClientCore", "backoff", "retry_after"]

_log = logging.getLogger("mlmon.client")
_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
_METRICS: weakref.WeakKeyDictionary[Any, tuple[Any, Any]] = weakref.WeakKeyDictionary()
_METRICS_LOCK = threading.Lock()


def backoff(attempt: int, base: float = 0.1, cap: float = 10.0) -> float:
    """Equal-jitter exponential backoff: half of ``min(cap, base * 2**attempt)`` plus a random half,
    so clients that failed together do not retry together."""
    step = min(cap, base * 2.0 ** min(attempt, 30))
    return step / 2 + random.random() * step / 2  # jitter, not cryptography


def retry_after(value: str | None, cap: float = 60.0) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date), capped; ``None`` when
    absent or unreadable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - datetime.now(timezone.utc)).total_seconds()
    return min(max(seconds, 0.0), cap)


def _metrics(registry: Any) -> tuple[Any, Any] | None:
    """The rows and retries counters in ``registry`` (default: prometheus_client's), made once per
    registry so several clients share them; ``None`` without prometheus_client."""
    try:
        prometheus = require("prometheus_client", "service")
    except ImportError:  # pragma: no cover - prometheus_client is installed in the test environment
        return None
    reg = prometheus.REGISTRY if registry is None else registry
    with _METRICS_LOCK:
        found = _METRICS.get(reg)
        if found is None:
            rows = prometheus.Counter(
                "mlmon_client_rows",
                "Rows by outcome: sent, dropped (buffer full or closed "
                "before delivery) or rejected (a final 4xx or unencodable values).",
                ["model", "outcome"],
                registry=reg,
            )
            retries = prometheus.Counter(
                "mlmon_client_retries",
                "Batch sends retried (408, 429, 5xx, network).",
                ["model"],
                registry=reg,
            )
            found = _METRICS[reg] = (rows, retries)
    return found


class ClientCore:
    """Settings, buffer and counters of one client; see :class:`mlmon.client.DriftClient` for the
    arguments.

    Raises:
        InputError: an invalid model/version name, URL or size.
    """

    def __init__(
        self,
        url: str,
        model: str,
        *,
        version: str | None,
        token: str | None,
        batch_rows: int,
        flush_interval: float,
        max_buffer_rows: int,
        kinds: Mapping[str, Kind] | None,
        timeout: float,
        close_timeout: float,
        registry: Any,
        wake: Callable[[], None],
    ) -> None:
        for label, name in (("model", model), ("version", version)):
            if name is not None and not _NAME.match(name):
                raise InputError(f"{label} {name!r} must match {_NAME.pattern}")
        if not url.startswith(("http://", "https://")):
            raise InputError(f"url {url!r} must start with http:// or https://")
        if batch_rows < 1 or flush_interval <= 0 or timeout <= 0 or close_timeout < 0:
            raise InputError("batch_rows must be >= 1 and flush_interval and timeout > 0")
        if max_buffer_rows < batch_rows:
            raise InputError(f"max_buffer_rows ({max_buffer_rows}) must be >= batch_rows ({batch_rows})")
        self.model, self.version, self.kinds = model, version, dict(kinds or {})
        self.flush_interval, self.timeout, self.close_timeout = flush_interval, timeout, close_timeout
        self.endpoint = f"{url.rstrip('/')}/v1/models/{quote(model, safe='')}/ingest"
        self.labels_endpoint = f"{url.rstrip('/')}/v1/models/{quote(model, safe='')}/labels"
        token = token if token is not None else os.environ.get("MLMON_INGEST_TOKEN")
        self.headers = {"content-type": "application/msgpack"}
        if token:
            self.headers["authorization"] = f"Bearer {token}"
        found = _metrics(registry)
        self._rows_metric = None if found is None else found[0]
        self._retries_metric = None if found is None else found[1].labels(model)
        self._sizes = (batch_rows, max_buffer_rows)
        self.reset(wake)

    def reset(self, wake: Callable[[], None]) -> None:
        """Fresh counters and an empty buffer (at start, and in a forked child: the parent sends what it
        buffered before the fork, so the child must not send it again)."""
        self.sent = self.dropped = self.rejected = self.retries = 0
        self.sent_batches = self.dropped_batches = self.rejected_batches = 0
        self._logged: set[str] = set()
        self._count_lock = threading.Lock()
        # Exactly-once on the service: this process's producer id and its batches' numbers (taken at
        # a batch's first send, kept across its retries; next() on a count is atomic under the GIL).
        self.producer_id = uuid.uuid4().hex
        self._sequences = itertools.count()
        self.buffer = Buffer(*self._sizes, wake, self.drop)

    def _once(self, key: str, message: str, *args: object) -> None:
        if key not in self._logged:
            self._logged.add(key)
            _log.warning(message, *args)

    def _count(self, outcome: str, rows: int) -> None:
        if self._rows_metric is not None:
            self._rows_metric.labels(self.model, outcome).inc(rows)

    def record_batch(self, data: Any, request_ids: Any = None) -> None:
        """Normalises and buffers a column batch (with its rows' request ids); bad input is counted as
        rejected and logged once."""
        try:
            cols, n = columns_of_frame(data, self.kinds)
            if request_ids is not None:
                cols[REQUEST_IDS] = request_id_column(request_ids, n)
        except Exception as exc:  # never raise into the caller's request path
            self.bad_input("record_batch", exc)
            return
        if n:
            self.buffer.add_columns(cols, n)

    def bad_input(self, where: str, exc: Exception) -> None:
        """Counts input that could not be buffered (one rejected batch) and logs the first of each kind."""
        with self._count_lock:
            self.rejected_batches += 1
        self._once(f"{where}:{type(exc).__name__}", "mlmon client: %s() ignored its input: %s", where, exc)

    def drop(self, batch: Batch) -> None:
        """Counts a batch that will never be sent (buffer full, or still unsent at close)."""
        with self._count_lock:
            self.dropped += batch.n
            self.dropped_batches += 1
        self._count("dropped", batch.n)
        self._once(
            "drop",
            "mlmon client: buffer full or service unreachable: dropping the oldest batches "
            "(see the dropped counter)",
        )

    def reject(self, batch: Batch, key: str, message: str, *args: object) -> None:
        """Counts a batch the service will never accept; logs the first of each kind."""
        with self._count_lock:
            self.rejected += batch.n
            self.rejected_batches += 1
        self._count("rejected", batch.n)
        self._once(key, message, *args)

    def body(self, batch: Batch) -> bytes | None:
        """The batch's body, or ``None`` (counted as rejected) when its values cannot be encoded."""
        try:
            return batch.encode(self.version, self.kinds, self.producer_id, self._sequences.__next__)
        except Exception as exc:  # a bad value must cost its batch, never the sender
            key = f"encode:{type(exc).__name__}"
            self.reject(batch, key, "mlmon client: a batch could not be encoded: %s", exc)
            return None

    def send_timeout(self, batch: Batch, deadline: float) -> float | None:
        """The timeout for the next send of ``batch``: ``timeout``, cut to what is left before the
        close ``deadline``; ``None`` (the batch counted as dropped) once the deadline has passed."""
        left = deadline - time.monotonic()
        if left <= 0:
            self.drop(batch)
            return None
        return min(self.timeout, left)

    def outcome(self, batch: Batch, status: int, headers: Mapping[str, str], text: str) -> float | None:
        """What a response means: ``None`` when the batch is done (sent or rejected), else the delay
        before retrying it."""
        if 200 <= status < 300:
            with self._count_lock:
                self.sent += batch.n
                self.sent_batches += 1
            self._count("sent", batch.n)
            return None
        # 408: the service cut a slow request before counting it (its header/body deadline).
        if status in (408, 429) or status >= 500:
            return self._retry(batch, retry_after(headers.get("retry-after")))
        self.reject(
            batch,
            f"status:{status}",
            "mlmon client: the drift service refused a batch for model %s with HTTP %s (not retried): %s",
            self.model,
            status,
            text[:300],
        )
        return None

    def network_error(self, batch: Batch, exc: Exception) -> float:
        """The delay before retrying after a connection error or timeout."""
        self._once(
            f"net:{type(exc).__name__}",
            "mlmon client: cannot reach the drift service (%s: %s); retrying",
            type(exc).__name__,
            exc,
        )
        return self._retry(batch, None)

    def _retry(self, batch: Batch, hinted: float | None) -> float:
        batch.attempts += 1
        with self._count_lock:
            self.retries += 1
        if self._retries_metric is not None:
            self._retries_metric.inc()
        return hinted if hinted is not None else backoff(batch.attempts - 1)
