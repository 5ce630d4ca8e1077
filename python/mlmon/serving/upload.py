"""The checks of a deployed artifact's upload (``PUT /admin/model``), in the order that costs the least
on refusal: the headers (name, version, digest, format, and whether a pickle or joblib artifact may
be sent at all, before its body is read), then the body within the size cap, then its sha256 against
``X-Model-SHA256`` before any deserializer sees a byte."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import HTTPException

from mlmon.core.artifacts import FORMATS, normalize_sha256
from mlmon.exceptions import InputError
from mlmon.serving.models import check_name
from mlmon.serving.settings import ServingSettings
from mlmon.serving.trust import precheck

__all__ = ["DeployHeaders", "ShaMismatchError", "check_sha256", "deploy_headers", "read_capped"]


class ShaMismatchError(InputError):
    """The body's sha256 is not the one announced (422, with both digests in the body)."""

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"the artifact's sha256 is {actual}, not the expected {expected}: refused unloaded")
        self.expected, self.actual = expected, actual

    @property
    def body_fields(self) -> dict[str, str]:
        """The error body's extra fields: ``expected`` and ``actual`` digests."""
        return {"expected": self.expected, "actual": self.actual}


@dataclass(frozen=True)
class DeployHeaders:
    """What the deploy headers announce, checked."""

    name: str
    version: str
    sha256: str
    fmt: str
    signature: str | None
    outputs: tuple[str, ...] = ()


#: Output columns a deploy may announce at most, and their longest name.
MAX_OUTPUTS, MAX_OUTPUT_NAME = 64, 256


def announced_outputs(value: str | None) -> tuple[str, ...]:
    """The ``X-Model-Outputs`` header: a JSON list of the output columns (:func:`mlmon.output_columns`)
    the version's baseline records, which the API then sends to the drift service with the features.

    Raises:
        InputError: not a JSON list of at most ``MAX_OUTPUTS`` distinct, non-empty names (422).
    """
    if value is None or not value.strip():
        return ()
    try:
        names = msgspec.json.decode(value, type=list[str])
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise InputError("X-Model-Outputs must be a JSON list of column names") from None
    if len(names) > MAX_OUTPUTS or len(set(names)) != len(names):
        raise InputError(f"X-Model-Outputs: at most {MAX_OUTPUTS} distinct names")
    if any(not n or len(n) > MAX_OUTPUT_NAME for n in names):
        raise InputError(f"X-Model-Outputs: each name must have 1 to {MAX_OUTPUT_NAME} characters")
    return tuple(names)


def deploy_headers(headers: Mapping[str, str], settings: ServingSettings) -> DeployHeaders:
    """Name, version, expected digest and format from the deploy headers, checked; a pickle or joblib
    artifact is refused here, before its body is read, unless the configuration may vouch for it.

    Raises:
        InputError: a missing or malformed header (422).
        UntrustedArtifactError: a format the operator did not allow (403).
    """
    name = check_name("Name", headers.get("x-model-name"))
    version = check_name("Version", headers.get("x-model-version"))
    expected = normalize_sha256(headers.get("x-model-sha256") or "")
    fmt = (headers.get("x-model-format") or "").strip().lower()
    if fmt not in FORMATS:
        raise InputError(f"X-Model-Format must be one of {', '.join(FORMATS)}")
    signature = headers.get("x-model-signature")
    precheck(settings, fmt, expected, signature)
    outputs = announced_outputs(headers.get("x-model-outputs"))
    return DeployHeaders(name, version, expected, fmt, signature, outputs)


async def read_capped(request: Request[Any, Any, Any], cap: int) -> bytes:
    """The body, read in chunks and refused as soon as it passes ``cap`` bytes.

    Raises:
        HTTPException: 413 past the cap (a chunked body announces no length).
    """
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise HTTPException(
                status_code=413, detail=f"the artifact is larger than the limit of {cap} bytes"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def check_sha256(data: bytes, expected: str) -> None:
    """Refuses bytes whose sha256 is not ``expected``.

    Raises:
        ShaMismatchError: 422 naming both digests.
    """
    actual = hashlib.sha256(data).hexdigest()
    if not hmac.compare_digest(actual, expected):
        raise ShaMismatchError(expected, actual)
