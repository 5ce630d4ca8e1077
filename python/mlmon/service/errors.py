"""The service's HTTP errors: the family both apps share (:mod:`mlmon._http.errors`, re-exported here
under the names the service has always had) plus the write path's own ``BatchConflictError``.

Every status and body comes from the shared ``exception_handlers`` mapping; handlers hold no
``try``/``except``.
"""

from __future__ import annotations

from mlmon._http.errors import BadRequestError, OverloadedError, UnsupportedMediaError, exception_handlers
from mlmon.store import ConflictError

__all__ = [
    "BadRequestError",
    "BatchConflictError",
    "OverloadedError",
    "UnsupportedMediaError",
    "exception_handlers",
]


class BatchConflictError(ConflictError):
    """A batch id already counted with different content (409)."""
