"""Store calls from the event loop: in a worker thread, under a deadline.

A hung database (no RST, no answer) must cost a 503, not a request held until the database wakes; the
stuck thread is abandoned (the store's own timeouts end it later).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread

from mlmon.store import StoreUnavailableError

__all__ = ["bounded"]

READ_TIMEOUT = 5.0
T = TypeVar("T")


async def bounded(fn: Callable[..., T], *args: object, timeout: float = READ_TIMEOUT) -> T:
    """Runs a store call in a thread, given up after ``timeout`` seconds.

    Args:
        fn: The store method.
        *args: Its arguments.
        timeout: Seconds to wait.

    Returns:
        What ``fn`` returned.

    Raises:
        StoreUnavailableError: the store did not answer in time (503).
    """
    try:
        with anyio.fail_after(timeout):
            return await anyio.to_thread.run_sync(functools.partial(fn, *args), abandon_on_cancel=True)
    except TimeoutError as exc:
        raise StoreUnavailableError(f"the store did not answer within {timeout:g} s") from exc
