"""Performance before the labels arrive: confidence-based performance estimation (CBPE, as NannyML
names it) from binned, label-free score counts.

On the reference set (labels known) the classifier's scores are calibrated by histogram binning: in
each score bin, the share of rows whose predicted class was right. In production, before any label
arrives, a window only counts its rows per (predicted class, bin of the predicted class's score); the
expected number of correct predictions is then ``sum count * calibrated``, so the estimate streams and
merges like every other count. For a binary classifier the expected confusion matrix follows the same
way (bins of the positive class's score, the predicted class from the bin's side of 0.5), and with it
the estimated precision, recall, F1 and ROC AUC. Compare with the realized metrics of
:class:`~mlmon.performance.ClassificationCounts` once labels come in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from mlmon.exceptions import InputError
from mlmon.performance.classification import score_bins
from mlmon.performance.ranking import roc_auc

__all__ = ["Calibration", "ConfidenceCounts", "Estimate"]


class Estimate(msgspec.Struct, frozen=True):
    """Label-free estimates for one window (``None`` where undefined)."""

    rows: int
    accuracy: float | None
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    roc_auc: float | None = None


class ConfidenceCounts:
    """Label-free counts of a window: rows per predicted class and bin of that class's score, and, for
    two classes, rows per bin of the positive class's score.

    Args:
        n_classes: Classes of the model.
        bins: Score bins on ``[0, 1]``.
    """

    def __init__(self, n_classes: int, bins: int = 100) -> None:
        if n_classes < 2 or not 2 <= bins <= 1 << 16:
            raise InputError("ConfidenceCounts needs at least 2 classes and 2 to 65536 bins")
        self.n_classes, self.bins = n_classes, bins
        self.top = np.zeros((n_classes, bins), dtype=np.int64)
        self.positive_scores = np.zeros(bins, dtype=np.int64)

    def update(self, proba: Any) -> None:
        """Adds predictions (rows x classes probabilities); the predicted class is the most probable.

        Raises:
            InputError: a shape other than rows x classes, or probabilities outside ``[0, 1]``.
        """
        probs = np.asarray(proba, dtype=np.float64)
        if probs.ndim != 2 or probs.shape[1] != self.n_classes:
            raise InputError(f"proba: expected rows x {self.n_classes}, got shape {probs.shape}")
        if not np.isfinite(probs).all() or (probs < 0).any() or (probs > 1).any():
            raise InputError("proba: probabilities must be finite and within [0, 1]")
        pred = probs.argmax(axis=1)
        slots = pred * self.bins + score_bins(probs[np.arange(len(pred)), pred], self.bins)
        self.top += np.bincount(slots, minlength=self.top.size).reshape(self.top.shape)
        if self.n_classes == 2:
            self.positive_scores += np.bincount(score_bins(probs[:, 1], self.bins), minlength=self.bins)

    def merge(self, other: ConfidenceCounts) -> None:
        """Adds ``other``'s counts (same classes and bins)."""
        if (other.n_classes, other.bins) != (self.n_classes, self.bins):
            raise InputError("cannot merge confidence counts of other classes or bins")
        self.top += other.top
        self.positive_scores += other.positive_scores


