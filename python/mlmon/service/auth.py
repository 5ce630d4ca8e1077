"""Bearer-token auth: per-model ingest tokens and one admin token, kept only as SHA-256 digests and
compared with ``hmac.compare_digest``. The ``Authorization`` header is never logged.

The routes do not call it: the guards of :mod:`mlmon.service.guards` do, and the listing scope comes
from the ``scope`` dependency (:mod:`mlmon.service.deps`). With no token configured, auth is off
(allowed only on loopback or with ``--insecure``; see
:meth:`mlmon.service.settings.Settings.check_startup`).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from mlmon._http.tokens import presented_digest, token_digest

__all__ = ["Auth"]


def _invalid() -> NotAuthorizedException:
    return NotAuthorizedException("invalid token", headers={"WWW-Authenticate": "Bearer"})


class Auth:
    """Checks bearer tokens against configured digests.

    Args:
        admin_token: The admin token or ``sha256:<hex>`` (``None``: no admin).
        ingest_tokens: Model name to its ingest token (or digest).
    """

    def __init__(self, admin_token: str | None, ingest_tokens: Mapping[str, str]) -> None:
        self._admin = token_digest(admin_token) if admin_token else None
        self._models = {model: token_digest(token) for model, token in ingest_tokens.items()}
        self.enabled = self._admin is not None or bool(self._models)

    def _is_admin(self, digest: bytes) -> bool:
        return self._admin is not None and hmac.compare_digest(digest, self._admin)

    def _models_of(self, digest: bytes) -> set[str]:
        # Compare against every digest (no early exit) so timing says nothing about which matched.
        return {m for m, d in self._models.items() if hmac.compare_digest(digest, d)}

    def require_admin(self, authorization: str | None) -> None:
        """Passes for the admin token.

        Raises:
            NotAuthorizedException: no or unknown token (401).
            PermissionDeniedException: a valid ingest token (403).
        """
        if not self.enabled:
            return
        digest = presented_digest(authorization)
        if self._is_admin(digest):
            return
        if self._models_of(digest):
            raise PermissionDeniedException("this endpoint needs the admin token")
        raise _invalid()

    def require_model(self, authorization: str | None, model: str) -> None:
        """Passes for the admin token or the model's own ingest token.

        Raises:
            NotAuthorizedException: no or unknown token (401).
            PermissionDeniedException: another model's token (403).
        """
        if not self.enabled:
            return
        digest = presented_digest(authorization)
        if self._is_admin(digest):
            return
        models = self._models_of(digest)
        if model in models:
            return
        if models:
            raise PermissionDeniedException(f"this token may not access model {model!r}")
        raise _invalid()

    def readable(self, authorization: str | None) -> frozenset[str] | None:
        """The models a token may read, for the listings across models.

        Returns:
            ``None`` for every model (the admin token, or auth off), else the models of the ingest token.

        Raises:
            NotAuthorizedException: no or unknown token (401).
        """
        if not self.enabled:
            return None
        digest = presented_digest(authorization)
        if self._is_admin(digest):
            return None
        models = self._models_of(digest)
        if not models:
            raise _invalid()
        return frozenset(models)
