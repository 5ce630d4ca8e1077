"""What the two HTTP apps share (the drift service :mod:`mlmon.service` and the production API
:mod:`mlmon.serving`): one family of HTTP error classes with the one ``exception_handlers`` mapping
(:mod:`._http.errors`), and bearer-token digests (:mod:`._http.tokens`).

Private: the apps import it; user code reaches the classes through the apps' modules. It imports no
app module, so neither app depends on the other.
"""

from mlmon._http.errors import (
    BadRequestError,
    OverloadedError,
    UnsupportedMediaError,
    error_response,
    exception_handlers,
)
from mlmon._http.tokens import presented_digest, token_digest

__all__ = [
    "BadRequestError",
    "OverloadedError",
    "UnsupportedMediaError",
    "error_response",
    "exception_handlers",
    "presented_digest",
    "token_digest",
]
