"""The thread flavour: :class:`DriftClient` buffers on the caller's thread and sends on its own.

A daemon thread seals batches by age, sends them with ``httpx.Client`` and sleeps between retries; the
caller's thread only appends. ``close()`` (also run at interpreter exit) seals the open rows and keeps
sending until the queue is empty or ``close_timeout`` has passed; whatever is still unsent then is
counted as dropped, never silently lost.
"""

from __future__ import annotations

import atexit
import functools
import logging
import math
import os
import threading
import time
import weakref
from types import TracebackType
from typing import Any

import httpx

from mlmon.client._base import ClientBase, rest
from mlmon.client._buffer import Batch
from mlmon.client._core import ClientCore
from mlmon.client._labels import ATTEMPTS, LabelReceipt, LabelSend

__all__ = ["DriftClient", "Sender"]

_log = logging.getLogger("mlmon.client")


class Sender:
    """Sends batches with retries on the calling thread, bounded by a close deadline.

    Args:
        core: The client's shared state.
        http: The HTTP client (no redirects followed).
        closing: Set when the client closes: from then on waits end at ``deadline()``.
    """

    def __init__(self, core: ClientCore, http: httpx.Client, closing: threading.Event) -> None:
        self.core, self.http, self.closing = core, http, closing
        self.deadline = math.inf
        self.busy = False

    def drain(self) -> None:
        """Sends every sealed batch, oldest first."""
        while True:
            # busy goes up before the pop, so flush() never sees an empty queue and an idle sender
            # while a batch is between the two.
            self.busy = True
            try:
                batch = self.core.buffer.pop()
                if batch is None:
                    return
                self.deliver(batch)
            finally:
                self.busy = False

    def deliver(self, batch: Batch) -> None:
        """Sends one batch until it is accepted, rejected, or the close deadline passes (dropped)."""
        core = self.core
        body = core.body(batch)
        if body is None:
            return
        while True:
            timeout = core.send_timeout(batch, self.deadline)
            if timeout is None:
                return
            try:
                r = self.http.post(core.endpoint, content=body, headers=core.headers, timeout=timeout)
                delay = core.outcome(batch, r.status_code, r.headers, r.text)
            except httpx.HTTPError as exc:
                delay = core.network_error(batch, exc)
            if delay is None:
                return
            if not self._sleep(delay):
                core.drop(batch)
                return

    def _sleep(self, delay: float) -> bool:
        """Waits ``delay`` seconds; a close cuts the wait to the deadline. False when the deadline
        comes first."""
        until = time.monotonic() + delay
        if not self.closing.is_set() and not self.closing.wait(delay):
            return True
        seconds, again = rest(self.deadline, until)
        time.sleep(seconds)
        return again


def _close_at_exit(ref: weakref.ref[Any]) -> None:
    client = ref()
    if client is not None:
        client.close()


def _restart_in_child(ref: weakref.ref[Any]) -> None:
    client = ref()
    if client is not None:
        client._after_fork()


