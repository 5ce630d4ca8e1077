"""The baseline file's envelope: a versioned msgpack struct (msgspec) that embeds the engine's profile
bytes and ends with the SHA-256 of every byte before it (format 2; see docs/baseline-format.md), so a
flipped byte anywhere is refused and a file from a newer incompatible format is refused by name."""

from __future__ import annotations

import hashlib
from datetime import datetime

import msgspec

from mlmon.core import _native
from mlmon.core.exceptions import CodecError
from mlmon.core.schema import FeatureSpec

__all__ = ["CHECKSUM_BYTES", "FORMAT_VERSION", "KIND", "BaselineFile", "decode", "encode"]

FORMAT_VERSION = 2
"""Baseline file format written by this version; files with a larger number are refused. Format 2 adds
the whole-file checksum; format 1 files (no checksum, only the engine's CRC of the profiles) still read."""

CHECKSUM_BYTES = 32
# The msgpack header of a 32-byte bin: the checksum is always the file's last 34 bytes.
CHECKSUM_HEAD = b"\xc4\x20"

KIND = "mlmon-baseline"


class _Header(msgspec.Struct):
    """The fields every format version keeps, read first to refuse newer files cleanly."""

    kind: str
    format: int
    mlmon_version: str = "unknown"
    checksum: bytes | None = None


class BaselineFile(msgspec.Struct, kw_only=True):
    """Every field of a format 2 file, in file order."""

    kind: str
    format: int
    mlmon_version: str
    created_at: datetime
    model: str | None
    version: str | None
    n_rows: int
    bins: int
    features: list[FeatureSpec]
    feature_importance: dict[str, float]
    profile: bytes
    # Which monitored columns are the model's outputs (absent from files written before they were).
    outputs: list[str] = []
    # The model's performance reference (mlmon.performance.Reference bytes), opaque to the core; absent
    # from files written before it was.
    performance: bytes | None = None
    # Last, so its bytes end the file: SHA-256 of everything before them (zeros while it is computed).
    checksum: bytes | None = None


def _verify_checksum(data: bytes, header: _Header) -> None:
    """Checks the whole-file SHA-256 of a format 2 file (every byte but the digest's own 32).

    A format 1 file has none; one that says format 1 but carries a checksum (a flipped format byte)
    is refused, so a damaged file cannot dodge the check by downgrading itself.

    Raises:
        CodecError: an unknown format number, a missing or misplaced checksum, or a mismatch.
    """
    if header.format < 1:
        raise CodecError(f"corrupted mlmon baseline file (format version {header.format})")
    if header.format == 1:
        if header.checksum is not None:
            raise CodecError("corrupted mlmon baseline file (format 1 does not carry a checksum)")
        return
    body, digest = data[:-CHECKSUM_BYTES], data[-CHECKSUM_BYTES:]
    if header.checksum != digest or not body.endswith(CHECKSUM_HEAD):
        raise CodecError("corrupted mlmon baseline file (its checksum is missing or not at the end)")
    if hashlib.sha256(body).digest() != digest:
        raise CodecError("corrupted mlmon baseline file (checksum mismatch: a byte was changed)")


def encode(envelope: BaselineFile) -> bytes:
    """The file's bytes: ``envelope`` (whose checksum is ``CHECKSUM_BYTES`` zeros) with its last 32
    bytes replaced by the SHA-256 of everything before them."""
    data = msgspec.msgpack.encode(envelope)
    body = data[:-CHECKSUM_BYTES]
    return body + hashlib.sha256(body).digest()


def decode(data: bytes) -> BaselineFile:
    """The envelope of a baseline file.

    Raises:
        CodecError: not a baseline, corrupted, or written by a newer incompatible format version.
    """
    try:
        header = msgspec.msgpack.decode(data, type=_Header)
    except msgspec.DecodeError as exc:
        raise CodecError(f"not an mlmon baseline file ({exc})") from exc
    if header.kind != KIND:
        raise CodecError(f"not an mlmon baseline file (kind {header.kind!r})")
    if header.format > FORMAT_VERSION:
        raise CodecError(
            f"baseline file format version {header.format} (written by mlmon {header.mlmon_version}) is "
            f"newer than this mlmon {_native.__version__} reads (format {FORMAT_VERSION}); upgrade mlmon"
        )
    _verify_checksum(data, header)
    try:
        return msgspec.msgpack.decode(data, type=BaselineFile)
    except msgspec.DecodeError as exc:
        raise CodecError(f"corrupted mlmon baseline file ({exc})") from exc
