"""A model's outputs as columns that a baseline records and a monitor counts beside the inputs.

One naming rule for everyone who produces them (the deploy step on the validation set, the reference
production API on live traffic, a user's own scoring code), so the columns always meet their baseline:

* ``prediction``: what ``predict`` returned: the regression value, or the class label (as Python
  objects, so that integer classes are categories on every path, the drift service's included);
* ``proba_<class>``: for a classifier with ``predict_proba`` and at most :data:`MAX_PROBA_CLASSES`
  classes, the probability of each class, named by ``classes_``.

Example:
    >>> import numpy as np
    >>> from mlmon import output_columns
    >>> cols = output_columns(np.array(["no", "yes"]), np.array([[0.8, 0.2], [0.3, 0.7]]), ["no", "yes"])
    >>> sorted(cols), cols["proba_yes"].tolist()
    (['prediction', 'proba_no', 'proba_yes'], [0.2, 0.7])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from mlmon.core.exceptions import InputError

__all__ = ["MAX_PROBA_CLASSES", "PREDICTION", "model_outputs", "output_columns"]

#: The column of ``predict``'s answer.
PREDICTION = "prediction"
#: Classifiers with more classes record only their prediction (a probability column per class would
#: outweigh the features).
MAX_PROBA_CLASSES = 20


def output_columns(
    predictions: Any, proba: Any = None, classes: Sequence[Any] | None = None
) -> dict[str, npt.NDArray[Any]]:
    """The output columns of one scored batch.

    Args:
        predictions: What the model's ``predict`` returned, one value per row.
        proba: What its ``predict_proba`` returned (rows x classes), or ``None``.
        classes: The model's ``classes_`` (in ``proba``'s column order) when it is a classifier, else
            ``None``.

    Raises:
        InputError: ``proba`` whose shape does not match the predictions and classes.
    """
    pred = np.asarray(predictions)
    if pred.ndim != 1:
        raise InputError(f"predictions: expected one value per row, got shape {pred.shape}")
    out: dict[str, npt.NDArray[Any]] = {PREDICTION: pred if classes is None else pred.astype(object)}
    if proba is None or classes is None or len(classes) > MAX_PROBA_CLASSES:
        return out
    p = np.asarray(proba, dtype=np.float64)
    if p.shape != (len(pred), len(classes)):
        raise InputError(f"proba: expected shape ({len(pred)}, {len(classes)}), got {p.shape}")
    for i, c in enumerate(classes):
        out[f"proba_{c}"] = np.ascontiguousarray(p[:, i])
    return out


def model_outputs(model: Any, data: Any) -> dict[str, npt.NDArray[Any]]:
    """Scores ``data`` with ``model`` (anything with scikit-learn's ``predict``, and ``predict_proba``
    and ``classes_`` for a classifier) and returns its output columns.

    Example:
        >>> from sklearn.linear_model import LogisticRegression
        >>> import numpy as np
        >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
        >>> m = LogisticRegression().fit(X, ["a", "a", "b", "b"])
        >>> sorted(model_outputs(m, X))
        ['prediction', 'proba_a', 'proba_b']
    """
    predictions = model.predict(data)
    proba_of = getattr(model, "predict_proba", None)
    found = getattr(model, "classes_", None)
    classes = None if found is None else list(np.asarray(found).tolist())
    if not callable(proba_of) or classes is None or len(classes) > MAX_PROBA_CLASSES:
        return output_columns(predictions, classes=classes)
    return output_columns(predictions, proba_of(data), classes)