class DriftClient(ClientBase):
    """Sends the features a production API scores to the drift service, without slowing it down.

    :meth:`record` appends a row to an in-memory buffer and returns; a background thread sends batches
    of ``batch_rows`` rows, or whatever is buffered once the oldest row is ``flush_interval`` seconds
    old, as msgpack with binary numeric columns to ``POST {url}/v1/models/{model}/ingest``. 429, 5xx and
    network errors are retried with the same producer sequence (``Retry-After`` honoured, else jittered
    exponential backoff); other 4xx are final and counted in :attr:`rejected`. When more than
    ``max_buffer_rows`` rows wait, the oldest batches are dropped and counted in :attr:`dropped` (and in
    the ``mlmon_client_rows_total{outcome="dropped"}`` counter when prometheus_client is installed).
    Nothing here raises into the caller after construction. :meth:`close` (also called at interpreter
    exit) sends what is left.

    Args:
        url: The drift service's base URL, e.g. ``http://127.0.0.1:8000``.
        model: The model name.
        version: The model version (default: the service picks the production version).
        token: The model's ingest token (default: the ``MLMON_INGEST_TOKEN`` environment variable).
        batch_rows: Rows per batch (the size trigger).
        flush_interval: Seconds before buffered rows are sent anyway (the age trigger).
        max_buffer_rows: Most rows kept waiting in sealed batches while the service is slow or down;
            with the open rows and the batch being sent, memory holds at most
            ``max_buffer_rows + 2 * batch_rows`` rows.
        kinds: ``{feature: "numerical" | "categorical"}`` where inference from Python types would be
            wrong (integer category codes, say); by default a feature whose values are all real numbers
            is numerical, any other categorical.
        timeout: Seconds per HTTP request.
        close_timeout: Seconds :meth:`close` keeps trying to send what is left.
        registry: The prometheus_client registry for the counters (default: the global one).

    Raises:
        InputError: an invalid model or version name, URL or size.

    Example:
        >>> from mlmon.client import DriftClient
        >>> client = DriftClient("http://127.0.0.1:9", "churn", version="v1", close_timeout=0.2)
        >>> client.record({"age": 42.0, "plan": "pro"})
        >>> client.record_batch({"age": [31.0, 57.5], "plan": ["free", None]})
        >>> client.buffered
        3
        >>> client.close()  # nothing listens on port 9: the rows are counted as dropped
        >>> client.dropped
        3
    """

    def _setup(self) -> None:
        self._start()
        self._atexit = functools.partial(_close_at_exit, weakref.ref(self))
        atexit.register(self._atexit)
        os.register_at_fork(after_in_child=functools.partial(_restart_in_child, weakref.ref(self)))

    def _start(self) -> None:
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._close_lock = threading.Lock()
        self._add = self._core.buffer.add_row  # the buffer is new after a fork
        self._http = httpx.Client(follow_redirects=False, timeout=self._core.timeout)
        self._sender = Sender(self._core, self._http, self._closing)
        self._thread = threading.Thread(
            target=self._run, name=f"mlmon-client-{self._core.model}", daemon=True
        )
        self._thread.start()

    def _wake_sender(self) -> None:
        self._wake.set()

    def _after_fork(self) -> None:
        # Only the forking thread survives a fork: the sender thread is gone and the locks may be held.
        # A prefork server (gunicorn --preload) forks after the app made its client, so each worker
        # gets its own sender, connection pool and empty buffer.
        if self._closed:
            return
        self._core.reset(self._wake_sender)
        self._start()

    def flush(self, timeout: float = 10.0) -> bool:
        """Sends what is buffered now and waits for it (for tests and batch jobs; a request handler
        should not call it).

        Returns:
            Whether everything was sent (or rejected or dropped) within ``timeout`` seconds.
        """
        self._core.buffer.seal()
        self._wake.set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._core.buffer.buffered == 0 and not self._sender.busy:
                return True
            time.sleep(0.01)
        return False

    def send_labels(self, request_ids: Any, labels: Any, *, version: str | None = None) -> LabelReceipt:
        """Sends true values for rows recorded with these request ids and waits for the join (not
        buffered: for a batch job or a feedback handler, not the scoring path).

        Args:
            request_ids: The ids the rows were recorded under (:meth:`record_batch`).
            labels: The true class (a label of the model's classes) or value of each row.
            version: The version whose classes check the labels (default: this client's, else the
                service's default version).

        Returns:
            What the service joined now (``matched``), had joined before (``duplicates``), or keeps
            waiting for its prediction (``pending``).

        Raises:
            InputError: unequal lengths, no labels, a request id that is not a string.
            LabelsRefusedError: the service refused them (a 4xx with its reason).
            LabelsUndeliveredError: still failing after the retries (sending again is safe).
        """
        core = self._core
        send = LabelSend(core.labels_endpoint, core.headers, request_ids, labels, version or core.version)
        with httpx.Client(follow_redirects=False, timeout=core.timeout) as http:
            for attempt in range(ATTEMPTS):
                try:
                    r = http.post(send.url, content=send.body, headers=send.headers)
                    step = send.answer(attempt, r.status_code, r.content, r.headers.get("retry-after"))
                except httpx.HTTPError as exc:
                    step = send.failed(attempt, exc)
                if isinstance(step, LabelReceipt):
                    return step
                if attempt + 1 < ATTEMPTS:
                    time.sleep(step)
        raise send.undelivered()

    def close(self, timeout: float | None = None) -> None:
        """Sends what is left (for up to ``timeout``, default ``close_timeout``, seconds) and stops.
        Rows still unsent then are counted as dropped. Idempotent; also runs at interpreter exit."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        atexit.unregister(self._atexit)
        wait = self._core.close_timeout if timeout is None else timeout
        self._sender.deadline = time.monotonic() + wait
        self._closing.set()
        self._wake.set()
        self._thread.join(wait + 1.0)
        if self._thread.is_alive():  # pragma: no cover - every wait above is bounded by the deadline
            _log.warning("mlmon client: the sender thread did not stop within %.1f s", wait)
            return
        self._http.close()

    def __enter__(self) -> DriftClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _run(self) -> None:
        sender, core = self._sender, self._core
        while not self._closing.is_set():
            self._wake.clear()
            try:
                wait = core.buffer.seal_due(core.flush_interval)
                sender.drain()
            except Exception:  # pragma: no cover - a bug must not stop delivery for the process's life
                _log.exception("mlmon client: sender error")
                wait = core.flush_interval
            self._wake.wait(wait)
        core.buffer.seal()
        try:
            sender.drain()
        except Exception:  # pragma: no cover
            _log.exception("mlmon client: sender error while closing")
