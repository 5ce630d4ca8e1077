"""ROC AUC and average precision (PR AUC) from binned score counts, with the binning error bound.

A classifier's scores are kept as counts per score bin, split by the true label (``positive[b]`` rows of
the class and ``negative[b]`` rows of the others whose score fell in bin ``b``), so that windows merge by
addition. Both curves are then computed as if every score inside a bin were tied: the result equals
scikit-learn's ``roc_auc_score`` / ``average_precision_score`` on the binned scores, exactly. The raw
scores can only reorder (or untie) rows *inside* a bin, so the true value lies between the values with
every bin's positives ranked above its negatives (best; for average precision, tied among themselves)
and below them (worst); both are computed from the same counts, and :class:`Ranked` reports the largest
distance from the binned value to either as the bound. For ROC AUC the
bound is ``sum_b positive[b] * negative[b] / (2 * P * N)``.
"""

from __future__ import annotations

import math

import msgspec
import numpy as np
import numpy.typing as npt

__all__ = ["Ranked", "average_precision", "roc_auc"]

_EULER_GAMMA = 0.57721566490153286060651209
_EXACT_HARMONIC = 1 << 14
_HARMONIC = np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, _EXACT_HARMONIC + 1))])


class Ranked(msgspec.Struct, frozen=True):
    """A ranking metric from binned scores.

    Attributes:
        value: The metric with tied scores inside each bin (scikit-learn's value on the binned scores).
        bound: How far the value on the raw scores can be from ``value``, at most.
    """

    value: float
    bound: float


def _counts(positive: npt.ArrayLike, negative: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], ...]:
    pos = np.asarray(positive, dtype=np.float64)
    neg = np.asarray(negative, dtype=np.float64)
    if pos.shape != neg.shape or pos.ndim != 1:
        raise ValueError("positive and negative counts must be 1-D arrays of one length")
    return pos, neg


def roc_auc(positive: npt.ArrayLike, negative: npt.ArrayLike) -> Ranked | None:
    """ROC AUC from counts per score bin (ascending scores); ``None`` without both classes.

    >>> round(roc_auc([0, 1, 3], [2, 1, 0]).value, 4)
    0.9583
    """
    pos, neg = _counts(positive, negative)
    p, n = pos.sum(), neg.sum()
    if p == 0 or n == 0:
        return None
    below = np.cumsum(neg) - neg  # negatives in lower bins
    value = float((pos * (below + 0.5 * neg)).sum() / (p * n))
    bound = float((pos * neg).sum() / (2 * p * n))
    return Ranked(value, bound)


def _harmonic(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """H(x) = 1 + 1/2 + ... + 1/x for integer-valued ``x >= 0`` (exact table, then the asymptotic series,
    whose error beyond 2**14 is below 1e-17)."""
    out = np.empty_like(x)
    small = x <= _EXACT_HARMONIC
    out[small] = _HARMONIC[x[small].astype(np.int64)]
    big = x[~small]
    out[~small] = np.log(big) + _EULER_GAMMA + 1 / (2 * big) - 1 / (12 * big**2) + 1 / (120 * big**4)
    return out


def _ap_tied(pos: npt.NDArray[np.float64], neg: npt.NDArray[np.float64]) -> float:
    """Average precision with one threshold per bin, from the highest bin down."""
    tp, fp = np.cumsum(pos[::-1]), np.cumsum(neg[::-1])
    steps = pos[::-1]
    keep = steps > 0
    return float((steps[keep] * tp[keep] / (tp[keep] + fp[keep])).sum() / tp[-1])


def _ap_best(pos: npt.NDArray[np.float64], neg: npt.NDArray[np.float64]) -> float:
    """The largest average precision any raw scores in these bins can have: each bin's positives tied
    above its negatives. A positive's precision is at most ``(a + m) / (c + m)`` (``a`` true and ``c``
    predicted positives above the bin, ``m`` positives in it), which tied positives all reach."""
    tp_above = np.cumsum(pos[::-1]) - pos[::-1]
    fp_above = np.cumsum(neg[::-1]) - neg[::-1]
    m = pos[::-1]
    keep = m > 0
    reach = (tp_above + m)[keep] / (tp_above + fp_above + m)[keep]
    return float((m[keep] * reach).sum() / pos.sum())


def _ap_worst(pos: npt.NDArray[np.float64], neg: npt.NDArray[np.float64]) -> float:
    """The smallest: each bin's negatives above its positives, the positives in distinct scores. The
    ``i``-th positive (1-based) of ``m`` sees at least ``a + i`` true among at most ``c + f + i``
    predicted positives, so the bin adds ``sum_i (a + i) / (d + i) = m - (d - a) * (H(d + m) - H(d))``
    with ``d = c + f``."""
    tp_above = np.cumsum(pos[::-1]) - pos[::-1]
    d = np.cumsum(neg[::-1]) + tp_above  # false positives above and in the bin, plus true ones above
    m = pos[::-1]
    terms = m - (d - tp_above) * (_harmonic(d + m) - _harmonic(d))
    return float(terms.sum() / pos.sum())


def average_precision(positive: npt.ArrayLike, negative: npt.ArrayLike) -> Ranked | None:
    """Average precision (the area under the precision-recall curve, scikit-learn's step definition) from
    counts per score bin (ascending scores); ``None`` without positives.

    >>> average_precision([0, 1, 3], [2, 1, 0]).value
    0.95
    """
    pos, neg = _counts(positive, negative)
    if pos.sum() == 0:
        return None
    value = _ap_tied(pos, neg)
    best, worst = _ap_best(pos, neg), _ap_worst(pos, neg)
    bound = max(best - value, value - worst, 0.0)
    return Ranked(value, bound if math.isfinite(bound) else 1.0)
