"""A model's quality from mergeable counts: realized metrics once labels arrive, and a label-free estimate
before they do.

* :class:`ClassificationCounts`: confusion matrix, per-class score histograms by true label, log-loss and
  Brier sums; accuracy, precision / recall / F1, ROC AUC and average precision (with their binning
  bound), equal to scikit-learn's.
* :class:`RegressionCounts`: MAE, RMSE, bias and R² from sums that merge exactly, and quantiles of the
  absolute error from a residual histogram on fixed log-spaced bins.
* :class:`ConfidenceCounts` and :class:`Calibration`: CBPE, the expected accuracy (and, for two classes,
  precision, recall, F1 and ROC AUC) of predictions whose labels have not arrived yet.

* :class:`Reference`: the counts and the calibration of the model on its labelled reference set (the
  deploy step's validation set), carried by the baseline file, that production windows are read against.

Every counts object has ``update`` and ``merge``: a window, a day or any range gives the metrics of all
its rows at once. :func:`encode` and :func:`decode` turn any of them into bytes and back, to store a
window's counts beside its drift profile.
"""

from mlmon.performance.classification import ClassificationCounts, ClassificationMetrics
from mlmon.performance.codec import decode, encode
from mlmon.performance.estimate import Calibration, ConfidenceCounts, Estimate
from mlmon.performance.ranking import Ranked, average_precision, roc_auc
from mlmon.performance.reference import Reference
from mlmon.performance.regression import RegressionCounts, RegressionMetrics, ResidualHistogram

__all__ = [
    "Calibration",
    "ClassificationCounts",
    "ClassificationMetrics",
    "ConfidenceCounts",
    "Estimate",
    "Ranked",
    "Reference",
    "RegressionCounts",
    "RegressionMetrics",
    "ResidualHistogram",
    "average_precision",
    "decode",
    "encode",
    "roc_auc",
]
