"""Counts refused ingest requests under their reason (``mlmon_batches_rejected_total``).

It runs as an app ``after_exception`` hook rather than inside the write path, so it sees every
refusal of the ingest route (the auth guard's 401/403, the 413 of the body limit) and the path itself
holds no ``try``/``except``. Only handlers marked with :data:`COUNT_REJECTS` in their ``opt`` count.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from litestar.types import Scope

from mlmon._http.errors import BadRequestError, OverloadedError, UnsupportedMediaError
from mlmon.service.metrics import Metrics
from mlmon.store import ConflictError, NotFoundError, StoreUnavailableError

__all__ = ["COUNT_REJECTS", "reason", "rejects_hook"]

COUNT_REJECTS = "count_rejects"
"""The ``opt`` key of a handler whose refusals are counted."""

_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (BadRequestError, "malformed"),
    (UnsupportedMediaError, "media_type"),
    (NotFoundError, "not_found"),
    (ConflictError, "conflict"),
    (OverloadedError, "overloaded"),
    (StoreUnavailableError, "unavailable"),
    (ValueError, "invalid"),
)


def reason(exc: BaseException) -> str:
    """The label of a refusal: its error class, or ``http_<status>`` for Litestar's own 4xx."""
    name = next((name for cls, name in _REASONS if isinstance(exc, cls)), "error")
    status = getattr(exc, "status_code", None)
    if status == 413:
        return "too_large"
    if isinstance(status, int) and 400 <= status < 500:
        return f"http_{status}"
    return name


def rejects_hook(metrics: Metrics) -> Callable[[Exception, Scope], Awaitable[None]]:
    """The ``after_exception`` hook counting the refusals of the marked handlers into ``metrics``."""

    async def count(exc: Exception, scope: Scope) -> None:
        handler = scope.get("route_handler")
        if handler is not None and handler.opt.get(COUNT_REJECTS):
            metrics.rejected.labels(reason(exc)).inc()

    return count
