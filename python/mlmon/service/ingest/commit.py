"""Group commit: batches that arrive together share one store transaction, and each request is answered
only after that transaction commits (a 2xx means durable).

One committer task per worker drains a bounded queue. While a commit runs, new batches queue up and go
into the next one, so under load a commit carries many batches and durability costs one fsync per
group, not per request; idle, a lone batch commits at once with no added wait.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import anyio
import anyio.to_thread

from mlmon.service.errors import BatchConflictError, OverloadedError
from mlmon.store import SEQUENCE_WINDOW, IngestBatch, IngestResult, LabelCounter, Store, StoreUnavailableError

__all__ = ["GroupCommitter", "Outcome", "writer_id"]

Outcome = Literal["accepted", "duplicate"]
_log = logging.getLogger("mlmon.service.commit")


def writer_id() -> str:
    """This process's partial-writer id: host and pid, in the store's name charset."""
    host = re.sub(r"[^A-Za-z0-9_.:-]", "-", socket.gethostname())[:80] or "host"
    return f"{host}-{os.getpid()}"


@dataclass
class _Pending:
    model: str
    version: str
    batch: IngestBatch
    done: asyncio.Future[Outcome] = field(repr=False)
    counter: LabelCounter | None = None


class GroupCommitter:
    """Queues batches and commits them in groups through ``Store.ingest``.

    Args:
        store: The store.
        writer_id: This worker's partial-writer id (partials are per writer; reads merge them).
        max_batches: Most batches in one commit.
        max_queue: Most batches waiting; beyond it :meth:`submit` raises ``OverloadedError`` (429).
        on_commit: Called after each commit with ``(model, version, accepted batches, seconds)``.
        commit_timeout: Seconds a commit may take before its waiters get ``StoreUnavailableError`` (503).
            A hung database (no RST, no answer) would otherwise hold every request forever; the stuck
            thread is abandoned and, if its commit lands later, the client's retry is a duplicate.
    """

    def __init__(
        self,
        store: Store,
        writer_id: str,
        *,
        max_batches: int = 256,
        max_queue: int = 4096,
        on_commit: Callable[[str, str, list[IngestBatch], float], None] | None = None,
        commit_timeout: float = 5.0,
    ) -> None:
        self._store = store
        self._writer_id = writer_id
        self._max_batches = max_batches
        self._max_queue = max_queue
        self._on_commit = on_commit
        self._commit_timeout = commit_timeout
        self._queue: list[_Pending] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def queued(self) -> int:
        """Batches waiting for a commit."""
        return len(self._queue)

    def start(self) -> None:
        """Starts the committer task on the running loop."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="mlmon-group-commit")

    async def stop(self) -> None:
        """Commits everything queued (acknowledged or about to be), then ends the task."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def submit(
        self, model: str, version: str, batch: IngestBatch, counter: LabelCounter | None = None
    ) -> Outcome:
        """Queues a batch and waits until its commit (``counter``: see :meth:`mlmon.store.Store.ingest`).

        Returns:
            ``accepted`` (counted in this commit) or ``duplicate`` (counted before with the same digest).

        Raises:
            OverloadedError: the queue is full or the committer is stopping (nothing was counted).
            BatchConflictError: the id was counted before with different content.
            StoreUnavailableError: the commit failed or its outcome is unknown; a retry is safe.
        """
        if self._stopping or len(self._queue) >= self._max_queue:
            raise OverloadedError("ingest queue is full; retry after the Retry-After delay")
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Outcome] = loop.create_future()
        self._queue.append(_Pending(model, version, batch, done, counter))
        self._wake.set()
        # shield: a client that disconnects must not cancel the commit of a queued batch. The timeout
        # counts from here, so time spent queued behind a stuck commit is bounded too; a batch that
        # commits after its waiter gave up is counted once and its retry is a duplicate. A timer on the
        # loop, not anyio's cancel scope: the scope cost a twentieth of an ingest request's CPU.
        done.add_done_callback(_consume)
        waiter = asyncio.shield(done)
        expired = False

        def expire() -> None:
            nonlocal expired
            expired = True
            waiter.cancel()

        timer = loop.call_later(self._commit_timeout, expire)
        try:
            return await waiter
        except asyncio.CancelledError:
            # The timer's cancellation, unless the request's task was cancelled too (a disconnect in
            # the same loop turn): that one must propagate.
            if expired and not _cancelling():
                raise _unknown(self._commit_timeout) from None
            raise
        finally:
            timer.cancel()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                group, self._queue = self._queue[: self._max_batches], self._queue[self._max_batches :]
                await self._commit(group)
            if self._stopping:
                return

    async def _commit(self, group: list[_Pending]) -> None:
        by_version: dict[tuple[str, str], list[_Pending]] = {}
        for p in group:
            by_version.setdefault((p.model, p.version), []).append(p)
        for (model, version), items in by_version.items():
            # The same id twice in one group goes to the store once; the others follow its outcome.
            primary: dict[str, _Pending] = {}
            followers = [p for p in items if primary.setdefault(p.batch.batch_id, p) is not p]
            started = time.perf_counter()
            # Every batch of one version counts its labels alike: any of their counters serves.
            counter = next((p.counter for p in items if p.counter is not None), None)
            try:
                with anyio.fail_after(self._commit_timeout):
                    result = await anyio.to_thread.run_sync(
                        self._store.ingest,
                        model,
                        version,
                        self._writer_id,
                        [p.batch for p in primary.values()],
                        counter,
                        abandon_on_cancel=True,
                    )
            except TimeoutError:
                _log.warning("group commit of %d batches timed out", len(items))
                for p in items:
                    _fail(p, _unknown(self._commit_timeout))
                continue
            except Exception as exc:  # every waiter gets the same error: 503 for outages, 500 for bugs
                _log.warning("group commit of %d batches failed: %s", len(items), type(exc).__name__)
                for p in items:
                    _fail(p, exc)
                continue
            _resolve(list(primary.values()), result)
            for p in followers:
                _follow(p, primary[p.batch.batch_id])
            if self._on_commit is not None:
                accepted = set(result.accepted)
                batches = [p.batch for p in primary.values() if p.batch.batch_id in accepted]
                self._on_commit(model, version, batches, time.perf_counter() - started)


def _cancelling() -> bool:
    """Whether the current task has a cancellation pending (``Task.cancelling``, Python >= 3.11)."""
    cancelling = getattr(asyncio.current_task(), "cancelling", None)
    return bool(cancelling is not None and cancelling())


def _unknown(seconds: float) -> StoreUnavailableError:
    return StoreUnavailableError(
        f"the store did not answer within {seconds:g} s; the commit's outcome is unknown: "
        "retry with the same batch_id"
    )


def _consume(done: asyncio.Future[Outcome]) -> None:
    # Marks an exception as retrieved when the waiter timed out before it was set (no log noise).
    if not done.cancelled():
        done.exception()


def _fail(p: _Pending, exc: BaseException) -> None:
    if not p.done.done():
        p.done.set_exception(exc)


def _conflict(batch_id: str) -> BatchConflictError:
    return BatchConflictError(f"batch_id {batch_id!r} was already ingested with other content")


def _out_of_order(batch: IngestBatch) -> BatchConflictError:
    return BatchConflictError(
        f"sequence {batch.sequence} of producer {batch.producer_id!r} is outside the {SEQUENCE_WINDOW} "
        "sequences the service remembers around that producer's highest committed one (a gap or a late "
        "retry); it was not counted: send it under a new producer_id"
    )


def _resolve(items: list[_Pending], result: IngestResult) -> None:
    accepted, duplicates = set(result.accepted), set(result.duplicates)
    out_of_order = set(result.out_of_order)
    for p in items:
        bid = p.batch.batch_id
        if p.done.done():
            continue
        if bid in accepted:
            p.done.set_result("accepted")
        elif bid in duplicates:
            p.done.set_result("duplicate")
        elif bid in out_of_order:
            p.done.set_exception(_out_of_order(p.batch))
        else:
            p.done.set_exception(_conflict(bid))


def _follow(p: _Pending, first: _Pending) -> None:
    exc = first.done.exception()
    if exc is not None and not isinstance(exc, BatchConflictError):
        _fail(p, exc)
    elif exc is None and p.batch.digest == first.batch.digest:
        p.done.set_result("duplicate")
    else:  # differs from the batch the first one counted, or the first was itself a conflict
        _fail(p, _conflict(p.batch.batch_id))
