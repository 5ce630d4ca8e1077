"""Performance counts as bytes, so that a window's counts can be stored, shipped and merged later like its
drift profile.

The format is msgpack (through msgspec): a tagged struct per kind, integer matrices as little-endian
int64 bytes with their shape, sums as float64. A decoded object merges and reports exactly as the one
encoded; a truncated, tampered or foreign blob is a :class:`~mlmon.exceptions.CodecError`.

>>> from mlmon.performance import RegressionCounts, decode, encode
>>> r = RegressionCounts()
>>> r.update([1.0, 2.0], [1.5, 2.0])
>>> decode(encode(r)).metrics() == r.metrics()
True
"""

from __future__ import annotations

import msgspec
import numpy as np
import numpy.typing as npt

from mlmon.exceptions import CodecError, InputError
from mlmon.performance.classification import ClassificationCounts
from mlmon.performance.estimate import ConfidenceCounts
from mlmon.performance.regression import RegressionCounts

__all__ = ["FORMAT", "decode", "encode"]

#: Bumped when a struct below changes incompatibly.
FORMAT = 1

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


class _Confidence(msgspec.Struct, tag="confidence", array_like=True):
    format: int
    n_classes: int
    bins: int
    top: _Matrix
    positive_scores: _Matrix


_Wire = _Classification | _Regression | _Confidence
Counts = ClassificationCounts | RegressionCounts | ConfidenceCounts
_DECODER = msgspec.msgpack.Decoder(_Wire)
_ENCODER = msgspec.msgpack.Encoder()


def encode(counts: Counts) -> bytes:
    """The bytes of ``counts`` (any performance counts object)."""
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
        wire = _Regression(FORMAT, r.rows, r.mean, r.m2, r.sum_error, r.sum_squared, r.sum_absolute)
    elif isinstance(counts, ConfidenceCounts):
        wire = _Confidence(
            FORMAT, counts.n_classes, counts.bins, _Matrix.of(counts.top), _Matrix.of(counts.positive_scores)
        )
    else:
        raise InputError(f"cannot encode {type(counts).__name__}: not performance counts")
    return _ENCODER.encode(wire)


def decode(data: bytes) -> Counts:
    """The counts object of :func:`encode`'s bytes.

    Raises:
        CodecError: not performance counts of this format (truncated, tampered, another kind of blob).
    """
    try:
        wire = _DECODER.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise CodecError(f"not mlmon performance counts: {exc}") from None
    if wire.format != FORMAT:
        raise CodecError(f"performance counts of format {wire.format}; this mlmon reads format {FORMAT}")
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
