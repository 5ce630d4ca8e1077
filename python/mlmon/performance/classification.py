"""A classifier's quality from mergeable counts: the confusion matrix, per-class score histograms split by
the true label, and the sums behind log loss and the Brier score.

Every field is a count or a sum, so two windows merge by addition and any range of windows gives the same
metrics as one pass over its rows: accuracy, precision / recall / F1 per class and macro-averaged
(exactly scikit-learn's, with ``zero_division=0``), log loss and Brier score (to float rounding), and ROC
AUC / average precision per class and macro (exact on the binned scores; see
:mod:`mlmon.performance.ranking` for the bound against the raw ones). Scores are binned uniformly on
``[0, 1]``; ``bins`` sets the resolution (and the bound).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from mlmon.exceptions import InputError
from mlmon.performance.ranking import Ranked, average_precision, roc_auc

__all__ = ["ClassificationCounts", "ClassificationMetrics", "score_bins"]

_EPS = float(np.finfo(np.float64).eps)


def score_bins(scores: npt.NDArray[np.float64], bins: int) -> npt.NDArray[np.int64]:
    """The uniform bin of each score in ``[0, 1]`` (1.0 in the top bin)."""
    return np.clip((scores * bins).astype(np.int64), 0, bins - 1)


class ClassificationMetrics(msgspec.Struct, frozen=True):
    """Metrics of a window (or a range of windows); ``None`` where undefined (no rows, no scores)."""

    rows: int
    accuracy: float | None
    precision: list[float]
    recall: list[float]
    f1: list[float]
    macro_precision: float | None
    macro_recall: float | None
    macro_f1: float | None
    log_loss: float | None
    brier: float | None
    roc_auc: list[Ranked | None]
    macro_roc_auc: Ranked | None
    average_precision: list[Ranked | None]
    macro_average_precision: Ranked | None


def _ratio(num: npt.NDArray[np.int64], den: npt.NDArray[np.int64]) -> list[float]:
    return [float(a / b) if b else 0.0 for a, b in zip(num.tolist(), den.tolist(), strict=True)]


def _macro(values: Sequence[Ranked | None]) -> Ranked | None:
    known = [v for v in values if v is not None]
    if not known or len(known) < len(values):
        return None
    return Ranked(float(np.mean([v.value for v in known])), float(np.mean([v.bound for v in known])))


class ClassificationCounts:
    """Counts of a classifier's predictions against their labels, in one window.

    Args:
        classes: The labels in the model's order (``model.classes_``): column ``i`` of the probabilities
            is class ``i``.
        bins: Score bins on ``[0, 1]`` per class.

    >>> c = ClassificationCounts(["no", "yes"], bins=10)
    >>> c.update(["no", "yes", "yes"], ["no", "yes", "no"], [[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    >>> round(c.metrics().accuracy, 4)
    0.6667
    """

    def __init__(self, classes: Sequence[Any], bins: int = 100) -> None:
        self.classes = list(classes)
        if len(self.classes) < 2 or len(set(self.classes)) != len(self.classes):
            raise InputError("classes: give at least two distinct labels")
        if not 2 <= bins <= 1 << 16:
            raise InputError(f"bins must be between 2 and 65536, got {bins}")
        k = len(self.classes)
        self.bins = bins
        self._index = {c: i for i, c in enumerate(self.classes)}
        self.confusion = np.zeros((k, k), dtype=np.int64)
        self.positive = np.zeros((k, bins), dtype=np.int64)
        self.negative = np.zeros((k, bins), dtype=np.int64)
        self.scored = 0
        self.log_loss_sum = 0.0
        self.brier_sum = 0.0

    def _codes(self, labels: Any, what: str) -> npt.NDArray[np.int64]:
        values = np.asarray(labels).ravel()
        try:
            uniq, inverse = np.unique(values, return_inverse=True)
        except TypeError as exc:  # an object array of labels that do not sort together
            raise InputError(f"{what}: labels of mixed types ({exc})") from exc
        known = [self._index.get(u.item() if isinstance(u, np.generic) else u) for u in uniq]
        missing = [u for u, k in zip(uniq.tolist(), known, strict=True) if k is None]
        if missing:
            raise InputError(f"{what}: labels {missing[:5]!r} are not among the classes {self.classes!r}")
        return np.asarray(known, dtype=np.int64)[inverse]

    def update(self, y_true: Any, y_pred: Any, proba: Any = None) -> None:
        """Adds labelled rows: their true and predicted labels and, optionally, the class probabilities
        (rows x classes, rows summing to 1).

        Raises:
            InputError: unknown labels, mismatched lengths, or probabilities outside ``[0, 1]``.
        """
        t = self._codes(y_true, "y_true")
        p = self._codes(y_pred, "y_pred")
        if len(t) != len(p):
            raise InputError(f"y_true has {len(t)} rows, y_pred {len(p)}")
        probs = None if proba is None else self._probabilities(proba, len(t))
        k = len(self.classes)
        self.confusion += np.bincount(t * k + p, minlength=k * k).reshape(k, k)
        if probs is not None:
            self._add_scores(t, probs)

    def _probabilities(self, proba: Any, rows: int) -> npt.NDArray[np.float64]:
        probs = np.asarray(proba, dtype=np.float64)
        k = len(self.classes)
        if probs.shape != (rows, k):
            raise InputError(f"proba: expected shape ({rows}, {k}), got {probs.shape}")
        if not np.isfinite(probs).all() or (probs < 0).any() or (probs > 1).any():
            raise InputError("proba: probabilities must be finite and within [0, 1]")
        return probs

    def _add_scores(self, t: npt.NDArray[np.int64], probs: npt.NDArray[np.float64]) -> None:
        k, bins = len(self.classes), self.bins
        onehot = np.zeros_like(probs)
        onehot[np.arange(len(t)), t] = 1.0
        slots = (np.arange(k) * bins + score_bins(probs, bins)).ravel()
        truth = onehot.ravel().astype(bool)
        self.positive += np.bincount(slots[truth], minlength=k * bins).reshape(k, bins)
        self.negative += np.bincount(slots[~truth], minlength=k * bins).reshape(k, bins)
        picked = np.clip(probs[np.arange(len(t)), t], _EPS, 1 - _EPS)
        self.log_loss_sum += float(-np.log(picked).sum())
        if k == 2:
            self.brier_sum += float(((probs[:, 1] - onehot[:, 1]) ** 2).sum())
        else:
            self.brier_sum += float(((probs - onehot) ** 2).sum())
        self.scored += len(t)

    def merge(self, other: ClassificationCounts) -> None:
        """Adds ``other``'s counts (the same classes and bins)."""
        if other.classes != self.classes or other.bins != self.bins:
            raise InputError("cannot merge classification counts of other classes or bins")
        self.confusion += other.confusion
        self.positive += other.positive
        self.negative += other.negative
        self.scored += other.scored
        self.log_loss_sum += other.log_loss_sum
        self.brier_sum += other.brier_sum

    def metrics(self) -> ClassificationMetrics:
        """Every metric of these counts."""
        c = self.confusion
        rows = int(c.sum())
        diag = np.diag(c)
        precision = _ratio(diag, c.sum(axis=0))
        recall = _ratio(diag, c.sum(axis=1))
        f1 = [2 * a * b / (a + b) if a + b else 0.0 for a, b in zip(precision, recall, strict=True)]
        aucs = [roc_auc(self.positive[i], self.negative[i]) for i in range(len(self.classes))]
        aps = [average_precision(self.positive[i], self.negative[i]) for i in range(len(self.classes))]
        binary = len(self.classes) == 2
        return ClassificationMetrics(
            rows=rows,
            accuracy=float(diag.sum() / rows) if rows else None,
            precision=precision,
            recall=recall,
            f1=f1,
            macro_precision=float(np.mean(precision)) if rows else None,
            macro_recall=float(np.mean(recall)) if rows else None,
            macro_f1=float(np.mean(f1)) if rows else None,
            log_loss=self.log_loss_sum / self.scored if self.scored else None,
            brier=self.brier_sum / self.scored if self.scored else None,
            roc_auc=aucs,
            # Binary: the positive class's value, as scikit-learn reports it.
            macro_roc_auc=aucs[1] if binary else _macro(aucs),
            average_precision=aps,
            macro_average_precision=aps[1] if binary else _macro(aps),
        )
