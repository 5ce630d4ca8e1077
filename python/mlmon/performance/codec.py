"""Performance counts as bytes, so that a window's counts can be stored, shipped and merged later like its
drift profile.

The format is msgpack (through msgspec): a tagged struct per kind, integer matrices as little-endian
int64 bytes with their shape, sums as float64. A decoded object merges and reports exactly as the one
encoded; a truncated, tampered or foreign blob is a :class:`~mlmon.exceptions.CodecError`.

Format 2 adds the regression residual histogram; format 1 blobs still decode (their regression counts
without a histogram, so the quantile metrics of any range that includes them are ``None``). A
:class:`~mlmon.performance.Reference` (:func:`encode_reference`) is one more struct holding the
reference's counts and its :class:`~mlmon.performance.Calibration`, followed by the SHA-256 of its
bytes, so that any changed byte is refused.

>>> from mlmon.performance import RegressionCounts, decode, encode
>>> r = RegressionCounts()
>>> r.update([1.0, 2.0], [1.5, 2.0])
>>> decode(encode(r)).metrics() == r.metrics()
True
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

import msgspec
import numpy as np
import numpy.typing as npt

from mlmon.exceptions import CodecError, InputError
from mlmon.performance.classification import ClassificationCounts
from mlmon.performance.estimate import Calibration, ConfidenceCounts
from mlmon.performance.regression import RESIDUAL_BINS, RegressionCounts

__all__ = ["FORMAT", "ReferenceParts", "decode", "decode_reference", "encode", "encode_reference"]

#: Bumped when a struct below changes incompatibly (2: the regression residual histogram).
FORMAT = 2
#: Formats this mlmon decodes.
READS = (1, 2)

Label = str | int | bool | float


class _Matrix(msgspec.Struct, array_like=True):
    rows: int
    cols: int
    data: bytes

    @classmethod
    def of(cls, a: npt.NDArray[np.int64]) -> _Matrix:
        m = a.reshape(a.shape[0] if a.ndim > 1 else 1, -1)
        return cls(m.shape[0], m.shape[1], m.astype("<i8").tobytes())

    def array(self, shape: tuple[int, ...]) -> npt.NDArray[np.int64]:
        if self.rows < 0 or self.cols < 0 or len(self.data) != 8 * self.rows * self.cols:
            raise CodecError("performance counts: a matrix's bytes do not match its shape")
        if self.rows * self.cols != int(np.prod(shape)):
            raise CodecError(f"performance counts: expected {shape}, got {self.rows} x {self.cols}")
        a = np.frombuffer(self.data, dtype="<i8").astype(np.int64).reshape(shape)
        if (a < 0).any():
            raise CodecError("performance counts: negative counts")
        return a


class _Floats(msgspec.Struct, array_like=True):
    rows: int
    cols: int
    data: bytes

    @classmethod
    def of(cls, a: npt.NDArray[np.float64]) -> _Floats:
        m = a.reshape(a.shape[0] if a.ndim > 1 else 1, -1)
        return cls(m.shape[0], m.shape[1], m.astype("<f8").tobytes())

    def array(self) -> npt.NDArray[np.float64]:
        if self.rows < 1 or self.cols < 1 or len(self.data) != 8 * self.rows * self.cols:
            raise CodecError("performance reference: an array's bytes do not match its shape")
        return np.frombuffer(self.data, dtype="<f8").astype(np.float64).reshape(self.rows, self.cols)


class _Classification(msgspec.Struct, tag="classification", array_like=True):
    format: int
    classes: list[Label]
    bins: int
    confusion: _Matrix
    positive: _Matrix
    negative: _Matrix
    scored: int
    log_loss_sum: float
    brier_sum: float


class _Regression(msgspec.Struct, tag="regression", array_like=True):
    format: int
    rows: int
    mean: float
    m2: float
    sum_error: float
    sum_squared: float
    sum_absolute: float
    # Format 2 on; absent from format 1 blobs.
    residuals: _Matrix | None = None


class _Confidence(msgspec.Struct, tag="confidence", array_like=True):
    format: int
    n_classes: int
    bins: int
    top: _Matrix
    positive_scores: _Matrix


class _Calibration(msgspec.Struct, array_like=True):
    correct: _Floats
    positive: _Floats | None


class _Reference(msgspec.Struct, tag="reference", array_like=True):
    format: int
    task: str
    classes: list[Label] | None
    bins: int
    counts: _Classification | _Regression
    calibration: _Calibration | None


class _ReferenceHead(msgspec.Struct, tag="reference", array_like=True):
    """A reference's first field, read first so that a newer format is refused by name."""

    format: int


_Wire = _Classification | _Regression | _Confidence
Counts = ClassificationCounts | RegressionCounts | ConfidenceCounts
_DECODER = msgspec.msgpack.Decoder(_Wire)
_REFERENCE_DECODER = msgspec.msgpack.Decoder(_Reference)
_HEAD_DECODER = msgspec.msgpack.Decoder(_ReferenceHead)
_ENCODER = msgspec.msgpack.Encoder()
_DIGEST = 32


def encode(counts: Counts) -> bytes:
    """The bytes of ``counts`` (any performance counts object).

    Raises:
        InputError: not performance counts.
    """
    return _ENCODER.encode(_wire_of(counts))


