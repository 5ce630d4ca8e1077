"""The asyncio flavour: :class:`AsyncDriftClient` sends from a task on the caller's event loop.

Recording is the same O(1) append as the thread flavour; encoding a batch runs in a worker thread
(``asyncio.to_thread``) so a big batch never stalls the loop. When the loop is gone before
:meth:`AsyncDriftClient.aclose` ran (``asyncio.run`` returned), the interpreter-exit hook sends what is
left, the batch that was in flight included (same producer sequence: a duplicate is counted once), with a
plain ``httpx.Client``.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import logging
import math
import threading
import time
import weakref
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import httpx

from mlmon.client._base import ClientBase, rest
from mlmon.client._buffer import Batch
from mlmon.client._labels import ATTEMPTS, LabelReceipt, LabelSend
from mlmon.client._sync import Sender

__all__ = ["AsyncDriftClient"]

_log = logging.getLogger("mlmon.client")


def _close_at_exit(ref: weakref.ref[Any]) -> None:
    client = ref()
    if client is not None:
        client.close_sync()


class AsyncDriftClient(ClientBase):
    """The asyncio flavour of :class:`mlmon.client.DriftClient`: same arguments, counters and
    guarantees; the sender is a task on the running event loop.

    Start it with ``async with AsyncDriftClient(...)`` or :meth:`start` (the first :meth:`record` on a
    running loop also starts it) and stop it with :meth:`aclose`. :meth:`record` and
    :meth:`record_batch` may be called from the loop or from worker threads.

    Example:
        >>> import asyncio
        >>> from mlmon.client import AsyncDriftClient
        >>> async def main() -> int:
        ...     async with AsyncDriftClient("http://127.0.0.1:9", "churn", close_timeout=0.2) as client:
        ...         client.record({"age": 42.0, "plan": "pro"})
        ...     return client.dropped  # nothing listens on port 9
        >>> asyncio.run(main())
        1
    """

    def _setup(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._wake = asyncio.Event()
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._http: httpx.AsyncClient | None = None
        self._inflight: Batch | None = None
        self._deadline = math.inf
        self._atexit = functools.partial(_close_at_exit, weakref.ref(self))
        atexit.register(self._atexit)

    def start(self) -> None:
        """Starts the sender task on the running loop (idempotent).

        Raises:
            RuntimeError: no event loop is running in this thread.
        """
        if self._task is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._http = httpx.AsyncClient(follow_redirects=False, timeout=self._core.timeout)
        self._task = self._loop.create_task(self._run(), name=f"mlmon-client-{self._core.model}")

    def _wake_sender(self) -> None:
        loop = self._loop
        if loop is None:
            return
        if threading.get_ident() == self._loop_thread:
            self._wake.set()
            return
        # A closed loop raises RuntimeError: then the exit hook sends the rest.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._wake.set)

    def record(self, row: Mapping[str, Any], request_id: str | None = None) -> None:
        """Buffers one row ``{feature: value}`` (copied), with the id its label will come under. Never
        raises."""
        if self._task is None:
            self._autostart()
        super().record(row, request_id)

    def record_batch(self, columns: Any, request_ids: Any = None) -> None:
        """Buffers a column batch (a pandas DataFrame or ``{feature: 1-D array or list}``), with one
        request id per row if given. Never raises."""
        if self._task is None:
            self._autostart()
        super().record_batch(columns, request_ids)

    async def send_labels(self, request_ids: Any, labels: Any, *, version: str | None = None) -> LabelReceipt:
        """Sends true values by request id and waits for the join; see
        :meth:`mlmon.client.DriftClient.send_labels`."""
        core = self._core
        send = LabelSend(core.labels_endpoint, core.headers, request_ids, labels, version or core.version)
        async with httpx.AsyncClient(follow_redirects=False, timeout=core.timeout) as http:
            for attempt in range(ATTEMPTS):
                try:
                    r = await http.post(send.url, content=send.body, headers=send.headers)
                    step = send.answer(attempt, r.status_code, r.content, r.headers.get("retry-after"))
                except httpx.HTTPError as exc:
                    step = send.failed(attempt, exc)
                if isinstance(step, LabelReceipt):
                    return step
                if attempt + 1 < ATTEMPTS:
                    await asyncio.sleep(step)
        raise send.undelivered()

    def _autostart(self) -> None:
        if self._closed:
            return
        # No running loop here (a worker thread): start()/aclose() on the loop starts it later.
        with contextlib.suppress(RuntimeError):
            self.start()

    async def flush(self, timeout: float = 10.0) -> bool:
        """Sends what is buffered and waits for it. Returns whether that finished within ``timeout``."""
        self.start()
        self._core.buffer.seal()
        self._wake.set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._core.buffer.buffered == 0 and self._inflight is None:
                return True
            await asyncio.sleep(0.01)
        return False

    async def aclose(self, timeout: float | None = None) -> None:
        """Sends what is left (for up to ``timeout``, default ``close_timeout``, seconds) and stops the
        task; rows still unsent then are counted as dropped. Idempotent."""
        if self._closed:
            return
        self.start()
        self._closed = True
        atexit.unregister(self._atexit)
        wait = self._core.close_timeout if timeout is None else timeout
        self._deadline = time.monotonic() + wait
        self._closing.set()
        self._wake.set()
        assert self._task is not None and self._http is not None
        try:
            await asyncio.wait_for(asyncio.shield(self._task), wait + 1.0)
        except asyncio.TimeoutError:  # pragma: no cover - every wait in the task is bounded by the deadline
            _log.warning("mlmon client: the sender task did not stop within %.1f s", wait)
        await self._http.aclose()

    def close_sync(self) -> None:
        """Sends what is left without an event loop (the interpreter-exit hook; also for a loop that
        stopped before :meth:`aclose`)."""
        if self._closed:
            return
        self._closed = True
        closing = threading.Event()
        closing.set()
        with httpx.Client(follow_redirects=False, timeout=self._core.timeout) as http:
            sender = Sender(self._core, http, closing)
            sender.deadline = time.monotonic() + self._core.close_timeout
            inflight, self._inflight = self._inflight, None
            if inflight is not None:
                sender.deliver(inflight)
            self._core.buffer.seal()
            sender.drain()

    async def __aenter__(self) -> AsyncDriftClient:
        self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _run(self) -> None:
        core = self._core
        while not self._closing.is_set():
            self._wake.clear()
            wait = core.buffer.seal_due(core.flush_interval)
            await self._drain()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
        core.buffer.seal()
        await self._drain()

    async def _drain(self) -> None:
        while (batch := self._core.buffer.pop()) is not None:
            self._inflight = batch
            await self._deliver(batch)
            self._inflight = None

    async def _deliver(self, batch: Batch) -> None:
        core, http = self._core, self._http
        assert http is not None
        body = await asyncio.to_thread(core.body, batch)
        if body is None:
            return
        while True:
            timeout = core.send_timeout(batch, self._deadline)
            if timeout is None:
                return
            try:
                r = await http.post(core.endpoint, content=body, headers=core.headers, timeout=timeout)
                delay = core.outcome(batch, r.status_code, r.headers, r.text)
            except httpx.HTTPError as exc:
                delay = core.network_error(batch, exc)
            if delay is None:
                return
            if not await self._sleep(delay):
                core.drop(batch)
                return

    async def _sleep(self, delay: float) -> bool:
        until = time.monotonic() + delay
        if not self._closing.is_set():
            try:
                await asyncio.wait_for(self._closing.wait(), delay)
            except asyncio.TimeoutError:
                return True
        seconds, again = rest(self._deadline, until)
        await asyncio.sleep(seconds)
        return again
