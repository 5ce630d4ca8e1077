"""The production API's guard: the admin token for ``PUT /admin/model`` (401 without a bearer token,
403 for a wrong one; compared as digests with ``hmac.compare_digest``). No token configured: open
(allowed only on loopback or with ``--insecure``, see ``ServingSettings.check_startup``)."""

from __future__ import annotations

import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from mlmon._http.tokens import presented_digest, token_digest

__all__ = ["admin_digest", "admin_only"]


def admin_digest(token: str | None) -> bytes | None:
    """The configured admin token as a sha256 digest (``sha256:<hex>`` is taken as the digest itself)."""
    return token_digest(token) if token else None


async def admin_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Passes for the admin token (or when none is configured).

    Raises:
        NotAuthorizedException: no bearer token (401).
        PermissionDeniedException: another token (403).
    """
    digest: bytes | None = connection.app.state.admin_digest  # computed once, by create_app
    if digest is None:
        return
    if not hmac.compare_digest(presented_digest(connection.headers.get("authorization")), digest):
        raise PermissionDeniedException("invalid admin token")