def _share(
    hits: npt.NDArray[np.int64], totals: npt.NDArray[np.int64], fallback: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """``hits / totals`` per bin, ``fallback`` where the reference had no rows."""
    out = fallback.copy()
    seen = totals > 0
    out[seen] = hits[seen] / totals[seen]
    return out


class Calibration:
    """Histogram-binning calibration fitted on the reference set's labelled predictions.

    Args:
        y_true: Reference labels as class indices (``0 .. n_classes - 1``, the columns of ``proba``).
        proba: Reference probabilities, rows x classes.
        bins: Score bins (the production counts must use the same).
    """

    def __init__(self, y_true: Sequence[int] | npt.NDArray[Any], proba: Any, bins: int = 100) -> None:
        probs = np.asarray(proba, dtype=np.float64)
        t = np.asarray(y_true, dtype=np.int64).ravel()
        if probs.ndim != 2 or len(t) != len(probs) or not len(t):
            raise InputError("Calibration needs labels and a rows x classes probability array of one length")
        if (t < 0).any() or (t >= probs.shape[1]).any():
            raise InputError("y_true: class indices must be within the probability columns")
        k = probs.shape[1]
        if k == 2 and bins % 2:
            raise InputError("a binary calibration needs an even number of bins (0.5 on a bin edge)")
        self.n_classes, self.bins = k, bins
        centres = (np.arange(bins) + 0.5) / bins
        reference = ConfidenceCounts(k, bins)
        reference.update(probs)
        pred = probs.argmax(axis=1)
        slots = pred * bins + score_bins(probs[np.arange(len(t)), pred], bins)
        right = np.bincount(slots[pred == t], minlength=k * bins).reshape(k, bins)
        #: Per (predicted class, bin): the share of reference rows predicted right.
        self.correct = _share(right, reference.top, np.tile(centres, (k, 1)))
        if k == 2:
            positives = np.bincount(score_bins(probs[:, 1], bins)[t == 1], minlength=bins)
            #: Binary: per bin of the positive score, the share of positive rows.
            self.positive = _share(positives, reference.positive_scores, centres)

    @classmethod
    def from_arrays(cls, correct: Any, positive: Any = None) -> Calibration:
        """A calibration rebuilt from its fitted arrays (:attr:`correct`, and :attr:`positive` for two
        classes), as a decoder does; :meth:`__init__` fits them from labels.

        Raises:
            InputError: shapes that do not fit together, or shares outside ``[0, 1]``.
        """
        c = np.array(correct, dtype=np.float64)
        if c.ndim != 2 or c.shape[0] < 2 or not 2 <= c.shape[1] <= 1 << 16:
            raise InputError(f"correct: expected classes x bins (2+ classes, 2 to 65536 bins), got {c.shape}")
        k, bins = c.shape
        binary = k == 2
        if binary and bins % 2:
            raise InputError("a binary calibration needs an even number of bins (0.5 on a bin edge)")
        if binary != (positive is not None):
            raise InputError("positive: required for two classes, and only for two")
        p = None if positive is None else np.array(positive, dtype=np.float64)
        if p is not None and p.shape != (bins,):
            raise InputError(f"positive: expected {bins} bins, got shape {p.shape}")
        for a in (c,) if p is None else (c, p):
            if not np.isfinite(a).all() or (a < 0).any() or (a > 1).any():
                raise InputError("calibrated shares must be finite and within [0, 1]")
        out = cls.__new__(cls)
        out.n_classes, out.bins, out.correct = k, bins, c
        if p is not None:
            out.positive = p
        return out

    def estimate(self, counts: ConfidenceCounts) -> Estimate:
        """The expected performance of a window's predictions."""
        if (counts.n_classes, counts.bins) != (self.n_classes, self.bins):
            raise InputError("the counts and the calibration have other classes or bins")
        rows = int(counts.top.sum())
        if not rows:
            return Estimate(rows=0, accuracy=None)
        accuracy = float((counts.top * self.correct).sum() / rows)
        if self.n_classes != 2:
            return Estimate(rows=rows, accuracy=accuracy)
        n = counts.positive_scores.astype(np.float64)
        pos, neg = n * self.positive, n * (1 - self.positive)
        predicted = (np.arange(self.bins) + 0.5) / self.bins >= 0.5
        tp, fp = pos[predicted].sum(), neg[predicted].sum()
        fn = pos[~predicted].sum()
        precision = float(tp / (tp + fp)) if tp + fp else 0.0
        recall = float(tp / (tp + fn)) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        auc = roc_auc(pos, neg)
        return Estimate(
            rows=rows,
            accuracy=accuracy,
            precision=precision,
            recall=recall,
            f1=f1,
            roc_auc=None if auc is None else auc.value,
        )
