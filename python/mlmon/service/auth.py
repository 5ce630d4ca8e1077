"""Bearer-token auth: per-model ingest tokens and one admin token, kept only as SHA-256 digests and
compared with ``hmac.compare_digest``. The ``Authorization`` header is never logged.

With no token configured, auth is off (allowed only on loopback or with ``--insecure``; see
:meth:`mlmon.service.settings.Settings.check_startup`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

__all__ = ["Auth"]

_PREFIX = "sha256:"


def _digest(token: str) -> bytes:
    # A configured value "sha256:<hex>" is already a digest: the plaintext need not sit in the environment.
    if token.startswith(_PREFIX):
        return bytes.fromhex(token[len(_PREFIX) :])
    return hashlib.sha256(token.encode()).digest()


class Auth:
    """Checks bearer tokens against configured digests.

    Args:
        admin_token: The admin token or ``sha256:<hex>`` (``None``: no admin).
        ingest_tokens: Model name to its ingest token (or digest).
    """

    def __init__(self, admin_token: str | None, ingest_tokens: Mapping[str, str]) -> None:
        self._admin = _digest(admin_token) if admin_token else None
        self._models = {model: _digest(token) for model, token in ingest_tokens.items()}
        self.enabled = self._admin is not None or bool(self._models)

    @staticmethod
    def _presented(authorization: str | None) -> bytes:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException("a bearer token is required", headers={"WWW-Authenticate": "Bearer"})
        return hashlib.sha256(token.strip().encode()).digest()

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
        digest = self._presented(authorization)
        if self._is_admin(digest):
            return
        if self._models_of(digest):
            raise PermissionDeniedException("this endpoint needs the admin token")
        raise NotAuthorizedException("invalid token", headers={"WWW-Authenticate": "Bearer"})

    def require_model(self, authorization: str | None, model: str) -> None:
        """Passes for the admin token or the model's own ingest token.

        Raises:
            NotAuthorizedException: no or unknown token (401).
            PermissionDeniedException: another model's token (403).
        """
        if not self.enabled:
            return
        digest = self._presented(authorization)
        if self._is_admin(digest):
            return
        models = self._models_of(digest)
        if model in models:
            return
        if models:
            raise PermissionDeniedException(f"this token may not access model {model!r}")
        raise NotAuthorizedException("invalid token", headers={"WWW-Authenticate": "Bearer"})

    def readable(self, authorization: str | None) -> frozenset[str] | None:
        """The models a token may read, for the listings across models.

        Returns:
            ``None`` for every model (the admin token, or auth off), else the models of the ingest token.

        Raises:
            NotAuthorizedException: no or unknown token (401).
        """
        if not self.enabled:
            return None
        digest = self._presented(authorization)
        if self._is_admin(digest):
            return None
        models = self._models_of(digest)
        if not models:
            raise NotAuthorizedException("invalid token", headers={"WWW-Authenticate": "Bearer"})
        return frozenset(models)
