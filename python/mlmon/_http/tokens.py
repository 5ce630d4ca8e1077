"""Bearer tokens as SHA-256 digests, for both apps: a configured token (or its ``sha256:<hex>`` digest)
and the token a request presents. Callers compare digests with ``hmac.compare_digest``; the
``Authorization`` header is never logged."""

from __future__ import annotations

import hashlib

from litestar.exceptions import NotAuthorizedException

__all__ = ["presented_digest", "token_digest"]

_PREFIX = "sha256:"


def token_digest(token: str) -> bytes:
    """The digest of a configured token.

    A value ``sha256:<hex>`` is already a digest, so the plaintext need not sit in the environment.

    Args:
        token: The token, or ``sha256:<hex>``.

    Returns:
        The 32-byte digest.
    """
    if token.startswith(_PREFIX):
        return bytes.fromhex(token[len(_PREFIX) :])
    return hashlib.sha256(token.encode()).digest()


def presented_digest(authorization: str | None) -> bytes:
    """The digest of the bearer token in an ``Authorization`` header.

    Args:
        authorization: The header's value (``None`` when absent).

    Returns:
        The digest of the token.

    Raises:
        NotAuthorizedException: no bearer token (401, with ``WWW-Authenticate: Bearer``).
    """
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthorizedException("a bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    return hashlib.sha256(token.strip().encode()).digest()
