"""What the thread and asyncio clients share above :class:`ClientCore`: the constructor, recording,
the counters and the plan for a wait between retries.

Only how a flavour waits and sends differs (a thread with ``httpx.Client``, or a task with
``httpx.AsyncClient``); each flavour implements :meth:`ClientBase._wake_sender` (called by the buffer
when a batch is sealed) and :meth:`ClientBase._setup` (called once the core exists).
"""

from __future__ import annotations

import abc
import time
from collections.abc import Mapping
from typing import Any

from mlmon.client._buffer import Batch
from mlmon.client._columns import REQUEST_IDS, Kind, request_id_column
from mlmon.client._core import ClientCore

__all__ = ["ClientBase", "rest"]


def rest(deadline: float, until: float) -> tuple[float, bool]:
    """What is left of a wait between retries once the client is closing: the seconds still to sleep
    and whether the batch may be tried again (``False`` when the close deadline comes first)."""
    if deadline <= until:
        return max(0.0, deadline - time.monotonic()), False
    return max(0.0, until - time.monotonic()), True


class ClientBase(abc.ABC):
    """The arguments, recording and counters of :class:`mlmon.client.DriftClient` and
    :class:`mlmon.client.AsyncDriftClient`; see :class:`mlmon.client.DriftClient` for the arguments.

    Raises:
        InputError: an invalid model or version name, URL or size.
    """

    _closed: bool

    def __init__(
        self,
        url: str,
        model: str,
        *,
        version: str | None = None,
        token: str | None = None,
        batch_rows: int = 1000,
        flush_interval: float = 1.0,
        max_buffer_rows: int = 100_000,
        kinds: Mapping[str, Kind] | None = None,
        timeout: float = 10.0,
        close_timeout: float = 5.0,
        registry: Any = None,
    ) -> None:
        self._core = ClientCore(
            url,
            model,
            version=version,
            token=token,
            batch_rows=batch_rows,
            flush_interval=flush_interval,
            max_buffer_rows=max_buffer_rows,
            kinds=kinds,
            timeout=timeout,
            close_timeout=close_timeout,
            registry=registry,
            wake=self._wake_sender,
        )
        self._closed = False
        self._add = self._core.buffer.add_row  # bound once: record() is on the caller's hot path
        self._setup()

    @abc.abstractmethod
    def _setup(self) -> None:
        """Starts (or prepares) the flavour's sender; runs once at the end of ``__init__``."""

    @abc.abstractmethod
    def _wake_sender(self) -> None:
        """Tells the sender a batch is sealed (from any thread)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._core.endpoint!r}, version={self._core.version!r})"

    def record(self, row: Mapping[str, Any], request_id: str | None = None) -> None:
        """Buffers one row ``{feature: value}`` (copied, so the caller may reuse the dict). Never raises.

        Args:
            row: Feature values (and the model's outputs: ``prediction``, ``proba_<class>``); ``None``
                or NaN means missing, an absent feature is missing too.
            request_id: The id the row's label will come back under (:meth:`send_labels`), if any.
        """
        if self._closed:
            self._core.drop(Batch(1, 0.0))
            return
        try:
            values = dict(row)
            if request_id is not None:
                values[REQUEST_IDS] = request_id_column([request_id], 1).values[0]
            self._add(values)
        except Exception as exc:  # not a mapping: nothing to buffer, and the caller must not see an error
            self._core.bad_input("record", exc)

    def record_batch(self, columns: Any, request_ids: Any = None) -> None:
        """Buffers a column batch: a pandas DataFrame or ``{feature: 1-D array or list}``. Never raises;
        an unreadable batch is logged once and counted in :attr:`rejected_batches`.

        Args:
            columns: The batch (features and the model's outputs).
            request_ids: One id per row (``None`` for a row nobody will label): the service keeps the
                rows' outputs so that their labels, sent later with :meth:`send_labels`, are joined.
        """
        if self._closed:
            self._core.bad_input("record_batch", RuntimeError("the client is closed"))
            return
        self._core.record_batch(columns, request_ids)

    @property
    def dropped(self) -> int:
        """Rows dropped: the buffer was full, or they were still unsent when the client closed."""
        return self._core.dropped

    @property
    def sent(self) -> int:
        """Rows the service acknowledged."""
        return self._core.sent

    @property
    def rejected(self) -> int:
        """Rows the service refused with a final 4xx, or whose values could not be encoded."""
        return self._core.rejected

    @property
    def rejected_batches(self) -> int:
        """Batches refused or unreadable (including column batches :meth:`record_batch` could not read)."""
        return self._core.rejected_batches

    @property
    def retries(self) -> int:
        """Sends retried after a 429, 5xx or network error."""
        return self._core.retries

    @property
    def buffered(self) -> int:
        """Rows waiting to be sent (not counting a batch being sent now)."""
        return self._core.buffer.buffered
