"""The worker's in-flight byte budget: the bytes of the ingest bodies being read and processed at once.

A request reserves its size before its body is read (stage 1, :mod:`.negotiate` says how many
bytes), so a burst of large bodies is refused with a 429 instead of exhausting memory; a draining
worker refuses every new batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from mlmon._http.errors import OverloadedError

__all__ = ["InflightBudget"]


class InflightBudget:
    """Counts the bytes in flight against a limit.

    Args:
        limit: Bytes allowed in flight (one request is always let in, whatever its size).
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._inflight = 0
        self.closed = False

    def close(self) -> None:
        """Refuses every later reservation (the worker is draining)."""
        self.closed = True

    @contextmanager
    def reserve(self, size: int) -> Iterator[None]:
        """Holds ``size`` bytes of the budget while a body is read and processed.

        Raises:
            OverloadedError: the budget is spent (429 before the body is read) or the worker is draining.
        """
        if self.closed:
            raise OverloadedError("the service is shutting down")
        if self._inflight and self._inflight + size > self._limit:
            raise OverloadedError("too many bytes in flight; retry after the Retry-After delay")
        self._inflight += size
        try:
            yield
        finally:
            self._inflight -= size
