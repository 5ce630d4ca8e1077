"""A model's performance reference: what it scored on a labelled held-out set (the deploy step's
validation set), kept in its baseline file, against which production windows are read.

A :class:`Reference` holds the realized counts on the reference rows (so its metrics are the reference
metrics every window is compared with), the task and classes that the production counts must share
(:meth:`Reference.empty_counts`, :meth:`Reference.empty_confidence`), and, for a classifier whose
probabilities were given, the :class:`~mlmon.performance.Calibration` that turns a window's label-free
confidence counts into a CBPE estimate before its labels arrive. It travels as bytes inside the
baseline (:meth:`Reference.attach`, :meth:`Reference.from_baseline`), which the core keeps opaque.

Example:
    >>> from mlmon.performance import Reference
    >>> ref = Reference.of_classifier(["a", "b", "b"], ["a", "b", "a"], classes=["a", "b"])
    >>> round(ref.metrics().accuracy, 4), Reference.from_bytes(ref.to_bytes()).classes
    (0.6667, ['a', 'b'])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from mlmon.core.outputs import MAX_PROBA_CLASSES
from mlmon.exceptions import CodecError, InputError
from mlmon.performance.classification import ClassificationCounts, ClassificationMetrics
from mlmon.performance.codec import Label, ReferenceParts, decode_reference, encode_reference
from mlmon.performance.estimate import Calibration, ConfidenceCounts, Estimate
from mlmon.performance.regression import RegressionCounts, RegressionMetrics

if TYPE_CHECKING:
    from mlmon.core.baseline import Baseline

__all__ = ["DEFAULT_BINS", "Reference"]

#: Score bins of a reference's counts and calibration (even: 0.5 is a bin edge for binary CBPE).
DEFAULT_BINS = 100

Task = Literal["classification", "regression"]


def _plain(label: Any) -> Label:
    """A label as the Python scalar msgpack keeps the type of (``np.int64(1)`` -> ``1``)."""
    value = label.item() if isinstance(label, np.generic) else label
    if not isinstance(value, str | int | bool | float):
        raise InputError(f"classes: a label must be a str, int, bool or float, got {type(value).__name__}")
    return value


class Reference:
    """Realized counts on reference rows, and the calibration of a classifier's scores.

    Build one with :meth:`of_classifier`, :meth:`of_regressor` or :meth:`of_model`.

    Args:
        task: ``"classification"`` or ``"regression"``.
        classes: A classifier's labels in ``model.classes_`` order; ``None`` for a regressor.
        bins: Score bins of the counts and the calibration (unused by a regressor).
        counts: The realized counts on the reference rows.
        calibration: A classifier's calibration, when its probabilities were given.

    Raises:
        InputError: parts that do not fit together (other classes or bins, a calibration for a
            regressor).
    """

    def __init__(
        self,
        task: Task,
        classes: Sequence[Label] | None,
        bins: int,
        counts: ClassificationCounts | RegressionCounts,
        calibration: Calibration | None = None,
    ) -> None:
        self.task: Task = task
        self.classes: list[Label] | None = None if classes is None else [_plain(c) for c in classes]
        self.bins = bins
        self.counts = counts
        self.calibration = calibration
        self._check()

    def _check(self) -> None:
        if self.task == "regression":
            if (
                not isinstance(self.counts, RegressionCounts)
                or self.classes is not None
                or self.calibration is not None
            ):
                raise InputError("a regression reference has regression counts, no classes, no calibration")
            return
        if self.task != "classification" or not isinstance(self.counts, ClassificationCounts):
            raise InputError(f"task {self.task!r}: expected classification counts or regression")
        if self.bins % 2 or self.classes != self.counts.classes or self.bins != self.counts.bins:
            raise InputError("a classification reference's counts need its classes and an even bins")
        cal = self.calibration
        if cal is not None and (cal.n_classes, cal.bins) != (len(self.classes), self.bins):
            raise InputError("the calibration has other classes or bins than the reference")

    @classmethod
    def of_classifier(
        cls,
        y_true: Any,
        y_pred: Any,
        proba: Any = None,
        *,
        classes: Sequence[Any],
        bins: int = DEFAULT_BINS,
    ) -> Reference:
        """The reference of a classifier's answers on labelled rows.

        Args:
            y_true: The true labels (label space, like ``classes``).
            y_pred: What ``predict`` returned.
            proba: What ``predict_proba`` returned (rows x classes), or ``None``: then there is no
                calibration, so no label-free estimate.
            classes: The model's ``classes_`` (``proba``'s column order).
            bins: Score bins (even).

        Raises:
            InputError: no rows, unknown labels, mismatched shapes, an odd ``bins``.
        """
        if bins % 2:
            raise InputError(f"bins must be even (0.5 on a bin edge), got {bins}")
        labels = [_plain(c) for c in classes]
        counts = ClassificationCounts(labels, bins)
        counts.update(y_true, y_pred, proba)
        if not counts.confusion.sum():
            raise InputError("a reference needs at least one labelled row")
        calibration = None
        if proba is not None:
            # Calibration wants class indices (proba's columns); the counts map labels to them.
            calibration = Calibration(counts._codes(y_true, "y_true"), proba, bins)
        return cls("classification", labels, bins, counts, calibration)

    @classmethod
    def of_regressor(cls, y_true: Any, y_pred: Any) -> Reference:
        """The reference of a regressor's predictions on rows with known targets.

        Raises:
            InputError: no rows, mismatched lengths, non-finite values.
        """
        counts = RegressionCounts()
        counts.update(y_true, y_pred)
        if not counts.rows:
            raise InputError("a reference needs at least one labelled row")
        return cls("regression", None, DEFAULT_BINS, counts)

    @classmethod
    def of_model(cls, model: Any, X: Any, y: Any, *, bins: int = DEFAULT_BINS) -> Reference:  # noqa: N803
        """Scores ``X`` with ``model`` and builds the reference against ``y``: a classifier (it has
        ``classes_``) with ``predict_proba``, and probabilities only up to
        :data:`mlmon.core.outputs.MAX_PROBA_CLASSES` classes (as the baseline's outputs), else a
        regressor.

        Raises:
            InputError: as :meth:`of_classifier` and :meth:`of_regressor`.
        """
        predicted = model.predict(X)
        found = getattr(model, "classes_", None)
        if found is None:
            return cls.of_regressor(y, predicted)
        classes = list(np.asarray(found).tolist())
        proba_of = getattr(model, "predict_proba", None)
        proba = proba_of(X) if callable(proba_of) and len(classes) <= MAX_PROBA_CLASSES else None
        return cls.of_classifier(y, predicted, proba, classes=classes, bins=bins)

    def empty_counts(self) -> ClassificationCounts | RegressionCounts:
        """Zero counts for a production window (the same classes and bins, so they compare and merge)."""
        if self.classes is None:
            return RegressionCounts()
        return ClassificationCounts(self.classes, self.bins)

    def empty_confidence(self) -> ConfidenceCounts | None:
        """Zero label-free counts for a production window; ``None`` without a calibration."""
        if self.calibration is None:
            return None
        return ConfidenceCounts(self.calibration.n_classes, self.bins)

    def metrics(self) -> ClassificationMetrics | RegressionMetrics:
        """The reference metrics (of :attr:`counts`)."""
        return self.counts.metrics()

    def estimate(self, confidence: ConfidenceCounts) -> Estimate:
        """The CBPE estimate of a window's label-free counts.

        Raises:
            InputError: no calibration (a regressor, or no probabilities given), or counts of other
                classes or bins.
        """
        if self.calibration is None:
            raise InputError("this reference has no calibration: no label-free estimate")
        return self.calibration.estimate(confidence)

    def to_bytes(self) -> bytes:
        """The reference's bytes (:mod:`mlmon.performance.codec`)."""
        return encode_reference(
            ReferenceParts(self.task, self.classes, self.bins, self.counts, self.calibration)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Reference:
        """Reads :meth:`to_bytes` output.

        Raises:
            CodecError: truncated, changed, another kind of blob, a newer format, or parts that do not
                fit together.
        """
        parts = decode_reference(data)
        if parts.task not in ("classification", "regression"):
            raise CodecError(f"performance reference: unknown task {parts.task!r}")
        task: Task = "classification" if parts.task == "classification" else "regression"
        try:
            return cls(task, parts.classes, parts.bins, parts.counts, parts.calibration)
        except InputError as exc:
            raise CodecError(f"performance reference: {exc}") from None

    @classmethod
    def from_baseline(cls, baseline: Baseline) -> Reference | None:
        """The reference a baseline carries (:attr:`Baseline.performance`), ``None`` when it has none.

        Raises:
            CodecError: its bytes are not a reference this mlmon reads.
        """
        data = baseline.performance
        return None if data is None else cls.from_bytes(data)

    def attach(self, baseline: Baseline) -> Baseline:
        """A copy of ``baseline`` carrying this reference."""
        return baseline.with_performance(self.to_bytes())

    def __repr__(self) -> str:
        counts = self.counts
        rows = counts.rows if isinstance(counts, RegressionCounts) else int(counts.confusion.sum())
        calibrated = ", calibrated" if self.calibration is not None else ""
        return f"Reference({self.task}, rows={rows}, classes={self.classes!r}, bins={self.bins}{calibrated})"