def _wire_of(counts: Counts) -> _Wire:
    wire: _Wire
    if isinstance(counts, ClassificationCounts):
        wire = _Classification(
            FORMAT,
            counts.classes,
            counts.bins,
            _Matrix.of(counts.confusion),
            _Matrix.of(counts.positive),
            _Matrix.of(counts.negative),
            counts.scored,
            counts.log_loss_sum,
            counts.brier_sum,
        )
    elif isinstance(counts, RegressionCounts):
        r = counts
        wire = _Regression(
            FORMAT, r.rows, r.mean, r.m2, r.sum_error, r.sum_squared, r.sum_absolute, _Matrix.of(r.residuals)
        )
    elif isinstance(counts, ConfidenceCounts):
        wire = _Confidence(
            FORMAT, counts.n_classes, counts.bins, _Matrix.of(counts.top), _Matrix.of(counts.positive_scores)
        )
    else:
        raise InputError(f"cannot encode {type(counts).__name__}: not performance counts")
    return wire


def decode(data: bytes) -> Counts:
    """The counts object of :func:`encode`'s bytes.

    Raises:
        CodecError: not performance counts of this format (truncated, tampered, another kind of blob).
    """
    try:
        wire = _DECODER.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise CodecError(f"not mlmon performance counts: {exc}") from None
    return _checked_build(wire)


def _checked_build(wire: _Wire) -> Counts:
    if wire.format not in READS:
        raise CodecError(
            f"performance counts of format {wire.format}; this mlmon reads formats 1 to {FORMAT}"
        )
    try:
        return _build(wire)
    except InputError as exc:  # a blob whose classes or bins the constructors refuse
        raise CodecError(f"performance counts: {exc}") from None


def _build(wire: _Wire) -> Counts:
    if isinstance(wire, _Regression):
        r = RegressionCounts()
        if wire.rows < 0:
            raise CodecError("performance counts: negative rows")
        r.rows, r.mean, r.m2 = wire.rows, wire.mean, wire.m2
        r.sum_error, r.sum_squared, r.sum_absolute = wire.sum_error, wire.sum_squared, wire.sum_absolute
        if wire.residuals is not None:
            r.residuals = wire.residuals.array((RESIDUAL_BINS,))
            if int(r.residuals.sum()) != r.rows:
                raise CodecError("performance counts: the residual histogram does not hold every row")
        elif wire.format >= 2:
            raise CodecError("performance counts: format 2 regression counts without their histogram")
        return r
    if isinstance(wire, _Confidence):
        c = ConfidenceCounts(wire.n_classes, wire.bins)
        c.top = wire.top.array((wire.n_classes, wire.bins))
        c.positive_scores = wire.positive_scores.array((wire.bins,))
        return c
    k = len(wire.classes)
    out = ClassificationCounts(wire.classes, wire.bins)
    out.confusion = wire.confusion.array((k, k))
    out.positive = wire.positive.array((k, wire.bins))
    out.negative = wire.negative.array((k, wire.bins))
    if wire.scored < 0:
        raise CodecError("performance counts: negative rows")
    out.scored, out.log_loss_sum, out.brier_sum = wire.scored, wire.log_loss_sum, wire.brier_sum
    return out


class ReferenceParts(NamedTuple):
    """The fields of a :class:`~mlmon.performance.Reference`, as :func:`encode_reference` takes them."""

    task: str
    classes: list[Label] | None
    bins: int
    counts: ClassificationCounts | RegressionCounts
    calibration: Calibration | None


def encode_reference(parts: ReferenceParts) -> bytes:
    """The bytes of a reference: its struct, then the SHA-256 of the struct's bytes.

    Raises:
        InputError: the counts are not classification or regression counts.
    """
    counts = _wire_of(parts.counts)
    if not isinstance(counts, _Classification | _Regression):
        raise InputError("a reference holds classification or regression counts")
    cal = parts.calibration
    calibration = None
    if cal is not None:
        positive = getattr(cal, "positive", None)
        calibration = _Calibration(
            _Floats.of(cal.correct), None if positive is None else _Floats.of(positive)
        )
    body = _ENCODER.encode(_Reference(FORMAT, parts.task, parts.classes, parts.bins, counts, calibration))
    return body + hashlib.sha256(body).digest()


def decode_reference(data: bytes) -> ReferenceParts:
    """The parts of :func:`encode_reference`'s bytes (checked against each other by the caller).

    Raises:
        CodecError: truncated, changed, another kind of blob, or a newer format.
    """
    body, digest = bytes(data[:-_DIGEST]), bytes(data[-_DIGEST:])
    if len(data) <= _DIGEST or hashlib.sha256(body).digest() != digest:
        raise CodecError("not an mlmon performance reference (truncated, changed, or another kind of blob)")
    try:
        head = _HEAD_DECODER.decode(body)
        if head.format not in READS:
            raise CodecError(f"performance reference of format {head.format}; this mlmon reads 1 to {FORMAT}")
        wire = _REFERENCE_DECODER.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise CodecError(f"not an mlmon performance reference: {exc}") from None
    counts = _checked_build(wire.counts)
    if not isinstance(counts, ClassificationCounts | RegressionCounts):  # the struct's field rules it out
        raise CodecError("performance reference: its counts are neither classification nor regression")
    calibration = None
    if wire.calibration is not None:
        c = wire.calibration
        try:
            calibration = Calibration.from_arrays(
                c.correct.array(), None if c.positive is None else c.positive.array().ravel()
            )
        except InputError as exc:
            raise CodecError(f"performance reference: {exc}") from None
    return ReferenceParts(wire.task, wire.classes, wire.bins, counts, calibration)
