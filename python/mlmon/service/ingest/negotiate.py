"""Stage 1 of ingest, before the body is read: who may send, in which format, and how many bytes.

Everything here looks at headers only, so a refused request costs no body read (the route's guard
has already refused a wrong token, 401/403): a compressed body or another media type is a 415, and a
body that does not fit the worker's in-flight byte budget a 429 (the budget itself is held by
:meth:`mlmon.service.ingest.budget.InflightBudget.reserve`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from mlmon.service.errors import UnsupportedMediaError

__all__ = ["Format", "Negotiated", "media_format", "negotiate"]

Format = Literal["json", "msgpack"]
_MSGPACK = {"application/msgpack", "application/x-msgpack", "application/vnd.msgpack"}


@dataclass(frozen=True)
class Negotiated:
    """What the headers settled: the body format and the bytes to reserve for it."""

    fmt: Format
    size: int


def media_format(content_type: str | None, content_encoding: str | None) -> Format:
    """The body format from the request headers.

    Raises:
        UnsupportedMediaError: a ``Content-Encoding`` (compressed bodies are refused: no decompression
            bombs) or a media type other than JSON or msgpack.
    """
    if content_encoding and content_encoding.strip().lower() != "identity":
        raise UnsupportedMediaError(f"Content-Encoding {content_encoding!r} is not accepted; send it plain")
    media = (content_type or "application/json").split(";", 1)[0].strip().lower()
    if media in _MSGPACK:
        return "msgpack"
    if media == "application/json":
        return "json"
    raise UnsupportedMediaError(
        f"unsupported media type {media!r}: use application/msgpack or application/json"
    )


def negotiate(headers: Mapping[str, str], max_body_bytes: int) -> Negotiated:
    """The format and the byte reservation of a request: its ``Content-Length`` when it gives one
    (capped at ``max_body_bytes``), else the whole limit (a chunked body may grow to it).

    Raises:
        UnsupportedMediaError: see :func:`media_format` (415).
    """
    fmt = media_format(headers.get("content-type"), headers.get("content-encoding"))
    length = headers.get("content-length", "")
    size = int(length) if length.isdigit() else max_body_bytes
    return Negotiated(fmt, min(size, max_body_bytes))
