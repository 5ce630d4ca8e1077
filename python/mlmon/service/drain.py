"""Pre-stop drain: on SIGTERM a worker first turns ``/readyz`` to 503 and keeps serving for
``drain_seconds``, and only then lets the server stop accepting, finish requests and commit.

Uvicorn closes the listening socket as soon as it sees SIGTERM, so a load balancer still sending traffic
would get refused connections instead of an unready probe. The handler installed here sits in front of
the server's own: the first SIGTERM marks the worker unready and hands the signal on after the drain
window; SIGINT stops at once, and a repeated SIGTERM (the multi-worker supervisor sends its own after
forwarding the first, see :mod:`mlmon.service.server`) does not cut the window short.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

__all__ = ["install_drain"]

_log = logging.getLogger("mlmon.service")


def install_drain(seconds: float, on_unready: Callable[[], None]) -> bool:
    """Puts a drain window in front of the current SIGTERM handler (the server's).

    Must run on the main thread's event loop after the server installed its handlers (the app's
    startup hook is such a place). Elsewhere (a test client's thread) it does nothing.

    Args:
        seconds: How long to stay up, unready, before the server starts its shutdown (0: no window).
        on_unready: Called at the first SIGTERM (marks the worker unready).

    Returns:
        Whether the handler was installed.
    """
    if threading.current_thread() is not threading.main_thread():
        return False
    loop = asyncio.get_running_loop()
    previous: Any = signal.getsignal(signal.SIGTERM)
    signalled = False

    def forward(sig: int, frame: FrameType | None) -> None:
        if callable(previous):
            previous(sig, frame)
        else:  # no server handler underneath (SIG_DFL): end as the signal would
            raise SystemExit(0)

    def handle(sig: int, frame: FrameType | None) -> None:
        nonlocal signalled
        if signalled:  # already draining: the shutdown is scheduled
            return
        signalled = True
        on_unready()
        _log.info("SIGTERM: unready, draining for %.1f s before shutdown", seconds)
        # The handler runs between bytecodes of the loop's thread: schedule, do not block.
        loop.call_soon_threadsafe(loop.call_later, max(0.0, seconds), forward, sig, None)

    signal.signal(signal.SIGTERM, handle)
    return True
